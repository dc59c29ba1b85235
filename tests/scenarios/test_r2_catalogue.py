"""R2.x scenarios: one product from many stores, and the offer comparison."""

from __future__ import annotations

from tests.support import Api


def test_r2_1_one_product_is_sold_by_two_dozen_stores(api: Api) -> None:
    first = api.listing(price=5_00)
    for i in range(23):
        api.listing(price=5_00 + i, product_id=first.product_id)
    buyer = api.buyer()
    offers = api.get(f"/v1/products/{first.product_id}/offers", buyer).json()["offers"]
    assert len(offers) == 24 and len({o["store_id"] for o in offers}) == 24
    again = api.post(
        "/v1/offers",
        first.seller,
        {
            "store_id": first.store_id,
            "product_id": first.product_id,
            "price": 4_00,
            "currency": "USD",
            "stock": 1,
            "handling_days": 1,
            "shipping_options": [{"carrier": "postal", "price": 0, "promised_days": 10}],
        },
        expect=409,
    )
    assert again.json()["code"] == "offer_exists"


def test_r2_2_offers_are_ranked_by_landed_price_and_promised_delivery(api: Api) -> None:
    slow_cheap = api.listing(
        price=10_00, handling_days=2, options=[{"carrier": "postal", "price": 0, "promised_days": 28}]
    )
    pid = slow_cheap.product_id
    fast_dearer = api.listing(
        price=10_50,
        handling_days=1,
        product_id=pid,
        options=[{"carrier": "dhl", "price": 50, "promised_days": 4}],
    )
    dear = api.listing(
        price=60_00,
        handling_days=1,
        product_id=pid,
        options=[{"carrier": "dhl", "price": 0, "promised_days": 4}],
    )
    body = api.get(f"/v1/products/{pid}/offers", api.buyer()).json()
    ranked = [o["store_id"] for o in body["offers"]]
    assert ranked == [fast_dearer.store_id, slow_cheap.store_id, dear.store_id]
    top = body["offers"][0]
    assert top["landed_price"] == 11_00 and top["delivery_days"] == 5 and top["rank"] == 1
    # score = landed/cheapest + 0.5 * days/fastest: 11.00/10.00 + 0.5 * 5/5
    assert top["score"] == 1.6
    # the slow one: 10.00/10.00 + 0.5 * 30/5 = 4.0; the dear one: 60.00/10.00 + 0.5 * 5/5 = 6.5
    assert [o["score"] for o in body["offers"][1:]] == [4.0, 6.5]
    assert "landed" in body["ranking"]


def test_r2_2_each_offer_shows_its_best_option_and_the_cart_takes_it_by_default(api: Api) -> None:
    listing = api.listing(
        price=10_00,
        options=[
            {"carrier": "postal", "price": 0, "promised_days": 40},
            {"carrier": "cainiao", "price": 1_00, "promised_days": 10},
        ],
    )
    buyer = api.buyer()
    (offer,) = api.get(f"/v1/products/{listing.product_id}/offers", buyer).json()["offers"]
    cainiao = next(o["id"] for o in offer["shipping_options"] if o["carrier"] == "cainiao")
    assert offer["best_shipping_option_id"] == cainiao
    (item,) = api.add(buyer, listing).json()["items"]
    assert item["shipping_option_id"] == cainiao and item["shipping_price"] == 1_00
