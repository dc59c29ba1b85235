"""R8.5 reminders and R9.1 money, driven through the public API with the virtual clock."""

from __future__ import annotations

from tests.support import Api, s10


def test_r8_5_buyer_is_reminded_3_days_before_protection_ends(api: Api) -> None:
    buyer = api.buyer()
    listing = api.listing(options=[{"carrier": "postal", "price": 0, "promised_days": 10}])
    order = api.place(buyer, listing)
    api.pay(buyer, order["id"])
    seller_kinds = [n["kind"] for n in api.get("/v1/notifications", listing.seller).json()["notifications"]]
    assert "order_paid" in seller_kinds  # the seller is told to ship
    api.post(
        f"/v1/orders/{order['id']}/shipments",
        listing.seller,
        {"carrier": "postal", "tracking_code": s10("51515151")},
        expect=201,
    )

    def reminders() -> list[dict[str, str]]:
        notes = api.get("/v1/notifications", buyer).json()["notifications"]
        return [n for n in notes if n["kind"] == "protection_ending"]

    api.advance(days=6, hours=23)
    assert reminders() == []
    api.advance(hours=2)  # 7 days after shipment: 3 days before protection ends
    (reminder,) = reminders()
    assert order["id"] in reminder["text"] and "open a dispute" in reminder["text"]
    api.advance(days=3)
    assert len(reminders()) == 1  # fired exactly once


def test_r9_1_amounts_are_integer_minor_units_in_one_currency_per_order(api: Api) -> None:
    seller = api.account("seller", "Sam")
    usd = api.listing(price=9_99, currency="USD", seller=seller)
    r = api.post(
        "/v1/offers",
        seller,
        {
            "store_id": usd.store_id,
            "product_id": api.post("/v1/products", seller, {"title": "Cable"}).json()["id"],
            "price": 9.99,
            "currency": "USD",
            "stock": 1,
            "handling_days": 1,
            "shipping_options": [{"carrier": "postal", "price": 0, "promised_days": 10}],
        },
        expect=422,
    )
    assert r.json()["code"] == "validation_error"  # a fraction of a cent is not money
    eur_product = api.post("/v1/products", seller, {"title": "Strap"}).json()["id"]
    eur = api.post(
        "/v1/offers",
        seller,
        {
            "store_id": usd.store_id,
            "product_id": eur_product,
            "price": 5_00,
            "currency": "EUR",
            "stock": 5,
            "handling_days": 1,
            "shipping_options": [{"carrier": "postal", "price": 0, "promised_days": 10}],
        },
        expect=201,
    ).json()
    buyer = api.buyer()
    api.add(buyer, usd)
    api.post("/v1/cart/items", buyer, {"offer_id": eur["id"]}, expect=201)
    assert api.checkout(buyer, expect=422) == []
    r = api.post(
        "/v1/checkout",
        buyer,
        {
            "shipping_address": {
                "name": "A",
                "line1": "1 St",
                "city": "Rome",
                "postal_code": "00100",
                "country": "IT",
            }
        },
    )
    assert r.json()["code"] == "mixed_currencies"
    assert api.get("/v1/orders", buyer).json()["orders"] == []
    items = api.get("/v1/cart", buyer).json()["items"]
    euro_item = next(i for i in items if i["offer_id"] == eur["id"])
    api.delete(f"/v1/cart/items/{euro_item['id']}", buyer)
    (order,) = api.checkout(buyer)
    assert order["currency"] == "USD" and isinstance(order["total"], int) and order["total"] == 9_99 + 2_00
