"""The order lifecycle: its states, its transitions, and the timers on them (§3, §6)."""

from __future__ import annotations

from enum import StrEnum

from orderguard.domain.machine import Actor, Due, Machine, T, Timer

B, S, SYS = Actor.BUYER, Actor.SELLER, Actor.SYSTEM


class OrderState(StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    PAYMENT_PENDING = "payment_pending"
    AWAITING_SHIPMENT = "awaiting_shipment"
    PARTLY_SHIPPED = "partly_shipped"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    DISPUTED = "disputed"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    RETURNING = "returning"  # a parcel is on its way back to the seller: protection is suspended (R6.6)
    RETURNED = "returned"  # every parcel came back: the buyer refunded, the rest paid out (R6.6)


class OrderDeadline(StrEnum):
    PAY_BY = "pay_by"
    PROTECTION_REMINDER = "protection_reminder"
    PROTECTION_END = "protection_end"
    DISPUTE_WINDOW_END = "dispute_window_end"
    SHIP_BY = "ship_by"


PAY_BY = Timer(
    OrderDeadline.PAY_BY,
    Due("pay_by_at", "{checkout.unpaid_expiry_days} days after the last cart addition"),
    B,
    "pay the order",
    "the unpaid order is cancelled and its goods leave the cart; the buyer is not penalised",
)
PROTECTION_REMINDER = Timer(
    OrderDeadline.PROTECTION_REMINDER,
    Due("protection_ends_at", "buyer protection ends", "shipping.protection_reminder_days", before=True),
    B,
    "confirm receipt or open a dispute",
    "the buyer is reminded that buyer protection ends soon",
    only_ahead=True,
)
PROTECTION_END = Timer(
    OrderDeadline.PROTECTION_END,
    Due(
        "protection_ends_at",
        "the promised delivery days after shipment (at most {shipping.max_protection_days}), or "
        "{shipping.after_delivery_protection_days} days after delivery if sooner; while a parcel waits "
        "at a pickup point, no sooner than {shipping.after_delivery_protection_days} days after its "
        "storage ends",
    ),
    B,
    "confirm receipt or open a dispute",
    "buyer protection ends and the order completes by itself",
)
DISPUTE_WINDOW_END = Timer(
    OrderDeadline.DISPUTE_WINDOW_END,
    Due("completed_at", "completion", "shipping.post_completion_dispute_days"),
    B,
    "open a dispute if something is wrong",
    "the order closes: no dispute can be opened any more and the escrow is released "
    "to the seller, less the platform commission",
)

SHIP_BY = Timer(
    OrderDeadline.SHIP_BY,
    Due("ship_by_at", "payment plus the offer's handling days"),
    S,
    "ship every paid quantity",
    "the seller loses the order: the unshipped quantities are cancelled, the buyer is refunded them "
    "in full, shipping included, and the seller is fined a share of their value (10 % by default)",
)

ORDER = Machine(
    "order",
    (
        T(OrderState.AWAITING_PAYMENT, "payment_started", OrderState.PAYMENT_PENDING, B, "R3.5"),
        T(OrderState.AWAITING_PAYMENT, "buyer_cancelled", OrderState.CANCELLED, B, "R3.4"),
        T(OrderState.AWAITING_PAYMENT, "pay_by_passed", OrderState.CANCELLED, SYS, "R3.3", PAY_BY),
        T(OrderState.PAYMENT_PENDING, "payment_captured", OrderState.AWAITING_SHIPMENT, SYS, "R3.5"),
        T(OrderState.PAYMENT_PENDING, "payment_failed", OrderState.AWAITING_PAYMENT, SYS, "R3.5"),
        T(OrderState.PAYMENT_PENDING, "payment_failed_after_pay_by", OrderState.CANCELLED, SYS, "R3.5"),
        T(OrderState.AWAITING_SHIPMENT, "shipped_partly", OrderState.PARTLY_SHIPPED, S, "R6.1"),
        # cancellations after payment (R4.3, R4.4): decided on the request, entailed on the order
        T(OrderState.AWAITING_SHIPMENT, "lines_cancelled", OrderState.AWAITING_SHIPMENT, SYS, "R4.3"),
        T(OrderState.AWAITING_SHIPMENT, "cancelled_after_payment", OrderState.CANCELLED, SYS, "R4.3"),
        T(OrderState.AWAITING_SHIPMENT, "ship_by_missed", OrderState.CANCELLED, SYS, "R4.8", SHIP_BY),
        T(OrderState.AWAITING_SHIPMENT, "shipped_fully", OrderState.SHIPPED, S, "R6.1"),
        T(OrderState.PARTLY_SHIPPED, "shipped_partly", OrderState.PARTLY_SHIPPED, S, "R6.1"),
        T(OrderState.PARTLY_SHIPPED, "shipped_fully", OrderState.SHIPPED, S, "R6.1"),
        T(OrderState.PARTLY_SHIPPED, "lines_cancelled", OrderState.PARTLY_SHIPPED, SYS, "R4.3"),
        T(OrderState.PARTLY_SHIPPED, "unshipped_cancelled", OrderState.SHIPPED, SYS, "R4.3"),
        T(OrderState.PARTLY_SHIPPED, "ship_by_missed", OrderState.SHIPPED, SYS, "R4.8", SHIP_BY),
        T(OrderState.SHIPPED, "all_delivered", OrderState.DELIVERED, SYS, "R6.4"),
        T(OrderState.SHIPPED, "protection_reminder", OrderState.SHIPPED, SYS, "R8.5", PROTECTION_REMINDER),
        T(OrderState.SHIPPED, "receipt_confirmed", OrderState.COMPLETED, B, "R6.4"),
        T(OrderState.SHIPPED, "protection_ended", OrderState.COMPLETED, SYS, "R6.4", PROTECTION_END),
        T(
            OrderState.DELIVERED,
            "protection_reminder",
            OrderState.DELIVERED,
            SYS,
            "R8.5",
            PROTECTION_REMINDER,
        ),
        T(OrderState.DELIVERED, "receipt_confirmed", OrderState.COMPLETED, B, "R6.4"),
        T(OrderState.DELIVERED, "protection_ended", OrderState.COMPLETED, SYS, "R6.4", PROTECTION_END),
        T(OrderState.COMPLETED, "dispute_window_ended", OrderState.CLOSED, SYS, "R6.5", DISPUTE_WINDOW_END),
        # disputes (R7.1, R7.8): while one is open the order neither completes nor closes, so the
        # disputed money stays in escrow; when the last one ends it goes back to where it stood
        *(
            T(s, "dispute_opened", OrderState.DISPUTED, B, "R7.1")
            for s in (OrderState.SHIPPED, OrderState.DELIVERED, OrderState.COMPLETED, OrderState.DISPUTED)
        ),
        T(OrderState.DISPUTED, "all_delivered", OrderState.DISPUTED, SYS, "R6.4"),
        T(OrderState.DISPUTED, "disputes_ended_in_transit", OrderState.SHIPPED, SYS, "R7.8"),
        T(OrderState.DISPUTED, "disputes_ended_delivered", OrderState.DELIVERED, SYS, "R7.8"),
        T(OrderState.DISPUTED, "disputes_ended_completed", OrderState.COMPLETED, SYS, "R7.8"),
        # unclaimed and refused parcels (R6.6): a parcel on its way back suspends protection and the
        # payout until it is back; its lines are refunded then (domain/unclaimed.py)
        T(OrderState.SHIPPED, "protection_extended", OrderState.SHIPPED, SYS, "R6.6"),
        T(OrderState.COMPLETED, "dispute_window_extended", OrderState.COMPLETED, SYS, "R6.6"),
        T(OrderState.SHIPPED, "parcel_returning", OrderState.RETURNING, SYS, "R6.6"),
        T(OrderState.DELIVERED, "parcel_returning", OrderState.RETURNING, SYS, "R6.6"),
        T(OrderState.COMPLETED, "parcel_returning", OrderState.RETURNING, SYS, "R6.6"),
        T(OrderState.RETURNING, "parcels_returned", OrderState.RETURNED, SYS, "R6.6"),
        T(OrderState.RETURNING, "protection_resumed", OrderState.SHIPPED, SYS, "R6.6"),
        T(OrderState.RETURNING, "completion_resumed", OrderState.COMPLETED, SYS, "R6.6"),
    ),
    terminal=frozenset({OrderState.CANCELLED, OrderState.CLOSED, OrderState.RETURNED}),
)

UNPAID_STATES = frozenset({OrderState.AWAITING_PAYMENT, OrderState.PAYMENT_PENDING})
