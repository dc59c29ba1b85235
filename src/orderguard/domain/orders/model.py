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

    @property
    def items_total(self) -> int:
        return self.unit_price * self.quantity


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

    @property
    def order_id(self) -> str:
        return self.id

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
