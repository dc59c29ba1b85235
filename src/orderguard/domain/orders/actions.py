"""What a caller may do with an order now, and for what they may not, why."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from orderguard.domain.machine import Actor, Refusal
from orderguard.domain.orders.model import Order
from orderguard.domain.orders.table import ORDER, UNPAID_STATES, OrderState

B, S = Actor.BUYER, Actor.SELLER


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    available: bool
    code: str | None = None
    reason: str | None = None
    until: datetime | None = None  # when the chance to do it ends (opening a dispute, R7.1)


# action name -> (event it takes, who may do it)
ACTIONS: dict[str, tuple[str, Actor]] = {
    "pay": ("payment_started", B),
    "cancel": ("buyer_cancelled", B),
    "ship": ("shipped_fully", S),
    "confirm_receipt": ("receipt_confirmed", B),
}


@functools.lru_cache(maxsize=1024)
def refused(name: str, refusal: Refusal, until: datetime | None = None) -> Action:
    """`name`, unavailable for `refusal`: one (frozen) instance for the many orders refused alike."""
    return Action(name, False, refusal.code, refusal.detail, until)


def actions_for(order: Order, role: Actor) -> list[Action]:
    return list(_actions_in(order.state, role))


@functools.lru_cache(maxsize=256)
def _actions_in(state: str, role: Actor) -> tuple[Action, ...]:
    """The actions depend on nothing but the state and the role (the table is fixed), and are
    frozen: built once for each pair, not for every order of a listing."""
    out: list[Action] = []
    for name, (event, who) in ACTIONS.items():
        if who is not role:
            continue
        if ORDER.find(state, event) is not None:
            out.append(Action(name, True))
        else:
            out.append(refused(name, why_not(name, state)))
    return tuple(out)


def why_not(action: str, state: str) -> Refusal:
    """Why `action` cannot be done on an order in `state` (a stable code and the rule to follow)."""
    if action == "cancel":
        return _why_not_cancel(state)
    if action == "pay":
        return _why_not_pay(state)
    if action == "ship":
        return _why_not_ship(state)
    if action == "confirm_receipt":
        return _why_not_confirm(state)
    return Refusal(f"{action}_not_allowed", f"cannot {action} an order that is {state}")


_SHIPPED_STATES = frozenset(
    {
        OrderState.PARTLY_SHIPPED,
        OrderState.SHIPPED,
        OrderState.DELIVERED,
        OrderState.COMPLETED,
        OrderState.DISPUTED,
        OrderState.CLOSED,
        OrderState.RETURNING,
        OrderState.RETURNED,
    }
)


def _why_not_cancel(state: str) -> Refusal:
    if state == OrderState.PAYMENT_PENDING:
        return Refusal(
            "payment_pending",
            "A payment is pending: the order can be cancelled once the funds are "
            "captured (as a cancellation request) or the payment fails (R3.5).",
        )
    if state == OrderState.AWAITING_SHIPMENT:
        return Refusal(
            "order_paid",
            "The order is paid: ask the seller with a cancellation request instead (R4.1).",
        )
    if state in _SHIPPED_STATES:
        return Refusal(
            "order_shipped",
            "After shipment neither buyer nor seller can cancel; open a dispute if something "
            "is wrong (R6.3).",
        )
    return Refusal("order_not_cancellable", f"An order that is {state} cannot be cancelled.")


def _why_not_pay(state: str) -> Refusal:
    if state == OrderState.PAYMENT_PENDING:
        return Refusal("payment_pending", "A payment for this order is already pending.")
    if state == OrderState.CANCELLED:
        return Refusal("order_cancelled", "The order is cancelled and cannot be paid.")
    return Refusal("order_already_paid", "The order is already paid.")


def _why_not_ship(state: str) -> Refusal:
    if state in UNPAID_STATES:
        return Refusal("order_not_paid", "The order is not paid yet; do not ship it.")
    if state == OrderState.CANCELLED:
        return Refusal("order_cancelled", "The order is cancelled.")
    return Refusal("order_fully_shipped", "Every line of the order has been shipped.")


def _why_not_confirm(state: str) -> Refusal:
    if state == OrderState.DISPUTED:
        return Refusal(
            "order_disputed", "The order is in dispute: it completes when the dispute ends (R7.8)."
        )
    if state in {OrderState.COMPLETED, OrderState.CLOSED}:
        return Refusal("order_completed", "Receipt is already confirmed or protection has ended.")
    if state == OrderState.RETURNING:
        return Refusal(
            "parcel_returning",
            "A parcel of the order is on its way back to the seller: its lines are refunded once it is "
            "back, and protection resumes then for what you received (R6.6).",
        )
    if state == OrderState.RETURNED:
        return Refusal(
            "order_returned", "Every parcel of the order went back to the seller and was refunded (R6.6)."
        )
    return Refusal(
        "order_not_shipped", "Receipt can be confirmed only once the whole order has been shipped."
    )
