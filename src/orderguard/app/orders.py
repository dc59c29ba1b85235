"""Reading orders ("My orders", detail with actions and deadlines, timeline) and cancelling."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orderguard.app.access import require_role, visible_order
from orderguard.app.context import Context, Principal
from orderguard.app.cursors import decode_cursor, encode_cursor
from orderguard.app.ports import OrderMoney, UnitOfWork
from orderguard.domain import cancellation, orders
from orderguard.domain.deadlines import MACHINES
from orderguard.domain.machine import Actor, Machine, Refusal, Refused
from orderguard.domain.orders import Action, Order, OrderDecision
from orderguard.domain.policy import Policy


@dataclass(frozen=True, slots=True)
class DeadlineView:
    kind: str
    due_at: datetime
    must_act: str | None
    action_needed: str
    consequence: str
    rule: str


@dataclass(frozen=True, slots=True)
class OrderView:
    order: Order
    role: Actor
    money: OrderMoney
    actions: list[Action]
    deadlines: list[DeadlineView]
    payments: list[dict[str, Any]]
    shipments: list[dict[str, Any]]


BuyerDecision = Callable[[Order, str, datetime, Policy], OrderDecision]


def _buyer_command(ctx: Context, buyer: Principal, order_id: str, decide: BuyerDecision) -> OrderView:
    """One buyer command on one order: lock it, decide, write the decision, show the result."""
    require_role(buyer, Actor.BUYER)
    now = ctx.clock.now()
    with ctx.uow() as uow:
        order, _ = visible_order(uow, buyer, uow.orders.load_order(order_id, lock=True), order_id)
        decision = decide(order, buyer.id, now, ctx.policies.get(order.policy_key))
        uow.save([decision], now)
        return _view(uow, decision.subject, Actor.BUYER)


def cancel_unpaid(ctx: Context, buyer: Principal, order_id: str) -> OrderView:
    """R3.4: the buyer cancels an unpaid order, without sanctions."""
    return _buyer_command(ctx, buyer, order_id, orders.buyer_cancel)


def confirm_receipt(ctx: Context, buyer: Principal, order_id: str) -> OrderView:
    """R6.4: the buyer confirms receipt; the order completes and the dispute window opens."""
    return _buyer_command(ctx, buyer, order_id, orders.confirm_receipt)


def get_order(ctx: Context, principal: Principal, order_id: str) -> OrderView:
    with ctx.reading() as uow:
        order, role = visible_order(uow, principal, uow.orders.load_order(order_id), order_id)
        return _view(uow, order, role)


def _view(uow: UnitOfWork, order: Order, role: Actor) -> OrderView:
    actions = orders.actions_for(order, role)
    if role is Actor.BUYER:
        actions.append(_request_action(uow, order))
    return OrderView(
        order,
        role,
        uow.ledger.order_money(order.id, order.currency),
        actions,
        armed_deadlines(uow, order.id),
        uow.payments.payments_of(order.id),
        uow.shipments.shipments_view(order.id),
    )


def armed_deadlines(uow: UnitOfWork, order_id: str) -> list[DeadlineView]:
    """The armed deadlines of the order and of its parts (payments, requests, refunds ...)."""
    return [
        deadline_view(MACHINES[subject_type], kind, due)
        for subject_type, kind, due in uow.deadlines.armed_deadline_dues(order_id)
    ]


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
    rule = next(t.rule for t in machine.transitions if t.timer == timer)
    must_act = str(timer.must_act) if timer.must_act else None
    return DeadlineView(kind, due, must_act, timer.action_needed, timer.consequence, rule)


def _request_action(uow: UnitOfWork, order: Order) -> Action:
    """R4.1: can the buyer ask to cancel (part of) this paid order now, and if not, why."""
    if order.state not in cancellation.CANCELLABLE_STATES:
        return cancellation.request_action(order, {}, [])
    shipped = uow.shipments.shipped_quantities(order.id)
    return cancellation.request_action(order, shipped, uow.cancellations.open_requests(order.id))


@dataclass(frozen=True, slots=True)
class OrderOverview:
    """An order as listings show it: what the caller can do now and the deadlines that run, as the
    order's own page has them (`OrderView`), without its lines, payments and shipments."""

    order: Order
    role: Actor
    actions: list[Action]
    deadlines: list[DeadlineView]


def overviews(uow: UnitOfWork, found: list[Order], role: Actor) -> list[OrderOverview]:
    """The overviews of a page of orders, in a few queries whatever the page's size."""
    ids = [o.id for o in found]
    dues = uow.deadlines.armed_deadline_dues_of(ids)
    shipped: dict[str, dict[str, int]] = {}
    open_requests: dict[str, list[Any]] = {}
    if role is Actor.BUYER:  # the buyer's `request_cancellation` looks at what is shipped and asked
        cancellable = [o.id for o in found if o.state in cancellation.CANCELLABLE_STATES]
        shipped = uow.shipments.shipped_quantities_of(cancellable)
        open_requests = uow.cancellations.open_requests_of(cancellable)
    out = []
    for o in found:
        actions = orders.actions_for(o, role)
        if role is Actor.BUYER:
            actions.append(cancellation.request_action(o, shipped.get(o.id, {}), open_requests.get(o.id, [])))
        deadlines = [deadline_view(MACHINES[st], kind, due) for st, kind, due in dues.get(o.id, [])]
        out.append(OrderOverview(o, role, actions, deadlines))
    return out


def placed_overviews(ctx: Context, placed: list[Order]) -> list[OrderOverview]:
    """Orders just placed, to their buyer: nothing but their own timers runs yet, so their deadlines
    are those their lifecycle declares (the rows armed with them hold the same times)."""
    return [
        OrderOverview(
            o,
            Actor.BUYER,
            [*orders.actions_for(o, Actor.BUYER), cancellation.request_action(o, {}, [])],
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
        raise Refused(Refusal("unknown_status", f"status must be one of {orders.ORDER.states}", 422))
    with ctx.reading() as uow:
        rows = uow.orders.order_keys_page(
            buyer_id=principal.id if principal.role is Actor.BUYER else None,
            store_ids=uow.catalogue.store_ids_of(principal.id) if principal.role is Actor.SELLER else None,
            status=status,
            after=decode_cursor(cursor) if cursor else None,
            limit=limit + 1,
        )
        page = rows[:limit]
        loaded = uow.orders.load_orders([order_id for order_id, _ in page])
        listed = overviews(uow, [loaded[order_id] for order_id, _ in page], principal.role)
    next_cursor = None
    if len(rows) > limit:
        last_id, last_placed_at = page[-1]
        next_cursor = encode_cursor(last_placed_at, last_id)
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
