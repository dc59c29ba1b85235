"""What the buyer is told at each step of a refund (R5.1, R8.5): one table, read by `notices`.

A text may name the refund's fields (`{r.id}`, `{r.expected_at:%Y-%m-%d}`), its amount as money
(`{amount}`) and its method in words (`{method}`). The seller hears of a refund through what
caused it (the cancellation, the dispute), not from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orderguard.domain.decision import Event, Notification
from orderguard.domain.money import Money

if TYPE_CHECKING:
    from orderguard.domain.refunds import Refund

METHODS = {"card": "card", "ewallet": "e-wallet", "bank_transfer": "bank account"}

# event kind -> (recipient, notification kind, text)
TEXTS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "granted": (
        (
            "buyer",
            "refund_granted",
            "A refund of {amount} for order {r.order_id} was granted (reason: {r.reason}). It goes back "
            "to your {method}, the way you paid, and should arrive by {r.expected_at:%Y-%m-%d}. "
            "Refund {r.id}; nothing to do.",
        ),
    ),
    "accepted": (
        (
            "buyer",
            "refund_accepted",
            "Your refund of {amount} for order {r.order_id} is on its way to your {method}: provider "
            "reference {r.provider_ref}, expected by {r.expected_at:%Y-%m-%d}.",
        ),
    ),
    "settled": (
        (
            "buyer",
            "refund_settled",
            "Your refund of {amount} for order {r.order_id} has been paid out to your {method}.",
        ),
    ),
    "declined": (
        (
            "buyer",
            "refund_delayed",
            "Your refund of {amount} for order {r.order_id} was not accepted by the payment provider "
            "({r.failure_reason}). It will be sent to your {method} again from "
            "{r.retry_at:%Y-%m-%d %H:%M} UTC and our staff have been told; nothing to do.",
        ),
    ),
    "failed": (
        (
            "buyer",
            "refund_delayed",
            "Your refund of {amount} for order {r.order_id} failed at the payment provider "
            "({r.failure_reason}). It will be sent to your {method} again from "
            "{r.retry_at:%Y-%m-%d %H:%M} UTC and our staff have been told; nothing to do.",
        ),
    ),
}


def notices(refund: Refund, event: Event) -> list[Notification]:
    """The notifications `event` sends about `refund` (already in its new state)."""
    amount = Money(refund.amount, refund.currency).format()
    method = METHODS.get(refund.method, refund.method)
    return [
        Notification(recipient, kind, text.format(r=refund, amount=amount, method=method))
        for recipient, kind, text in TEXTS.get(event.kind, ())
    ]
