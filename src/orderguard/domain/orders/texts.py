"""What each party is told when an order event happens (R8.5): one table, read by `notices`.

A text may name the order's fields (`{order.id}`, `{order.pay_by_at:%Y-%m-%d %H:%M}`), the event's
data (`{data[carrier]}`) and amounts of the event data as money (`{money[released]}`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orderguard.domain.decision import Event, Notification
from orderguard.domain.frozen import constructor
from orderguard.domain.money import Money
from orderguard.domain.orders.model import Order

_PAID = ("seller", "order_paid", "Order {order.id} is paid: ship it.")
_SHIPPED = (
    "buyer",
    "shipped",
    "Order {order.id}: a parcel was shipped with {data[carrier]}, tracking code {data[tracking_code]}.",
)
_COMPLETED = (
    "seller",
    "order_completed",
    "Order {order.id} is completed; the payout follows on {order.dispute_window_ends_at:%Y-%m-%d} "
    "unless a dispute is opened.",
)

# event kind -> (recipient, notification kind, text) for each party told
TEXTS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "payment_captured": (_PAID,),
    "payment_failed": (
        (
            "buyer",
            "payment_failed",
            "The payment for order {order.id} failed ({data[reason]}); "
            "pay by {order.pay_by_at:%Y-%m-%d %H:%M} UTC.",
        ),
    ),
    "payment_failed_after_pay_by": (
        (
            "buyer",
            "order_expired",
            "The payment for order {order.id} failed ({data[reason]}) after its pay-by time: "
            "the order is cancelled; no penalty.",
        ),
    ),
    "pay_by_passed": (
        ("buyer", "order_expired", "Order {order.id} was not paid in time and is cancelled; no penalty."),
    ),
    "shipped_partly": (_SHIPPED,),
    "shipped_fully": (_SHIPPED,),
    "all_delivered": (
        (
            "buyer",
            "delivered",
            "Order {order.id} is delivered. Check it: confirm receipt if all is well, or open a dispute "
            "before {order.protection_ends_at:%Y-%m-%d %H:%M} UTC. Do not confirm receipt of a faulty item.",
        ),
    ),
    "protection_reminder": (
        (
            "buyer",
            "protection_ending",
            "Buyer protection for order {order.id} ends {order.protection_ends_at:%Y-%m-%d %H:%M} UTC: "
            "confirm receipt if all is well, or open a dispute before then.",
        ),
    ),
    "receipt_confirmed": (_COMPLETED,),
    "protection_ended": (_COMPLETED,),
    "ship_by_missed": (
        (
            "buyer",
            "ship_by_missed",
            "The seller did not ship order {order.id} in time: what was not shipped is cancelled and "
            "{money[refund]} is refunded to your original payment method.",
        ),
        (
            "seller",
            "ship_by_missed",
            "You missed the ship-by time of order {order.id}: what was not shipped is cancelled and "
            "refunded to the buyer, and your store is fined {money[fine]}.",
        ),
    ),
    "unshipped_cancelled": (
        (
            "buyer",
            "protection_started",
            "Order {order.id}: everything left in it has been shipped; buyer protection runs until "
            "{order.protection_ends_at:%Y-%m-%d %H:%M} UTC.",
        ),
    ),
    "dispute_window_ended": (
        (
            "seller",
            "payout_released",
            "Order {order.id} closed: {money[released]} is now in your payable balance.",
        ),
    ),
    # R6.6: the parcels' own notices say what goes back and what is refunded (domain/unclaimed.py)
    "protection_extended": (
        (
            "buyer",
            "protection_extended",
            "A parcel of order {order.id} is still waiting for you at the pickup point, so buyer "
            "protection runs until {order.protection_ends_at:%Y-%m-%d %H:%M} UTC: collect it before its "
            "storage ends on {data[storage_ends_at]:.10}.",
        ),
    ),
    "dispute_window_extended": (
        (
            "buyer",
            "parcel_waiting",
            "A parcel of order {order.id} is still waiting for you at the pickup point: collect it before "
            "its storage ends on {data[storage_ends_at]:.10}, or it goes back to the seller and you are "
            "refunded once it is back.",
        ),
        (
            "seller",
            "payout_postponed",
            "A parcel of order {order.id} is still waiting at the pickup point: the order closes, and is "
            "paid out, no sooner than {order.dispute_window_ends_at:%Y-%m-%d}.",
        ),
    ),
    "parcels_returned": (
        (
            "seller",
            "payout_released",
            "Order {order.id} has ended: every parcel came back to you and the buyer was refunded; "
            "{money[released]} is now in your payable balance.",
        ),
    ),
    "protection_resumed": (
        (
            "buyer",
            "protection_resumed",
            "Order {order.id}: the parcel that went back is with the seller again and refunded. Buyer "
            "protection resumes for the rest: confirm receipt if all is well, or open a dispute before "
            "{order.protection_ends_at:%Y-%m-%d %H:%M} UTC.",
        ),
    ),
    "completion_resumed": (_COMPLETED,),
}


class _Amounts(Mapping[str, str]):
    """The event's amounts, formatted as money in the order's currency."""

    def __init__(self, data: Mapping[str, Any], currency: str) -> None:
        self._data = data
        self._currency = currency

    def __getitem__(self, key: str) -> str:
        return Money(int(self._data[key]), self._currency).format()

    def __iter__(self) -> Any:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def notices(order: Order, event: Event) -> list[Notification]:
    """The notifications `event` sends about `order` (already in its new state)."""
    told = TEXTS.get(event.kind)
    if told is None:
        return []
    money = _Amounts(event.data, order.currency)
    return [
        _notification(recipient, kind, text.format(order=order, data=event.data, money=money))
        for recipient, kind, text in told
    ]


_notification = constructor(Notification)  # one a firing in a due storm
