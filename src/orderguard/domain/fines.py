"""Fines charged to a store (R4.3, R4.8, later R7.5): a record and a ledger transaction.

A fine moves money from the store's payable balance to `platform:fines` at once, whatever that
balance holds: a payable balance may go negative, and is then settled against the store's next
payouts (the marketplace never asks a seller to pay in separately). A fine's id follows from its
cause, so one decision can never fine twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from orderguard.domain import ledger
from orderguard.domain.decision import Decision, Notification
from orderguard.domain.money import Money
from orderguard.ids import derived_id


@dataclass(frozen=True, slots=True)
class Fine:
    lifecycle: ClassVar[str] = "fine"

    id: str
    store_id: str
    order_id: str
    cause_type: str  # cancellation_request | missed_ship_by | dispute
    cause_id: str | None
    reason: str
    rule: str
    amount: int
    currency: str
    created_at: datetime
    state: str = "charged"


def rate(value: int, bps: int, currency: str, minimum: int = 0) -> int:
    """`bps` of `value`, rounded half up, at least `minimum`; nothing when nothing was at stake."""
    if value <= 0:
        return 0
    return max(Money(value, currency).bps(bps).minor, minimum)


def charge(
    store_id: str,
    order_id: str,
    cause_type: str,
    cause_id: str,
    reason: str,
    rule: str,
    amount: int,
    currency: str,
    now: datetime,
) -> Decision[Fine]:
    fine = Fine(
        derived_id("fin", cause_type, cause_id),
        store_id,
        order_id,
        cause_type,
        cause_id,
        reason,
        rule,
        amount,
        currency,
        now,
    )
    text = (
        f"Your store is fined {Money(amount, currency).format()} for order {order_id} ({reason}, {rule}); "
        "it is taken from your payable balance."
    )
    return Decision(
        fine,
        ledger=[ledger.fine(order_id, store_id, amount, currency)],
        notifications=[Notification("seller", "store_fined", text)],
        new=True,
    )
