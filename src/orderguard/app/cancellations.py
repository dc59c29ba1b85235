"""Cancellation requests after payment (R4.1, R4.3 to R4.6): asked, withdrawn, approved, rejected.

Every command locks the order first and then the request, the lock order of every command on an
order, so a seller approving, a buyer withdrawing, a parcel being shipped and the 72-hour
deadline firing are serialised: the first decides, the others find the request decided (409
`cancellation_request_decided`) or the lines locked (409 `cancellation_request_open`). The
refund an approval grants is sent to the payment provider after the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from orderguard.app.access import require_role, visible_order, visible_part
from orderguard.app.context import Context, Principal
from orderguard.app.effects import run_after_commit
from orderguard.app.orders import DeadlineView, declared_deadlines
from orderguard.app.ports import UnitOfWork
from orderguard.app.shipping import dispatch_locked
from orderguard.domain import cancellation, cancellation_requests
from orderguard.domain.cancellation_requests import CANCELLATION_REQUEST, CancellationRequest
from orderguard.domain.decision import Decision
from orderguard.domain.machine import Actor
from orderguard.domain.orders import Action, Order
from orderguard.domain.policy import Policy
from orderguard.ids import new_id

Decide = Callable[[UnitOfWork, CancellationRequest, Order, datetime, Policy], Decision[CancellationRequest]]


@dataclass(frozen=True, slots=True)
class RequestView:
    request: CancellationRequest
    currency: str
    refund: int  # what approving it would refund (or did)
    fine: int  # what approving it would fine the seller (or did)
    actions: list[Action]
    deadlines: list[DeadlineView]


def request_cancellation(
    ctx: Context,
    buyer: Principal,
    order_id: str,
    reason: str,
    lines: dict[str, int] | None,
    message: str,
) -> RequestView:
    """R4.1: the buyer asks to cancel `lines` (None: every paid, unshipped quantity)."""
    require_role(buyer, Actor.BUYER)
    now = ctx.clock.now()
    with ctx.uow() as uow:
        order, _ = visible_order(uow, buyer, uow.orders.load_order(order_id, lock=True), order_id)
        policy = ctx.policies.get(order.policy_key)
        shipped = uow.shipments.shipped_quantities(order.id)
        wanted = (
            lines
            if lines is not None
            else {c.line_id: c.quantity for c in cancellation.cancellable_lines(order, shipped)}
        )
        cancellation.check_quantities(order, wanted, shipped)
        decision = cancellation_requests.open_request(
            new_id("can"), order.id, buyer.id, order.store_id, reason, wanted, message,
            uow.cancellations.open_requests(order.id), now, policy,
        )  # fmt: skip
        uow.save([decision], now)
        return _view(decision.subject, order, shipped, Actor.BUYER, policy)


def get_request(ctx: Context, who: Principal, request_id: str) -> RequestView:
    with ctx.reading() as uow:
        request, order, role = _visible(uow, who, request_id)
        shipped = uow.shipments.shipped_quantities(order.id)
        return _view(request, order, shipped, role, ctx.policies.get(order.policy_key))


def requests_of_order(ctx: Context, who: Principal, order_id: str) -> list[RequestView]:
    with ctx.reading() as uow:
        order, role = visible_order(uow, who, uow.orders.load_order(order_id), order_id)
        shipped = uow.shipments.shipped_quantities(order.id)
        policy = ctx.policies.get(order.policy_key)
        return [_view(r, order, shipped, role, policy) for r in uow.cancellations.requests_of(order.id)]


def withdraw(ctx: Context, buyer: Principal, request_id: str) -> RequestView:
    """The buyer takes an open request back."""
    require_role(buyer, Actor.BUYER)
    return _decide(
        ctx,
        buyer,
        request_id,
        lambda uow, r, order, now, policy: cancellation_requests.withdraw(r, buyer.id, now, policy),
    )


def approve(ctx: Context, seller: Principal, request_id: str) -> RequestView:
    """R4.3: the seller agrees: the quantities are cancelled and refunded; a seller fault is fined."""
    require_role(seller, Actor.SELLER)
    return _decide(
        ctx,
        seller,
        request_id,
        lambda uow, r, order, now, policy: cancellation.approve(
            r,
            order,
            seller.id,
            uow.shipments.shipped_quantities(order.id),
            uow.payments.captured_payment(order.id),
            uow.ledger.order_money(order.id, order.currency).in_escrow,
            now,
            policy,
        ),
    )


def reject(
    ctx: Context,
    seller: Principal,
    request_id: str,
    answer: str,
    carrier: str | None,
    tracking_code: str | None,
) -> RequestView:
    """R4.3: the seller refuses. With a carrier and tracking code the parcel is on its way (R4.6):
    the request's lines are shipped under that code through the ordinary shipping path."""
    require_role(seller, Actor.SELLER)

    def decide(
        uow: UnitOfWork, r: CancellationRequest, order: Order, now: datetime, policy: Policy
    ) -> Decision[CancellationRequest]:
        if carrier is None or tracking_code is None:
            return cancellation_requests.reject(r, seller.id, answer, now, policy)
        cancellation_requests.must_be_open(r)  # a decided request ships nothing
        others = [o for o in uow.cancellations.open_requests(order.id) if o.id != r.id]
        parcel = dispatch_locked(
            uow, ctx, order, seller.id, carrier, tracking_code, dict(r.lines), now, others
        )
        shipment = parcel.subject
        decided = cancellation_requests.reject(
            r, seller.id, answer, now, policy, (shipment.carrier, shipment.tracking_code, shipment.id)
        )
        decided.also.append(parcel)
        return decided

    return _decide(ctx, seller, request_id, decide)


def _decide(
    ctx: Context,
    who: Principal,
    request_id: str,
    decide: Decide,
) -> RequestView:
    now = ctx.clock.now()
    with ctx.uow() as uow:
        found = uow.cancellations.load_request(request_id)
        # the order first, then the request: the one lock order of every command on an order
        _, order, role = visible_part(uow, who, found, "cancellation_request", request_id, lock_order=True)
        request = uow.cancellations.load_request(request_id, lock=True)
        assert request is not None
        policy = ctx.policies.get(order.policy_key)
        decision = decide(uow, request, order, now, policy)
        uow.save([decision], now)
        moved = next((d.subject for d in decision.flatten() if isinstance(d.subject, Order)), order)
        view = _view(decision.subject, moved, uow.shipments.shipped_quantities(order.id), role, policy)
    run_after_commit(ctx, [effect for d in decision.flatten() for effect in d.after_commit])
    return view


def _visible(uow: UnitOfWork, who: Principal, request_id: str) -> tuple[CancellationRequest, Order, Actor]:
    found = uow.cancellations.load_request(request_id)
    return visible_part(uow, who, found, "cancellation_request", request_id)


def _view(
    request: CancellationRequest, order: Order, shipped: dict[str, int], role: Actor, policy: Policy
) -> RequestView:
    refund, fine = request.refunded, request.fined
    if request.is_open:  # what approving it would cost
        refund = sum(
            cancellation.line_refund(order, line_id, q, shipped) for line_id, q in request.lines.items()
        )
        fine = cancellation.fine(refund, request.fault, order.currency, policy)
    return RequestView(
        request,
        order.currency,
        refund,
        fine,
        cancellation_requests.actions_for(request, role),
        declared_deadlines(CANCELLATION_REQUEST, request, policy),
    )
