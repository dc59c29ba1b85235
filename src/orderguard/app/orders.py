"""Reading orders ("My orders", detail with actions and deadlines, timeline) and cancelling."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orderguard.app.access import require_role, visible_order
from orderguard.app.context import Context, Principal
from orderguard.app.cursors import decode_cursor, encode_cursor
from orderguard.app.ports import OrderListingData, OrderMoney, OrderPageData, UnitOfWork
from orderguard.domain import cancellation, disputes, orders, unclaimed
from orderguard.domain.cancellation_requests import CancellationRequest
from orderguard.domain.deadlines import MACHINES
from orderguard.domain.disputes import Dispute
from orderguard.domain.machine import Actor, Machine, Refusal, Refused, one_of
from orderguard.domain.orders import Action, Order, OrderDecision
from orderguard.domain.payments import Payment
from orderguard.domain.policy import Policy
from orderguard.domain.shipments import Shipment
from orderguard.domain.shipping import Scan


@dataclass(frozen=True, slots=True)
class DeadlineView:
    kind: str
    due_at: datetime
    must_act: str | None
    action_needed: str
    consequence: str
    rule: str


@dataclass(frozen=True, slots=True)
class ParcelView:
    """A shipment with its scans, in the order they occurred."""

    shipment: Shipment
    scans: list[Scan]


@dataclass(frozen=True, slots=True)
class OrderView:
    order: Order
    role: Actor
    money: OrderMoney
    actions: list[Action]
    deadlines: list[DeadlineView]
    payments: list[Payment]
    shipments: list[ParcelView]


BuyerDecision = Callable[[Order, str, datetime, Policy], OrderDecision]


def _buyer_command(ctx: Context, buyer: Principal, order_id: str, decide: BuyerDecision) -> OrderView:
    """One buyer command on one order: lock it, decide, write the decision, show the result."""
    require_role(buyer, Actor.BUYER)
    now = ctx.clock.now()
    with ctx.uow() as uow:
        order, _ = visible_order(uow, buyer, uow.orders.load_order(order_id, lock=True), order_id)
        decision = decide(order, buyer.id, now, ctx.policies.get(order.policy_key))
        uow.save([decision], now)
        return _view(uow, decision.subject, Actor.BUYER, now)


def cancel_unpaid(ctx: Context, buyer: Principal, order_id: str) -> OrderView:
    """R3.4: the buyer cancels an unpaid order, without sanctions."""
    return _buyer_command(ctx, buyer, order_id, orders.buyer_cancel)


def confirm_receipt(ctx: Context, buyer: Principal, order_id: str) -> OrderView:
    """R6.4: the buyer confirms receipt; the order completes and the dispute window opens."""
    return _buyer_command(ctx, buyer, order_id, orders.confirm_receipt)


def refuse_parcel(ctx: Context, buyer: Principal, order_id: str, shipment_id: str | None) -> OrderView:
    """R6.6: the buyer refuses a parcel (None: every parcel not delivered yet); it goes back to the
    seller, and its lines are refunded once it is back. Locks the order, as every command on its
    parcels does (scans, the storage deadline), so exactly one of them sends a parcel back."""
    require_role(buyer, Actor.BUYER)
    now = ctx.clock.now()
    with ctx.uow() as uow:
        order, _ = visible_order(uow, buyer, uow.orders.load_order(order_id, lock=True), order_id)
        policy = ctx.policies.get(order.policy_key)
        parcels = uow.shipments.shipments_of([order.id])
        refused = unclaimed.refuse(order, parcels, shipment_id, buyer.id, now, policy)
        after = {s.id: s for s in parcels} | {d.subject.id: d.subject for d in refused}
        decided = unclaimed.follow(order, list(after.values()), refused, None, 0, now, policy)
        uow.save([*refused, *([decided] if decided else [])], now)
        return _view(uow, decided.subject if decided else order, Actor.BUYER, now)


def get_order(ctx: Context, principal: Principal, order_id: str) -> OrderView:
    with ctx.reading() as uow:
        # The order and its page are read together (a buyer's role on an order can only be the
        # buyer's); the page is shown only once the order is known to be the caller's to see.
        page = uow.order_page(order_id, buyer_parts=principal.role is Actor.BUYER)
        _, role = visible_order(uow, principal, page.order if page else None, order_id)
        assert page is not None
        return _page_view(page, role, ctx.clock.now())


def _view(uow: UnitOfWork, order: Order, role: Actor, now: datetime) -> OrderView:
    page = uow.order_page(order.id, buyer_parts=role is Actor.BUYER, loaded=order)
    assert page is not None
    return _page_view(page, role, now)


def _page_view(page: OrderPageData, role: Actor, now: datetime) -> OrderView:
    order = page.order
    actions = orders.actions_for(order, role)
    if role is Actor.BUYER:
        cancellable = order.state in cancellation.CANCELLABLE_STATES
        actions += buyer_actions(
            order,
            page.shipped if cancellable else {},
            page.open_requests if cancellable else [],
            page.shipments,
            page.disputes,
            now,
        )
    return OrderView(
        order,
        role,
        page.money,
        actions,
        armed_deadlines(page.deadline_dues),
        page.payments,
        [ParcelView(p, page.scans.get(p.id, [])) for p in page.shipments],
    )


def armed_deadlines(dues: list[tuple[str, str, datetime]]) -> list[DeadlineView]:
    """The armed deadlines of the order and of its parts (payments, requests, refunds ...), from
    `Deadlines.armed_deadline_dues`."""
    return [deadline_view(MACHINES[subject_type], kind, due) for subject_type, kind, due in dues]


def declared_deadlines(machine: Machine, subject: Any, policy: Policy) -> list[DeadlineView]:
    """The deadlines `subject` has in its state, as its lifecycle's timers declare them (the rows
    armed for it hold the same times)."""
    out = []
    for kind in machine.state_deadlines.get(subject.state, ()):
        due = machine.timers[kind].due.at(subject, policy)
        if due is not None:
            out.append(deadline_view(machine, kind, due))
    return sorted(out, key=lambda d: d.due_at)


def deadline_view(machine: Machine, kind: str, due: datetime) -> DeadlineView:
    timer = machine.timers[kind]
    must_act = str(timer.must_act) if timer.must_act else None
    rule = machine.timer_rules[kind]
    return DeadlineView(kind, due, must_act, timer.action_needed, timer.consequence, rule)


def buyer_actions(
    order: Order,
    shipped: dict[str, int],
    open_requests: list[CancellationRequest],
    parcels: list[Shipment],
    order_disputes: list[Dispute],
    now: datetime,
) -> list[Action]:
    """What only the buyer may do beyond the order's own table: ask to cancel (R4.1), open a dispute
    (R7.1), refuse a parcel (R6.6); each available or not, with why."""
    return [
        cancellation.request_action(order, shipped, open_requests),
        disputes.open_action(order, order_disputes, now),
        unclaimed.refuse_action(order, parcels),
    ]


@dataclass(frozen=True, slots=True)
class OrderOverview:
    """An order as listings show it: what the caller can do now and the deadlines that run, as the
    order's own page has them (`OrderView`), without its lines, payments and shipments."""

    order: Order
    role: Actor
    actions: list[Action]
    deadlines: list[DeadlineView]


def overviews(listing: OrderListingData, role: Actor, now: datetime) -> list[OrderOverview]:
    """The overviews of a page of orders (`UnitOfWork.order_listing`, with `buyer_parts` for a
    buyer): what is shipped and asked is looked at for the orders that can be cancelled, the
    disputes for those whose dispute window is open."""
    dues = listing.deadline_dues
    open_window: dict[str, list[Dispute]] = {}
    if role is Actor.BUYER:
        in_window = [o.id for o in listing.orders if disputes.window(o, now)[0] is None]
        if in_window:
            of_page = listing.disputes()
            open_window = {order_id: of_page.get(order_id, []) for order_id in in_window}
    out = []
    for o in listing.orders:
        actions = orders.actions_for(o, role)
        if role is Actor.BUYER:  # the buyer's actions look at what is shipped, asked and disputed
            cancellable = o.state in cancellation.CANCELLABLE_STATES
            actions += buyer_actions(
                o,
                listing.shipped.get(o.id, {}) if cancellable else {},
                listing.open_requests.get(o.id, []) if cancellable else [],
                listing.shipments.get(o.id, []),
                open_window.get(o.id, []),
                now,
            )
        out.append(OrderOverview(o, role, actions, armed_deadlines(dues.get(o.id, []))))
    return out


def placed_overviews(ctx: Context, placed: list[Order]) -> list[OrderOverview]:
    """Orders just placed, to their buyer: nothing but their own timers runs yet, so their deadlines
    are those their lifecycle declares (the rows armed with them hold the same times)."""
    return [
        OrderOverview(
            o,
            Actor.BUYER,
            [*orders.actions_for(o, Actor.BUYER), *buyer_actions(o, {}, [], [], [], ctx.clock.now())],
            declared_deadlines(orders.ORDER, o, ctx.policies.get(o.policy_key)),
        )
        for o in placed
    ]


@dataclass(frozen=True, slots=True)
class OrderPage:
    orders: list[OrderOverview]
    next_cursor: str | None


def list_orders(
    ctx: Context, principal: Principal, status: str | None, cursor: str | None, limit: int
) -> OrderPage:
    """Newest first; the cursor is the (placed_at, id) of the last order of the previous page."""
    if status is not None and status not in orders.ORDER.states:
        raise Refused(Refusal("unknown_status", f"status must be {one_of(orders.ORDER.states)}", 422))
    with ctx.reading() as uow:
        listing = uow.order_listing(
            buyer_id=principal.id if principal.role is Actor.BUYER else None,
            store_ids=uow.catalogue.store_ids_of(principal.id) if principal.role is Actor.SELLER else None,
            status=status,
            after=decode_cursor(cursor) if cursor else None,
            limit=limit,
            buyer_parts=principal.role is Actor.BUYER,
        )
        listed = overviews(listing, principal.role, ctx.clock.now())
    next_cursor = None
    if listing.more:
        last = listing.orders[-1]
        next_cursor = encode_cursor(last.placed_at, last.id)
    return OrderPage(listed, next_cursor)


def timeline(ctx: Context, principal: Principal, order_id: str) -> list[dict[str, Any]]:
    with ctx.reading() as uow:
        visible_order(uow, principal, uow.orders.load_order(order_id), order_id)
        return uow.events.timeline_events(order_id)


@dataclass(frozen=True, slots=True)
class CancellationReasons:
    order: Order
    lines: list[cancellation.CancellableLine]
    reasons: list[cancellation.ReasonPreview]


def cancellation_reasons(ctx: Context, principal: Principal, order_id: str) -> CancellationReasons:
    """R4.2: what each reason of cancelling the order's paid, unshipped quantities would cost."""
    with ctx.reading() as uow:
        order, _ = visible_order(uow, principal, uow.orders.load_order(order_id), order_id)
        shipped = uow.shipments.shipped_quantities(order.id)
    policy = ctx.policies.get(order.policy_key)
    lines = cancellation.cancellable_lines(order, shipped)
    return CancellationReasons(order, lines, cancellation.preview(order, shipped, policy))
