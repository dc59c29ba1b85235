"""R2.x scenarios: one product from many stores, and the offer comparison."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import assert_problem
from tests.support import Api, Who


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


# --- browsing the catalogue: a newcomer finds product and store ids through the API -----------------


def _pages(api: Api, who: Who, path: str, key: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paged listing, following `next_cursor`, two at a time."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        extra = {"cursor": cursor} if cursor else {}
        page = api.get(path, who, limit=2, **params, **extra).json()
        assert len(page[key]) <= 2
        items += page[key]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def test_r2_1_the_catalogue_is_browsed_and_searched_a_page_at_a_time(api: Api) -> None:
    seller = api.account("seller", "Sam")
    ids = {}
    for title in ("Shockproof phone case", "USB-C cable 2 m", "Phone stand", "100% cotton_case", "Étui"):
        ids[title] = api.post("/v1/products", seller, {"title": title}, expect=201).json()["id"]
    case = api.listing(seller=seller, product_id=ids["Shockproof phone case"])
    api.listing(product_id=ids["Shockproof phone case"])
    buyer = api.buyer()

    everything = _pages(api, buyer, "/v1/products", "products")
    assert sorted(p["id"] for p in everything) == sorted(ids.values())
    assert len({p["id"] for p in everything}) == 5, "no product twice across pages"
    listed = {p["title"]: p for p in everything}
    assert listed["Shockproof phone case"]["offer_count"] == 2
    assert listed["Phone stand"]["offer_count"] == 0

    def found(q: str) -> list[str]:
        return sorted(p["title"] for p in _pages(api, buyer, "/v1/products", "products", q=q))

    assert found("phone") == ["Phone stand", "Shockproof phone case"]
    assert found("CASE  phone") == ["Shockproof phone case"]  # every word, in any case and order
    assert found("%") == ["100% cotton_case"] and found("_") == ["100% cotton_case"]  # no wildcards
    assert found("Étui") == ["Étui"]
    assert found("tablet") == []

    product = api.get(f"/v1/products/{case.product_id}", buyer).json()
    assert (product["title"], product["offer_count"]) == ("Shockproof phone case", 2)
    offers = api.get(f"/v1/products/{product['id']}/offers", buyer).json()["offers"]
    assert case.offer_id in {o["id"] for o in offers}
    missing = api.get("/v1/products/prd_missing", buyer, expect=404)
    assert_problem(missing, 404, "product_not_found")
    bad = api.get("/v1/products", buyer, expect=422, cursor="not-a-cursor")
    assert_problem(bad, 422, "invalid_cursor")
    unsafe = api.get("/v1/products", buyer, expect=422, q="case\u202e")
    assert_problem(unsafe, 422, "validation_error")


def test_r2_1_stores_are_listed_and_a_seller_finds_their_own(api: Api) -> None:
    sam = api.account("seller", "Sam")
    first = api.listing(seller=sam)
    api.advance(minutes=1)  # oldest first; stores opened in the same instant go by id
    second = api.post("/v1/stores", sam, {"name": "Sam's second"}, expect=201).json()
    api.advance(minutes=1)
    other = api.listing()
    buyer = api.buyer()

    everything = _pages(api, buyer, "/v1/stores", "stores")
    assert [s["id"] for s in everything] == [first.store_id, second["id"], other.store_id]
    assert not any(s["yours"] for s in everything)
    assert {s["id"]: s["offer_count"] for s in everything} == {
        first.store_id: 1,
        second["id"]: 0,
        other.store_id: 1,
    }
    mine = _pages(api, sam, "/v1/stores", "stores", mine="true")
    assert [(s["id"], s["yours"]) for s in mine] == [(first.store_id, True), (second["id"], True)]
    assert _pages(api, buyer, "/v1/stores", "stores", mine="true") == []

    store = api.get(f"/v1/stores/{first.store_id}", sam).json()
    assert (store["name"], store["yours"], store["offer_count"]) == ("Sam's store", True, 1)
    assert "seller_id" not in store, "a store does not show its seller's account"
    assert api.get(f"/v1/stores/{first.store_id}", buyer).json()["yours"] is False
    assert_problem(api.get("/v1/stores/sto_missing", buyer, expect=404), 404, "store_not_found")
