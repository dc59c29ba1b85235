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
from orderguard.domain.decision import Decision, Event
from orderguard.domain.machine import Actor, Facts, Refusal, Refused
from orderguard.domain.money import Money
from orderguard.domain.orders.actions import why_not
from orderguard.domain.orders.model import Order
from orderguard.domain.orders.table import DISPUTE_WINDOW_END, ORDER, OrderState
from orderguard.domain.orders.texts import notices
from orderguard.domain.policy import Policy

B, S, SYS = Actor.BUYER, Actor.SELLER, Actor.SYSTEM
RESTOCK = "restock"  # the order's reserved stock goes back to its offers
LEAVE_CART = "leave_cart"  # the order's goods leave the buyer's cart
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
    t = ORDER.step(order.state, event, by)
    after = replace(order, state=t.target, **changes)
    happened = Event(event, by, actor_id, t.rule, now, data or {})
    cancel, arm = ORDER.rearm(order.state, after, now, policy, t)
    return Decision(after, [happened], cancel, arm, notifications=notices(after, happened))


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
    d = transition(order, "payment_captured", SYS, None, now, policy, paid_at=now)
    d.ledger.append(ledger.capture(order.id, order.total.minor, order.currency))
    d.effects.add(LEAVE_CART)
    return d


def payment_failed(order: Order, reason: str, now: datetime, policy: Policy) -> OrderDecision:
    """Back to awaiting payment, or cancelled when pay-by has passed meanwhile (R3.5)."""
    if now >= order.pay_by_at:
        d = transition(
            order, "payment_failed_after_pay_by", SYS, None, now, policy, {"reason": reason}, cancelled_at=now
        )
        d.effects |= {RESTOCK, LEAVE_CART}
        return d
    return transition(order, "payment_failed", SYS, None, now, policy, {"reason": reason})


def buyer_cancel(order: Order, buyer_id: str, now: datetime, policy: Policy) -> OrderDecision:
    """The buyer cancels an unpaid order, without sanctions (R3.4)."""
    _must_be_buyer(order, buyer_id)
    if order.state != OrderState.AWAITING_PAYMENT:
        raise Refused(why_not("cancel", order.state))
    d = transition(order, "buyer_cancelled", B, buyer_id, now, policy, cancelled_at=now)
    d.effects |= {RESTOCK, LEAVE_CART}
    return d


@ORDER.on_expiry("pay_by_passed")
def pay_by_passed(order: Order, now: datetime, policy: Policy, facts: Facts | None = None) -> OrderDecision:
    """R3.3: unpaid at pay-by, the order is cancelled and its goods leave the cart."""
    d = transition(order, "pay_by_passed", SYS, None, now, policy, cancelled_at=now)
    d.effects |= {RESTOCK, LEAVE_CART}
    return d


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
    """R6.4: protection ran out with neither confirmation nor dispute; the order completes."""
    return _complete(order, "protection_ended", SYS, None, now, policy)


@ORDER.on_expiry("dispute_window_ended")
def dispute_window_ended(order: Order, now: datetime, policy: Policy, facts: Facts) -> OrderDecision:
    """R6.5: the order closes; its escrow goes to the seller less the platform commission."""
    escrow_balance = facts.escrow(order.id)
    commission = Money(escrow_balance, order.currency).bps(policy.money.commission_bps).minor
    d = transition(
        order,
        "dispute_window_ended",
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
    ordered = {line.id: line.quantity for line in order.lines}
    shipping.check_shipment_lines(wanted, ordered, shipped_before)
    after = {k: shipped_before.get(k, 0) + wanted.get(k, 0) for k in ordered}
    if not shipping.fully_shipped(ordered, after):
        return transition(order, "shipped_partly", S, seller_id, now, policy, data)
    days = min(order.promised_days, policy.shipping.max_protection_days)
    ends = now + timedelta(days=days)
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
