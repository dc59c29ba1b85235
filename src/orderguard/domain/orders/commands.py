"""Order commands: each takes the order, the time and its policy, and returns a `Decision`.

Every state change goes through `transition`, which takes the event through the ORDER table,
re-arms the deadlines its timers declare and adds the notices of `texts.py`. Commands the system
runs when a timer runs out are registered with `ORDER.on_expiry` and share one signature.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from orderguard.domain import ledger, shipping
from orderguard.domain.decision import Decision, Event, take
from orderguard.domain.machine import Actor, ArmDeadline, Facts, Refusal, Refused
from orderguard.domain.money import Money
from orderguard.domain.orders.actions import why_not
from orderguard.domain.orders.model import Order
from orderguard.domain.orders.table import DISPUTE_WINDOW_END, ORDER, OrderDeadline, OrderState
from orderguard.domain.orders.texts import notices
from orderguard.domain.policy import Policy

B, S, SYS = Actor.BUYER, Actor.SELLER, Actor.SYSTEM
LEAVE_CART = "leave_cart"  # the order's goods leave the buyer's cart
LINES_CHANGED = "lines_changed"  # quantities of the order's lines were cancelled
OrderDecision = Decision[Order]


def transition(
    order: Order,
    event: str,
    by: Actor,
    actor_id: str | None,
    now: datetime,
    policy: Policy,
    data: dict[str, Any] | None = None,
    **changes: Any,
) -> OrderDecision:
    """Take `event` through the table, apply field `changes`, re-arm deadlines and notify."""
    return take(ORDER, order, event, by, actor_id, now, policy, data, notices, **changes)


def place(order: Order, now: datetime, policy: Policy) -> OrderDecision:
    """A new order, awaiting payment until its pay-by time (R3.2, R3.3)."""
    if order.state != ORDER.initial:
        raise ValueError(f"orders are placed {ORDER.initial}")
    _, arm = ORDER.rearm("", order, now, policy)
    placed = Event("placed", B, order.buyer_id, "R3.2", now, {"pay_by_at": order.pay_by_at.isoformat()})
    return Decision(order, [placed], arm=arm, new=True)


def payment_started(order: Order, buyer_id: str, method: str, now: datetime, policy: Policy) -> OrderDecision:
    """The buyer pays: until the provider answers (at once for a card, days for a transfer) the
    payment is pending and the order can be neither cancelled nor expired (R3.5)."""
    _must_be_buyer(order, buyer_id)
    if order.state != OrderState.AWAITING_PAYMENT:
        raise Refused(why_not("pay", order.state))
    return transition(order, "payment_started", B, buyer_id, now, policy, {"method": method})


def payment_captured(order: Order, now: datetime, policy: Policy) -> OrderDecision:
    """The money is captured into the order's escrow; the order awaits shipment (R3.5, R9.2)."""
    ship_by = now + timedelta(days=order.handling_days)
    d = transition(order, "payment_captured", SYS, None, now, policy, paid_at=now, ship_by_at=ship_by)
    d.ledger.append(ledger.capture(order.id, order.total.minor, order.currency))
    d.effects.add(LEAVE_CART)
    return d


def payment_failed(order: Order, reason: str, now: datetime, policy: Policy) -> OrderDecision:
    """Back to awaiting payment, or cancelled when pay-by has passed meanwhile (R3.5)."""
    if now >= order.pay_by_at:
        d = transition(
            order, "payment_failed_after_pay_by", SYS, None, now, policy, {"reason": reason}, cancelled_at=now
        )
        d.effects.add(LEAVE_CART)
        d.restock = reserved(order)
        return d
    return transition(order, "payment_failed", SYS, None, now, policy, {"reason": reason})


def buyer_cancel(order: Order, buyer_id: str, now: datetime, policy: Policy) -> OrderDecision:
    """The buyer cancels an unpaid order, without sanctions (R3.4)."""
    _must_be_buyer(order, buyer_id)
    if order.state != OrderState.AWAITING_PAYMENT:
        raise Refused(why_not("cancel", order.state))
    d = transition(order, "buyer_cancelled", B, buyer_id, now, policy, cancelled_at=now)
    d.effects.add(LEAVE_CART)
    d.restock = reserved(order)
    return d


@ORDER.on_expiry("pay_by_passed")
def pay_by_passed(order: Order, now: datetime, policy: Policy, facts: Facts | None = None) -> OrderDecision:
    """R3.3: unpaid at pay-by, the order is cancelled and its goods leave the cart."""
    d = transition(order, "pay_by_passed", SYS, None, now, policy, cancelled_at=now)
    d.effects.add(LEAVE_CART)
    d.restock = reserved(order)
    return d


def reserved(order: Order, quantities: dict[str, int] | None = None) -> dict[str, int]:
    """The stock the order holds per offer (of `quantities` per line only, when given)."""
    back: dict[str, int] = {}
    for line in order.lines:
        q = line.active if quantities is None else quantities.get(line.id, 0)
        if q > 0:
            back[line.offer_id] = back.get(line.offer_id, 0) + q
    return back


def _must_be_buyer(order: Order, buyer_id: str) -> None:
    if order.buyer_id != buyer_id:
        raise Refused(Refusal("order_not_found", "no such order", 404))


# --- after shipment ---------------------------------------------------------------


@ORDER.on_expiry("protection_reminder")
def protection_reminder(
    order: Order, now: datetime, policy: Policy, facts: Facts | None = None
) -> OrderDecision:
    """R8.5: tell the buyer protection ends soon and what to do before it does."""
    return transition(order, "protection_reminder", SYS, None, now, policy)


def _complete(
    order: Order, event: str, by: Actor, actor_id: str | None, now: datetime, policy: Policy
) -> OrderDecision:
    window_ends = DISPUTE_WINDOW_END.due.at(replace(order, completed_at=now), policy)
    assert window_ends is not None
    return transition(
        order,
        event,
        by,
        actor_id,
        now,
        policy,
        {"dispute_window_ends_at": window_ends.isoformat()},
        completed_at=now,
        dispute_window_ends_at=window_ends,
    )


def confirm_receipt(order: Order, buyer_id: str, now: datetime, policy: Policy) -> OrderDecision:
    """R6.4: the buyer confirms receipt; the order is completed."""
    _must_be_buyer(order, buyer_id)
    if ORDER.find(order.state, "receipt_confirmed") is None:
        raise Refused(why_not("confirm_receipt", order.state))
    return _complete(order, "receipt_confirmed", B, buyer_id, now, policy)


@ORDER.on_expiry("protection_ended")
def protection_ended(
    order: Order, now: datetime, policy: Policy, facts: Facts | None = None
) -> OrderDecision:
    """R6.4: protection ran out with neither confirmation nor dispute; the order completes.

    R6.6: not while a parcel is on its way back to the seller (the order is returning instead), nor
    while one waits at a pickup point: then protection runs on until `after_delivery_protection_days`
    after its storage ends, as if it were delivered then (by then it is collected or sent back).
    """
    parcels = facts.parcels(order.id) if facts is not None else []
    if any(p.state == shipping.RETURNING for p in parcels):
        return parcel_returning(order, now, policy)
    waiting = _wait_for_pickup(order, parcels, "protection_extended", "protection_ends_at", now, policy)
    if waiting is not None:
        return waiting
    return _complete(order, "protection_ended", SYS, None, now, policy)


def _wait_for_pickup(
    order: Order, parcels: list[Any], event: str, field: str, now: datetime, policy: Policy
) -> OrderDecision | None:
    """R6.6: a parcel waits at a pickup point: the deadline due now (protection's end, the dispute
    window's) moves, in `field`, to `after_delivery_protection_days` after its storage ends, as if
    it were delivered then. By then its own storage deadline has sent it back, or it was collected."""
    storage_ends = [
        shipping.STORAGE_END.due.at(p, policy) for p in parcels if p.state == shipping.AT_PICKUP_POINT
    ]
    latest = max((end for end in storage_ends if end is not None), default=None)
    if latest is None or ORDER.find(order.state, event) is None:
        return None
    ends = latest + timedelta(days=policy.shipping.after_delivery_protection_days)
    if ends <= now:  # the storage is over already: its own deadline sends the parcel back
        return None
    data = {"storage_ends_at": latest.isoformat(), field: ends.isoformat()}
    d = transition(order, event, SYS, None, now, policy, data, **{field: ends})
    # a self-loop re-arms nothing by itself: the state's timers start again from the moved field (the
    # dispute window's counts from completion, so it is moved explicitly)
    _, arm = ORDER.rearm("", d.subject, now, policy)
    d.arm = [ArmDeadline(a.kind, ends) if a.kind == OrderDeadline.DISPUTE_WINDOW_END else a for a in arm]
    d.cancel = list(ORDER.state_deadlines[order.state])
    return d


@ORDER.on_expiry("dispute_window_ended")
def dispute_window_ended(order: Order, now: datetime, policy: Policy, facts: Facts) -> OrderDecision:
    """R6.5: the order closes; its escrow goes to the seller less the platform commission.

    R6.6: not while a parcel is on its way back to the seller: the order is returning instead, and
    pays out what remains once the parcel is back and refunded; nor while one waits at a pickup
    point (the buyer confirmed receipt without collecting it): the window runs on as protection does.
    """
    parcels = facts.parcels(order.id)
    if any(p.state == shipping.RETURNING for p in parcels):
        return parcel_returning(order, now, policy)
    waiting = _wait_for_pickup(
        order, parcels, "dispute_window_extended", "dispute_window_ends_at", now, policy
    )
    if waiting is not None:
        return waiting
    return _release(order, "dispute_window_ended", facts.escrow(order.id), now, policy)


def _release(order: Order, event: str, escrow_balance: int, now: datetime, policy: Policy) -> OrderDecision:
    """The order ends with `event`: what its escrow holds goes to the seller, less the commission."""
    commission = Money(escrow_balance, order.currency).bps(policy.money.commission_bps).minor
    d = transition(
        order,
        event,
        SYS,
        None,
        now,
        policy,
        {"released": escrow_balance - commission, "commission": commission},
        closed_at=now,
    )
    if escrow_balance > 0:
        d.ledger.append(ledger.release(order.id, order.store_id, escrow_balance, commission, order.currency))
    return d


# --- parcels sent back (R6.6) ---------------------------------------------------------------


def parcel_returning(order: Order, now: datetime, policy: Policy) -> OrderDecision:
    """R6.6: a parcel is on its way back to the seller: protection, completion and the payout wait
    until it is back (their deadlines are cancelled on leaving the state)."""
    return transition(order, "parcel_returning", SYS, None, now, policy)


def return_ended(
    order: Order, parcels: list[Any], escrow_balance: int, now: datetime, policy: Policy
) -> OrderDecision:
    """R6.6: no parcel of the returning order is on its way back any more (each is refunded).

    Every parcel back: the order has ended (`returned`) and what its escrow still holds (the return
    shipping kept) goes to the seller, less the commission. Otherwise the order goes on with the
    parcels the buyer has: completed again if it was completed (its dispute window as it was), else
    shipped, protection ending no sooner than `after_delivery_protection_days` from now.
    """
    if all(p.state == shipping.RETURNED for p in parcels):
        return _release(order, "parcels_returned", escrow_balance, now, policy)
    if order.completed_at is not None:
        return transition(order, "completion_resumed", SYS, None, now, policy)
    ends = max(
        order.protection_ends_at or now,
        now + timedelta(days=policy.shipping.after_delivery_protection_days),
    )
    return transition(
        order,
        "protection_resumed",
        SYS,
        None,
        now,
        policy,
        {"protection_ends_at": ends.isoformat()},
        protection_ends_at=ends,
    )


# --- shipment ---------------------------------------------------------------------------


def ship(
    order: Order,
    seller_id: str,
    wanted: dict[str, int],
    shipped_before: dict[str, int],
    now: datetime,
    policy: Policy,
    data: dict[str, Any],
) -> OrderDecision:
    """R6.1: the seller ships some or all lines; protection starts once everything is shipped.

    Protection ends at the last shipment + the order's promised delivery days
    (the longest of its lines' options), capped by the policy (R6.4).
    """
    if ORDER.find(order.state, "shipped_fully") is None:
        raise Refused(why_not("ship", order.state))
    ordered = {line.id: line.active for line in order.lines}
    shipping.check_shipment_lines(wanted, ordered, shipped_before)
    after = {k: shipped_before.get(k, 0) + wanted.get(k, 0) for k in ordered}
    if not shipping.fully_shipped(ordered, after):
        return transition(order, "shipped_partly", S, seller_id, now, policy, data)
    ends = _protection_ends(order, now, policy)
    return transition(
        order,
        "shipped_fully",
        S,
        seller_id,
        now,
        policy,
        {**data, "protection_ends_at": ends.isoformat()},
        shipped_at=now,
        protection_ends_at=ends,
    )


def _protection_ends(order: Order, now: datetime, policy: Policy) -> datetime:
    return now + timedelta(days=min(order.promised_days, policy.shipping.max_protection_days))


# --- cancellation after payment ----------------------------------------------------------


def cancel_lines(
    order: Order,
    quantities: dict[str, int],
    shipped: dict[str, int],
    now: datetime,
    policy: Policy,
    data: dict[str, Any],
    *,
    ship_by_missed: bool = False,
) -> OrderDecision:
    """Paid, unshipped `quantities` (line id -> quantity) leave the order (R4.3, R4.4, R4.8).

    The order goes on with what remains: cancelled when nothing remains, shipped (protection
    starting now) when everything that remains has been shipped. The stock goes back to the offers.
    The caller has checked the quantities (`domain.cancellation`); the refund and any fine are
    decided beside this.
    """
    lines = tuple(
        replace(line, cancelled=line.cancelled + quantities.get(line.id, 0)) for line in order.lines
    )
    after = replace(order, lines=lines)
    left_to_ship = sum(line.active - shipped.get(line.id, 0) for line in lines)
    if ship_by_missed:
        event = "ship_by_missed"
    elif not any(line.active for line in lines):
        event = "cancelled_after_payment"
    elif left_to_ship == 0:
        event = "unshipped_cancelled"
    else:
        event = "lines_cancelled"
    changes: dict[str, Any] = {"lines": lines}
    t = ORDER.find(order.state, event)
    if t is not None and t.target == OrderState.CANCELLED:
        changes["cancelled_at"] = now
    elif t is not None and t.target == OrderState.SHIPPED:
        changes.update(shipped_at=now, protection_ends_at=_protection_ends(after, now, policy))
    d = transition(order, event, SYS, None, now, policy, {**data, "lines": quantities}, **changes)
    d.effects.add(LINES_CHANGED)
    d.restock = reserved(order, quantities)
    return d


# --- disputes ---------------------------------------------------------------------------------


def dispute_opened(
    order: Order, buyer_id: str, dispute_id: str, now: datetime, policy: Policy
) -> OrderDecision:
    """R7.1, R7.8: the order is disputed; protection and the post-completion window wait for it."""
    return transition(order, "dispute_opened", B, buyer_id, now, policy, {"dispute_id": dispute_id})


def disputes_ended(order: Order, now: datetime, policy: Policy) -> OrderDecision:
    """R7.8: the order's last open dispute ended: it goes back to where it stood, and its timers
    (protection, the post-completion window) run again from their own times; one that passed
    meanwhile fires at once, so the order completes or closes, paying out what remains."""
    if order.completed_at is not None:
        event = "disputes_ended_completed"
    elif order.delivered_at is not None:
        event = "disputes_ended_delivered"
    else:
        event = "disputes_ended_in_transit"
    return transition(order, event, SYS, None, now, policy)


def all_delivered(order: Order, delivered_at: datetime, now: datetime, policy: Policy) -> OrderDecision:
    """R6.4: every parcel is delivered; protection ends 5 days after delivery if that is sooner.

    A delivery reported late never ends protection before the report itself.
    """
    after_delivery = delivered_at + timedelta(days=policy.shipping.after_delivery_protection_days)
    current = order.protection_ends_at or after_delivery
    ends = max(now, min(current, after_delivery))
    return transition(
        order,
        "all_delivered",
        SYS,
        None,
        now,
        policy,
        {"delivered_at": delivered_at.isoformat(), "protection_ends_at": ends.isoformat()},
        delivered_at=delivered_at,
        protection_ends_at=ends,
    )
