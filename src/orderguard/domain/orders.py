"""Orders: states, the transition table, and decide().

`decide(order, command, now, policy)` is pure: it returns a `Decision` (the
new order, the events that happened, deadlines to cancel and arm, ledger
transactions, notifications, side effects) or raises `Refused`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from orderguard.domain import ledger, shipping
from orderguard.domain.machine import Actor, Machine, Refusal, Refused, T
from orderguard.domain.money import Money
from orderguard.domain.policy import Policy

B, S, A, SYS = Actor.BUYER, Actor.SELLER, Actor.ADMIN, Actor.SYSTEM

ORDER = Machine(
    "order",
    (
        T("awaiting_payment", "payment_captured", "awaiting_shipment", B, "R3.5"),
        T("awaiting_payment", "transfer_started", "payment_pending", B, "R3.5"),
        T("awaiting_payment", "buyer_cancelled", "cancelled", B, "R3.4"),
        T("awaiting_payment", "pay_by_passed", "cancelled", SYS, "R3.3"),
        T("payment_pending", "transfer_credited", "awaiting_shipment", SYS, "R3.5"),
        T("payment_pending", "transfer_failed", "awaiting_payment", SYS, "R3.5"),
        T("payment_pending", "transfer_failed_after_pay_by", "cancelled", SYS, "R3.5"),
        T("awaiting_shipment", "shipped_partly", "partly_shipped", S, "R6.1"),
        T("awaiting_shipment", "shipped_fully", "shipped", S, "R6.1"),
        T("partly_shipped", "shipped_partly", "partly_shipped", S, "R6.1"),
        T("partly_shipped", "shipped_fully", "shipped", S, "R6.1"),
        T("shipped", "all_delivered", "delivered", SYS, "R6.4"),
        T("shipped", "protection_reminder", "shipped", SYS, "R8.5"),
        T("shipped", "receipt_confirmed", "completed", B, "R6.4"),
        T("shipped", "protection_ended", "completed", SYS, "R6.4"),
        T("delivered", "protection_reminder", "delivered", SYS, "R8.5"),
        T("delivered", "receipt_confirmed", "completed", B, "R6.4"),
        T("delivered", "protection_ended", "completed", SYS, "R6.4"),
        T("completed", "dispute_window_ended", "closed", SYS, "R6.5"),
    ),
    terminal=frozenset({"cancelled", "closed"}),
    state_deadlines={
        "awaiting_payment": ("pay_by",),
        "shipped": ("protection_end", "protection_reminder"),
        "delivered": ("protection_end", "protection_reminder"),
        "completed": ("dispute_window_end",),
    },
)

UNPAID_STATES = frozenset({"awaiting_payment", "payment_pending"})


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    line1: str
    city: str
    postal_code: str
    country: str
    line2: str = ""


@dataclass(frozen=True, slots=True)
class Line:
    id: str
    offer_id: str
    product_id: str
    title: str
    unit_price: int
    quantity: int
    shipping_price: int
    carrier: str
    promised_days: int

    @property
    def items_total(self) -> int:
        return self.unit_price * self.quantity


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    buyer_id: str
    store_id: str
    state: str
    currency: str
    lines: tuple[Line, ...]
    address: Address
    policy_key: str
    placed_at: datetime
    pay_by_at: datetime
    paid_at: datetime | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    protection_ends_at: datetime | None = None
    completed_at: datetime | None = None
    dispute_window_ends_at: datetime | None = None
    closed_at: datetime | None = None
    cancelled_at: datetime | None = None

    @property
    def items_total(self) -> int:
        return sum(line.items_total for line in self.lines)

    @property
    def shipping_total(self) -> int:
        return sum(line.shipping_price for line in self.lines)

    @property
    def total(self) -> Money:
        return Money(self.items_total + self.shipping_total, self.currency)

    @property
    def promised_days(self) -> int:
        return max(line.promised_days for line in self.lines)


@dataclass(frozen=True, slots=True)
class Event:
    kind: str
    actor: Actor
    actor_id: str | None
    rule: str
    at: datetime
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Notification:
    recipient: str  # "buyer" | "seller": resolved to accounts by app/
    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class ArmDeadline:
    kind: str
    due_at: datetime


@dataclass
class Decision:
    order: Order
    events: list[Event] = field(default_factory=list)
    cancel: list[str] = field(default_factory=list)  # deadline kinds on this order
    arm: list[ArmDeadline] = field(default_factory=list)
    ledger: list[ledger.LedgerTransaction] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    restock: bool = False  # the order's reserved stock goes back to its offers
    leave_cart: bool = False  # the order's goods leave the buyer's cart

    @property
    def changed(self) -> bool:
        return bool(self.events)

    def then(self, later: Decision) -> Decision:
        """This decision followed by `later` on the same order, as one set of changes."""
        return Decision(
            later.order,
            events=self.events + later.events,
            cancel=self.cancel + later.cancel,
            arm=[a for a in self.arm if a.kind not in later.cancel] + later.arm,
            ledger=self.ledger + later.ledger,
            notifications=self.notifications + later.notifications,
            restock=self.restock or later.restock,
            leave_cart=self.leave_cart or later.leave_cart,
        )


# --- deadlines tied to states -------------------------------------------------


def due_at(kind: str, order: Order, policy: Policy) -> datetime | None:
    """When a state deadline of `order` falls due (None: not armed for this order)."""
    if kind == "pay_by":
        return order.pay_by_at
    if kind == "protection_end":
        return order.protection_ends_at
    if kind == "protection_reminder":
        if order.protection_ends_at is None:
            return None
        return order.protection_ends_at - timedelta(days=policy.shipping.protection_reminder_days)
    if kind == "dispute_window_end":
        return order.dispute_window_ends_at
    raise KeyError(kind)


def transition(
    order: Order,
    event: str,
    by: Actor,
    actor_id: str | None,
    now: datetime,
    policy: Policy,
    data: dict[str, Any] | None = None,
    **changes: Any,
) -> Decision:
    """Take `event` through the table, apply field `changes`, and re-arm state deadlines."""
    t = ORDER.step(order.state, event, by)
    after = replace(order, state=t.target, **changes)
    decision = Decision(after, events=[Event(event, by, actor_id, t.rule, now, data or {})])
    cancel, arm = ORDER.deadline_changes(order.state, after.state)
    decision.cancel.extend(cancel)
    for kind in arm:
        due = due_at(kind, after, policy)
        if due is not None and (kind != "protection_reminder" or due > now):
            decision.arm.append(ArmDeadline(kind, due))
    return decision


# --- commands ---------------------------------------------------------------


def place(order: Order, now: datetime) -> Decision:
    """A new order, awaiting payment until its pay-by time (R3.2, R3.3)."""
    if order.state != ORDER.initial:
        raise ValueError(f"orders are placed {ORDER.initial}")
    return Decision(
        order,
        events=[Event("placed", B, order.buyer_id, "R3.2", now, {"pay_by_at": order.pay_by_at.isoformat()})],
        arm=[ArmDeadline("pay_by", order.pay_by_at)],
    )


def pay_captured(order: Order, buyer_id: str, method: str, now: datetime, policy: Policy) -> Decision:
    """Card or e-wallet: the money is captured at once into the order's escrow (R3.5, R9.2)."""
    _must_be_buyer(order, buyer_id)
    _refuse_unless_payable(order)
    d = transition(order, "payment_captured", B, buyer_id, now, policy, {"method": method}, paid_at=now)
    d.ledger.append(ledger.capture(order.id, order.total.minor, order.currency))
    d.leave_cart = True
    d.notifications.append(Notification("seller", "order_paid", f"Order {order.id} is paid: ship it."))
    return d


def transfer_started(order: Order, buyer_id: str, now: datetime, policy: Policy) -> Decision:
    """A bank transfer is pending: the order can be neither cancelled nor expired (R3.5)."""
    _must_be_buyer(order, buyer_id)
    _refuse_unless_payable(order)
    return transition(order, "transfer_started", B, buyer_id, now, policy, {"method": "bank_transfer"})


def transfer_credited(order: Order, now: datetime, policy: Policy) -> Decision:
    d = transition(order, "transfer_credited", SYS, None, now, policy, paid_at=now)
    d.ledger.append(ledger.capture(order.id, order.total.minor, order.currency))
    d.leave_cart = True
    d.notifications.append(Notification("seller", "order_paid", f"Order {order.id} is paid: ship it."))
    return d


def transfer_failed(order: Order, reason: str, now: datetime, policy: Policy) -> Decision:
    """Back to awaiting payment, or cancelled when pay-by has passed meanwhile (R3.5)."""
    if now >= order.pay_by_at:
        d = transition(
            order,
            "transfer_failed_after_pay_by",
            SYS,
            None,
            now,
            policy,
            {"reason": reason},
            cancelled_at=now,
        )
        d.restock = d.leave_cart = True
        d.notifications.append(
            Notification(
                "buyer",
                "order_expired",
                f"The bank transfer for order {order.id} failed ({reason}) after its pay-by time: "
                "the order is cancelled; no penalty.",
            )
        )
        return d
    d = transition(order, "transfer_failed", SYS, None, now, policy, {"reason": reason})
    d.notifications.append(
        Notification(
            "buyer",
            "payment_failed",
            f"The bank transfer for order {order.id} failed ({reason}); "
            f"pay by {order.pay_by_at:%Y-%m-%d %H:%M} UTC.",
        )
    )
    return d


def buyer_cancel(order: Order, buyer_id: str, now: datetime, policy: Policy) -> Decision:
    """The buyer cancels an unpaid order, without sanctions (R3.4)."""
    _must_be_buyer(order, buyer_id)
    if order.state != "awaiting_payment":
        raise Refused(_why_not_cancel(order.state))
    d = transition(order, "buyer_cancelled", B, buyer_id, now, policy, cancelled_at=now)
    d.restock = d.leave_cart = True
    return d


def pay_by_passed(order: Order, now: datetime, policy: Policy) -> Decision:
    """R3.3: unpaid at pay-by, the order is cancelled and its goods leave the cart."""
    d = transition(order, "pay_by_passed", SYS, None, now, policy, cancelled_at=now)
    d.restock = d.leave_cart = True
    d.notifications.append(
        Notification(
            "buyer",
            "order_expired",
            f"Order {order.id} was not paid in time and is cancelled; no penalty.",
        )
    )
    return d


# --- what a caller may do now ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    available: bool
    code: str | None = None
    reason: str | None = None


# action name -> (event it takes, who may do it)
ACTIONS: dict[str, tuple[str, Actor]] = {
    "pay": ("payment_captured", B),
    "cancel": ("buyer_cancelled", B),
    "ship": ("shipped_fully", S),
    "confirm_receipt": ("receipt_confirmed", B),
}


def actions_for(order: Order, role: Actor) -> list[Action]:
    out: list[Action] = []
    for name, (event, who) in ACTIONS.items():
        if who is not role:
            continue
        if ORDER.find(order.state, event) is not None:
            out.append(Action(name, True))
        else:
            refusal = why_not(name, order.state)
            out.append(Action(name, False, refusal.code, refusal.detail))
    return out


def why_not(action: str, state: str) -> Refusal:
    if action == "cancel":
        return _why_not_cancel(state)
    if action == "pay":
        return _why_not_pay(state)
    if action == "ship":
        return _why_not_ship(state)
    if action == "confirm_receipt":
        return _why_not_confirm(state)
    return Refusal(f"{action}_not_allowed", f"cannot {action} an order that is {state}")


def _why_not_cancel(state: str) -> Refusal:
    if state == "payment_pending":
        return Refusal(
            "payment_pending",
            "A bank transfer is pending: the order can be cancelled once the funds are "
            "credited (as a cancellation request) or the transfer fails (R3.5).",
        )
    if state == "awaiting_shipment":
        return Refusal(
            "order_paid",
            "The order is paid: ask the seller with a cancellation request instead (R4.1).",
        )
    if state in {"partly_shipped", "shipped", "delivered", "completed", "closed"}:
        return Refusal(
            "order_shipped",
            "After shipment neither buyer nor seller can cancel; open a dispute if something "
            "is wrong (R6.3).",
        )
    return Refusal("order_not_cancellable", f"An order that is {state} cannot be cancelled.")


def _why_not_pay(state: str) -> Refusal:
    if state == "payment_pending":
        return Refusal("payment_pending", "A bank transfer for this order is already pending.")
    if state == "cancelled":
        return Refusal("order_cancelled", "The order is cancelled and cannot be paid.")
    return Refusal("order_already_paid", "The order is already paid.")


def _why_not_ship(state: str) -> Refusal:
    if state in UNPAID_STATES:
        return Refusal("order_not_paid", "The order is not paid yet; do not ship it.")
    if state == "cancelled":
        return Refusal("order_cancelled", "The order is cancelled.")
    return Refusal("order_fully_shipped", "Every line of the order has been shipped.")


def _why_not_confirm(state: str) -> Refusal:
    if state in {"completed", "closed"}:
        return Refusal("order_completed", "Receipt is already confirmed or protection has ended.")
    return Refusal(
        "order_not_shipped", "Receipt can be confirmed only once the whole order has been shipped."
    )


def _refuse_unless_payable(order: Order) -> None:
    if order.state != "awaiting_payment":
        raise Refused(_why_not_pay(order.state))


def _must_be_buyer(order: Order, buyer_id: str) -> None:
    if order.buyer_id != buyer_id:
        raise Refused(Refusal("order_not_found", "no such order", 404))


# --- after shipment ---------------------------------------------------------------


def protection_reminder(order: Order, now: datetime, policy: Policy) -> Decision:
    """R8.5: tell the buyer protection ends soon and what to do before it does."""
    d = transition(order, "protection_reminder", SYS, None, now, policy)
    ends = order.protection_ends_at
    assert ends is not None
    d.notifications.append(
        Notification(
            "buyer",
            "protection_ending",
            f"Buyer protection for order {order.id} ends {ends:%Y-%m-%d %H:%M} UTC: confirm receipt "
            "if all is well, or open a dispute before then.",
        )
    )
    return d


def _complete(
    order: Order, event: str, by: Actor, actor_id: str | None, now: datetime, policy: Policy
) -> Decision:
    window_ends = now + timedelta(days=policy.shipping.post_completion_dispute_days)
    d = transition(
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
    d.notifications.append(
        Notification(
            "seller",
            "order_completed",
            f"Order {order.id} is completed; the payout follows on {window_ends:%Y-%m-%d} "
            "unless a dispute is opened.",
        )
    )
    return d


def confirm_receipt(order: Order, buyer_id: str, now: datetime, policy: Policy) -> Decision:
    """R6.4: the buyer confirms receipt; the order is completed."""
    _must_be_buyer(order, buyer_id)
    if ORDER.find(order.state, "receipt_confirmed") is None:
        raise Refused(_why_not_confirm(order.state))
    return _complete(order, "receipt_confirmed", B, buyer_id, now, policy)


def protection_ended(order: Order, now: datetime, policy: Policy) -> Decision:
    """R6.4: protection ran out with neither confirmation nor dispute; the order completes."""
    return _complete(order, "protection_ended", SYS, None, now, policy)


def dispute_window_ended(order: Order, escrow_balance: int, now: datetime, policy: Policy) -> Decision:
    """R6.5: the order closes; its escrow goes to the seller less the platform commission."""
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
    d.notifications.append(
        Notification(
            "seller",
            "payout_released",
            f"Order {order.id} closed: {Money(escrow_balance - commission, order.currency).format()} "
            "is now in your payable balance.",
        )
    )
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
) -> Decision:
    """R6.1: the seller ships some or all lines; protection starts once everything is shipped.

    Protection ends at the last shipment + the order's promised delivery days
    (the longest of its lines' options), capped by the policy (R6.4).
    """
    if ORDER.find(order.state, "shipped_fully") is None:
        raise Refused(_why_not_ship(order.state))
    ordered = {line.id: line.quantity for line in order.lines}
    shipping.check_shipment_lines(wanted, ordered, shipped_before)
    after = {k: shipped_before.get(k, 0) + wanted.get(k, 0) for k in ordered}
    if not shipping.fully_shipped(ordered, after):
        d = transition(order, "shipped_partly", S, seller_id, now, policy, data)
        d.notifications.append(_parcel_shipped(order, data))
        return d
    days = min(order.promised_days, policy.shipping.max_protection_days)
    ends = now + timedelta(days=days)
    d = transition(
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
    d.notifications.append(_parcel_shipped(order, data))
    return d


def _parcel_shipped(order: Order, data: dict[str, Any]) -> Notification:
    return Notification(
        "buyer",
        "shipped",
        f"Order {order.id}: a parcel was shipped with {data.get('carrier')}, "
        f"tracking code {data.get('tracking_code')}.",
    )


def all_delivered(order: Order, delivered_at: datetime, now: datetime, policy: Policy) -> Decision:
    """R6.4: every parcel is delivered; protection ends 5 days after delivery if that is sooner.

    A delivery reported late never ends protection before the report itself.
    """
    after_delivery = delivered_at + timedelta(days=policy.shipping.after_delivery_protection_days)
    current = order.protection_ends_at or after_delivery
    ends = max(now, min(current, after_delivery))
    d = transition(
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
    d.notifications.append(
        Notification(
            "buyer",
            "delivered",
            f"Order {order.id} is delivered. Check it: confirm receipt if all is well, or open a dispute "
            f"before {ends:%Y-%m-%d %H:%M} UTC. Do not confirm receipt of a faulty item.",
        )
    )
    return d
