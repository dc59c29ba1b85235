"""Request bodies. Shapes are checked here; rules (stock, currencies, states) in domain/."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from orderguard.domain.countries import is_country
from orderguard.domain.money import MAX_MINOR

Minor = Annotated[int, Field(ge=0, le=MAX_MINOR, description="amount in minor units (cents)")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
BigInt = Annotated[int, Field(ge=-MAX_MINOR, le=MAX_MINOR)]


def _country(code: str) -> str:
    if not is_country(code):
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    return code


Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$"), AfterValidator(_country)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AccountIn(Body):
    role: Literal["buyer", "seller", "admin"]
    name: Text
    email: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320)] | None = (
        None
    )


class StoreIn(Body):
    name: Text


class ProductIn(Body):
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    description: Annotated[str, StringConstraints(max_length=5000)] = ""


class ShippingOptionIn(Body):
    carrier: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{2,40}$")]
    price: Minor
    promised_days: Annotated[int, Field(ge=1, le=365)]


class OfferIn(Body):
    store_id: str
    product_id: str
    price: Annotated[int, Field(ge=1, le=MAX_MINOR)]
    currency: Currency
    stock: Annotated[int, Field(ge=0, le=10_000_000)]
    handling_days: Annotated[int, Field(ge=0, le=60)]
    shipping_options: Annotated[list[ShippingOptionIn], Field(min_length=1, max_length=10)]


class CartItemIn(Body):
    offer_id: str
    quantity: Annotated[int, Field(ge=1, le=MAX_MINOR, description="units to add, at least 1")] = 1
    shipping_option_id: str | None = None


class CartItemPatch(Body):
    quantity: Annotated[int, Field(ge=1, le=MAX_MINOR, description="the line's new, lower quantity")]


class AddressIn(Body):
    name: Text
    line1: Text
    line2: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    city: Text
    postal_code: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9 \-]{2,12}$")]
    country: Country


class CheckoutIn(Body):
    shipping_address: AddressIn


class PaymentIn(Body):
    method: Annotated[str, StringConstraints(max_length=40)]


class TransferFailIn(Body):
    reason: Annotated[str, StringConstraints(max_length=200)] = "the bank rejected the transfer"


class ClockAdvanceIn(Body):
    days: Annotated[float, Field(ge=0, le=3650)] = 0
    hours: Annotated[float, Field(ge=0, le=87600)] = 0
    minutes: Annotated[float, Field(ge=0, le=5_256_000)] = 0


class ShipmentLineIn(Body):
    line_id: str
    quantity: BigInt


class ShipmentIn(Body):
    carrier: Annotated[str, StringConstraints(max_length=40)]
    tracking_code: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    lines: Annotated[list[ShipmentLineIn], Field(min_length=1, max_length=200)] | None = None


class PlaceIn(Body):
    country: Country
    city: Annotated[str, StringConstraints(max_length=100)] = ""
    postal_code: Annotated[str, StringConstraints(max_length=20)] = ""


class ScanIn(Body):
    tracking_code: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    kind: Annotated[str, StringConstraints(max_length=32)]
    occurred_at: AwareDatetime
    place: PlaceIn


class CarrierScansIn(Body):
    scans: Annotated[list[ScanIn], Field(min_length=1, max_length=100)]


class SandboxScanIn(Body):
    kind: Annotated[str, StringConstraints(max_length=32)]
    occurred_at: AwareDatetime | None = None
    place: PlaceIn | None = None
