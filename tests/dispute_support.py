"""Shipped orders and disputes through the public API, for the dispute scenarios (R7.x)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from tests import samples
from tests.scenarios.test_r6_fulfilment import paid_order, ship
from tests.support import Api, Listing, Who, s10

_serials = itertools.count(20_000_000)

# files that `domain/files.py` recognises from their content
JPEG, PNG, MP4, PDF = samples.jpeg(), samples.png(), samples.mp4(), samples.pdf()


@dataclass
class Case:
    """A shipped order of one buyer and one store, its parties, and an administrator."""

    api: Api
    buyer: Who
    listing: Listing
    order: dict[str, Any]
    admin: Who
    code: str

    @property
    def seller(self) -> Who:
        return self.listing.seller

    @property
    def line_id(self) -> str:
        return str(self.order["lines"][0]["id"])

    def open(self, expect: int = 201, **body: Any) -> dict[str, Any]:
        payload = {
            "reason": "not_as_described",
            "wanted": "full_refund",
            "description": "It is blue, not red.",
        }
        payload.update(body)
        r = self.api.post(f"/v1/orders/{self.order['id']}/disputes", self.buyer, payload, expect=expect)
        return dict(r.json())

    def dispute(self, dispute_id: str, who: Who | None = None) -> dict[str, Any]:
        return dict(self.api.get(f"/v1/disputes/{dispute_id}", who or self.buyer).json())

    def propose(self, dispute_id: str, who: Who, expect: int = 201, **body: Any) -> dict[str, Any]:
        return dict(self.api.post(f"/v1/disputes/{dispute_id}/proposals", who, body, expect=expect).json())

    def answer(self, proposal_id: str, who: Who, accept: bool = True, expect: int = 200) -> dict[str, Any]:
        verb = "accept" if accept else "reject"
        return dict(self.api.post(f"/v1/proposals/{proposal_id}/{verb}", who, expect=expect).json())

    def escalate(self, dispute_id: str, who: Who, expect: int = 200) -> dict[str, Any]:
        return dict(self.api.post(f"/v1/disputes/{dispute_id}/escalate", who, expect=expect).json())

    def rule(self, dispute_id: str, expect: int = 200, who: Who | None = None, **body: Any) -> dict[str, Any]:
        payload = {"rationale": "Photos show the difference.", **body}
        r = self.api.post(f"/v1/disputes/{dispute_id}/verdict", who or self.admin, payload, expect=expect)
        return dict(r.json())

    def order_now(self, who: Who | None = None) -> dict[str, Any]:
        return self.api.order(self.order["id"], who or self.buyer)

    def money(self) -> dict[str, Any]:
        return dict(self.order_now()["money"])

    def refunds(self) -> list[dict[str, Any]]:
        return list(self.api.get(f"/v1/orders/{self.order['id']}/refunds", self.buyer).json()["refunds"])


def new_code() -> str:
    return s10(str(next(_serials)))


def shipped(api: Api, quantity: int = 2, price: int = 10_00, promised_days: int = 20) -> Case:
    """A paid order of `quantity` items at `price` (shipping 2.00), shipped in one parcel."""
    buyer, listing, order = paid_order(api, quantity=quantity, price=price, promised_days=promised_days)
    code = new_code()
    ship(api, listing, order["id"], code)
    return Case(api, buyer, listing, api.order(order["id"], buyer), api.account("admin", "Ada"), code)


def latest_open(dispute: dict[str, Any], author: str) -> dict[str, Any]:
    return next(
        p for p in reversed(dispute["proposals"]) if p["author_role"] == author and p["status"] == "open"
    )


def shipped_two_lines(api: Api) -> Case:
    """A shipped order of two lines from one store: 1 x 10.00 and 1 x 30.00, each with 2.00 shipping."""
    buyer = api.buyer()
    listing = api.listing(price=10_00)
    product = api.post("/v1/products", listing.seller, {"title": "Charger"}, expect=201).json()["id"]
    offer = api.post(
        "/v1/offers",
        listing.seller,
        {
            "store_id": listing.store_id,
            "product_id": product,
            "price": 30_00,
            "currency": "USD",
            "stock": 10,
            "handling_days": 3,
            "shipping_options": [{"carrier": "postal", "price": 2_00, "promised_days": 20}],
        },
        expect=201,
    ).json()
    api.add(buyer, listing)
    api.post(
        "/v1/cart/items",
        buyer,
        {"offer_id": offer["id"], "quantity": 1},
        expect=201,
    )
    (order,) = api.checkout(buyer)
    api.pay(buyer, order["id"])
    code = new_code()
    ship(api, listing, order["id"], code)
    return Case(api, buyer, listing, api.order(order["id"], buyer), api.account("admin", "Ada"), code)
