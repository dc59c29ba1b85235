"""Orders: the model, the lifecycle table with its timers, the commands, actions and texts."""

from orderguard.domain.decision import AfterCommit, Decision, Event, Notification
from orderguard.domain.machine import ArmDeadline
from orderguard.domain.orders.actions import ACTIONS, Action, actions_for, why_not
from orderguard.domain.orders.commands import (
    LEAVE_CART,
    LINES_CHANGED,
    OrderDecision,
    all_delivered,
    buyer_cancel,
    cancel_lines,
    confirm_receipt,
    dispute_window_ended,
    pay_by_passed,
    payment_captured,
    payment_failed,
    payment_started,
    place,
    protection_ended,
    protection_reminder,
    ship,
    transition,
)
from orderguard.domain.orders.model import Address, Line, Order
from orderguard.domain.orders.table import ORDER, UNPAID_STATES, OrderDeadline, OrderState

__all__ = [
    "ACTIONS",
    "LEAVE_CART",
    "LINES_CHANGED",
    "ORDER",
    "UNPAID_STATES",
    "Action",
    "Address",
    "AfterCommit",
    "ArmDeadline",
    "Decision",
    "Event",
    "Line",
    "Notification",
    "Order",
    "OrderDeadline",
    "OrderDecision",
    "OrderState",
    "actions_for",
    "all_delivered",
    "buyer_cancel",
    "cancel_lines",
    "confirm_receipt",
    "dispute_window_ended",
    "pay_by_passed",
    "payment_captured",
    "payment_failed",
    "payment_started",
    "place",
    "protection_ended",
    "protection_reminder",
    "ship",
    "transition",
    "why_not",
]
