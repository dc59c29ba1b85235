"""An order as the rules see it: its lines, address, money and the times of its lifecycle."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from orderguard.domain.money import Money


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
    handling_days: int = 0  # the offer's, when ordered: paid time + this is the ship-by time (R4.8)
    cancelled: int = 0  # of `quantity`, cancelled after payment (R4.3, R4.8)

    @property
    def active(self) -> int:
        """The quantity the order still holds: ordered less cancelled."""
        return self.quantity - self.cancelled

    @property
    def items_total(self) -> int:
        return self.unit_price * self.active

    @property
    def shipping_due(self) -> int:
        """The line's shipping, unless the whole line was cancelled (then it was refunded)."""
        return self.shipping_price if self.active > 0 else 0


@dataclass(frozen=True, slots=True)
class Order:
    lifecycle: ClassVar[str] = "order"

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
    ship_by_at: datetime | None = None  # set when paid: paid time + the lines' longest handling days

    @property
    def order_id(self) -> str:
        return self.id

    @property
    def items_total(self) -> int:
        """What the lines still held cost: cancelled quantities are left out (their money was refunded)."""
        return sum(line.items_total for line in self.lines)

    @property
    def shipping_total(self) -> int:
        return sum(line.shipping_due for line in self.lines)

    @property
    def total(self) -> Money:
        return self.totals()[2]

    def totals(self) -> tuple[int, int, Money]:
        """`items_total`, `shipping_total` and `total`, each sum taken once (a page shows all three)."""
        items, shipping = self.items_total, self.shipping_total
        return items, shipping, Money(items + shipping, self.currency)

    @property
    def promised_days(self) -> int:
        return max(line.promised_days for line in self.lines)

    @property
    def handling_days(self) -> int:
        return max(line.handling_days for line in self.lines)
