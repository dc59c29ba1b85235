"""Bad input is refused with a 4xx problem+json carrying a stable `code`, and writes nothing.

"Writes nothing" is checked on every row of every table (tests/api/helpers.py).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.api.helpers import assert_problem, writes_nothing
from tests.support import ADDRESS, Api, Listing, Who

MAX_MINOR = 2**63 - 1


def _cursor(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _offer(listing: Listing, product_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "store_id": listing.store_id,
        "product_id": product_id,
        "price": 3_00,
        "currency": "USD",
        "stock": 5,
        "handling_days": 2,
        "shipping_options": [{"carrier": "postal", "price": 1_00, "promised_days": 10}],
        **changes,
    }


@pytest.fixture
def shop(api: Api) -> tuple[Who, Listing]:
    """A buyer and a listing with 5 in stock."""
    return api.buyer(), api.listing(stock=5)


# --- cart --------------------------------------------------------------------------------------------


def test_unknown_offer_is_refused(api: Api, shop: tuple[Who, Listing]) -> None:
    buyer, _ = shop
    with writes_nothing(api):
        r = api.post("/v1/cart/items", buyer, {"offer_id": "ofr_nope", "quantity": 1})
    assert_problem(r, 404, "offer_not_found")


def test_unknown_shipping_option_is_refused(api: Api, shop: tuple[Who, Listing]) -> None:
    buyer, listing = shop
    with writes_nothing(api):
        r = api.post(
            "/v1/cart/items",
            buyer,
            {"offer_id": listing.offer_id, "quantity": 1, "shipping_option_id": "shp_nope"},
        )
    assert_problem(r, 422, "unknown_shipping_option")


@pytest.mark.parametrize(
    ("quantity", "code"),
    [
        (0, "validation_error"),  # the schema says at least 1 (issue #7 item 9)
        (-1, "validation_error"),
        (-1_000_000, "validation_error"),
        (1_000_000, "invalid_quantity"),  # over the policy's per-line maximum (999)
        (1000, "invalid_quantity"),
        (2**63, "validation_error"),  # beyond 64 bits
        (10**30, "validation_error"),
        (-(10**30), "validation_error"),
        (1.5, "validation_error"),
        ("many", "validation_error"),
        (None, "validation_error"),
    ],
    ids=repr,
)
def test_bad_quantity_is_refused(api: Api, shop: tuple[Who, Listing], quantity: Any, code: str) -> None:
    buyer, listing = shop
    with writes_nothing(api):
        r = api.post("/v1/cart/items", buyer, {"offer_id": listing.offer_id, "quantity": quantity})
    assert_problem(r, 422, code)


def test_quantities_adding_up_past_the_per_line_maximum_are_refused(api: Api) -> None:
    buyer, listing = api.buyer(), api.listing(stock=5_000)
    api.add(buyer, listing, 999)
    with writes_nothing(api):
        r = api.add(buyer, listing, 1, expect=None)
    assert_problem(r, 422, "invalid_quantity")
    assert [i["quantity"] for i in api.get("/v1/cart", buyer).json()["items"]] == [999]


def test_quantity_over_stock_is_refused(api: Api, shop: tuple[Who, Listing]) -> None:
    buyer, listing = shop
    with writes_nothing(api):
        r = api.add(buyer, listing, 6, expect=None)
    assert_problem(r, 409, "insufficient_stock")
    api.add(buyer, listing, 3)
    with writes_nothing(api):
        r = api.add(buyer, listing, 3, expect=None)  # 3 + 3 > 5
    assert_problem(r, 409, "insufficient_stock")


def test_checkout_over_stock_taken_meanwhile_is_refused(api: Api, shop: tuple[Who, Listing]) -> None:
    buyer, listing = shop
    rival = api.buyer("Rival")
    api.add(buyer, listing, 4)
    api.add(rival, listing, 4)
    api.checkout(rival)  # 1 left
    with writes_nothing(api):
        r = api.post("/v1/checkout", buyer, {"shipping_address": ADDRESS})
    assert_problem(r, 409, "insufficient_stock")
    assert api.get("/v1/orders", buyer).json()["orders"] == []


def test_checkout_of_an_empty_cart_is_refused(api: Api, shop: tuple[Who, Listing]) -> None:
    buyer, _ = shop
    with writes_nothing(api):
        r = api.post("/v1/checkout", buyer, {"shipping_address": ADDRESS})
    assert_problem(r, 409, "cart_empty")


# --- address -----------------------------------------------------------------------------------------


def _without(key: str) -> dict[str, Any]:
    return {k: v for k, v in ADDRESS.items() if k != key}


BAD_ADDRESSES = {
    **{f"missing {key}": _without(key) for key in ("name", "line1", "city", "postal_code", "country")},
    "blank name": {**ADDRESS, "name": "   "},
    "name too long": {**ADDRESS, "name": "x" * 201},
    "lower-case country": {**ADDRESS, "country": "pl"},
    "three-letter country": {**ADDRESS, "country": "POL"},
    "digit in country": {**ADDRESS, "country": "P1"},
    "empty country": {**ADDRESS, "country": ""},
    "unknown country": {**ADDRESS, "country": "XX"},
    "numeric country": {**ADDRESS, "country": 48},
    "empty postal code": {**ADDRESS, "postal_code": ""},
    "postal code with symbols": {**ADDRESS, "postal_code": "00<001>"},
    "postal code too long": {**ADDRESS, "postal_code": "1" * 13},
    "postal code one character": {**ADDRESS, "postal_code": "1"},
    "address is a string": "1 Main St, Warsaw",
    "address is null": None,
}


@pytest.mark.parametrize("address", BAD_ADDRESSES.values(), ids=BAD_ADDRESSES.keys())
def test_malformed_address_is_refused(api: Api, shop: tuple[Who, Listing], address: Any) -> None:
    buyer, listing = shop
    api.add(buyer, listing, 2)
    with writes_nothing(api):
        r = api.post("/v1/checkout", buyer, {"shipping_address": address})
    body = assert_problem(r, 422, "validation_error")
    assert any(e["field"].startswith("shipping_address") for e in body["errors"]), body
    assert [i["order_id"] for i in api.get("/v1/cart", buyer).json()["items"]] == [None]


def test_missing_address_is_refused(api: Api, shop: tuple[Who, Listing]) -> None:
    buyer, listing = shop
    api.add(buyer, listing)
    with writes_nothing(api):
        r = api.post("/v1/checkout", buyer, {})
    assert_problem(r, 422, "validation_error")


# --- payment -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "code"),
    [
        ("cash", "unknown_payment_method"),
        ("", "unknown_payment_method"),
        ("CARD", "unknown_payment_method"),
        ("store_credit", "unknown_payment_method"),  # R3.6: there is no platform balance
        ("x" * 41, "validation_error"),
        (None, "validation_error"),
    ],
    ids=repr,
)
def test_unknown_payment_method_is_refused(
    api: Api, shop: tuple[Who, Listing], method: Any, code: str
) -> None:
    buyer, listing = shop
    order = api.place(buyer, listing)
    with writes_nothing(api):
        r = api.post(f"/v1/orders/{order['id']}/payments", buyer, {"method": method})
    assert_problem(r, 422, code)
    assert api.status(order["id"], buyer) == "awaiting_payment"


@pytest.mark.parametrize("first", ["card", "ewallet", "bank_transfer"])
@pytest.mark.parametrize("second", ["card", "bank_transfer"])
def test_paying_twice_is_refused(api: Api, shop: tuple[Who, Listing], first: str, second: str) -> None:
    buyer, listing = shop
    order = api.place(buyer, listing)
    api.pay(buyer, order["id"], first)
    with writes_nothing(api):
        r = api.pay(buyer, order["id"], second, expect=None)
    code = "payment_pending" if first == "bank_transfer" else "order_already_paid"
    assert_problem(r, 409, code)
    assert len(api.order(order["id"], buyer)["payments"]) == 1


def test_paying_a_cancelled_order_is_refused(api: Api, shop: tuple[Who, Listing]) -> None:
    buyer, listing = shop
    order = api.place(buyer, listing)
    api.post(f"/v1/orders/{order['id']}/cancel", buyer, expect=200)
    with writes_nothing(api):
        r = api.pay(buyer, order["id"], expect=None)
    assert r.status_code == 409
    assert_problem(r, 409, r.json()["code"])
    assert api.order(order["id"], buyer)["payments"] == []


def test_paying_an_unknown_order_is_refused(api: Api, shop: tuple[Who, Listing]) -> None:
    buyer, _ = shop
    with writes_nothing(api):
        r = api.pay(buyer, "ord_nope", expect=None)
    assert_problem(r, 404, "order_not_found")


# --- money -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"price": 2**63}, "validation_error"),
        ({"price": 10**30}, "validation_error"),
        ({"price": 0}, "validation_error"),
        ({"price": -1}, "validation_error"),
        ({"price": 9.99}, "validation_error"),
        ({"stock": 2**63}, "validation_error"),
        ({"stock": -1}, "validation_error"),
        ({"handling_days": -1}, "validation_error"),
        ({"currency": "usd"}, "validation_error"),
        ({"currency": "XYZ"}, "unknown_currency"),
        ({"shipping_options": []}, "validation_error"),
        (
            {"shipping_options": [{"carrier": "postal", "price": 2**63, "promised_days": 10}]},
            "validation_error",
        ),
        ({"shipping_options": [{"carrier": "postal", "price": -1, "promised_days": 10}]}, "validation_error"),
        ({"shipping_options": [{"carrier": "postal", "price": 0, "promised_days": 0}]}, "validation_error"),
    ],
    ids=repr,
)
def test_offer_with_bad_amounts_is_refused(api: Api, changes: dict[str, Any], code: str) -> None:
    listing = api.listing()
    product = api.post("/v1/products", listing.seller, {"title": "Other"}, expect=201).json()["id"]
    with writes_nothing(api):
        r = api.post("/v1/offers", listing.seller, _offer(listing, product, **changes))
    assert_problem(r, 422, code)


@pytest.mark.parametrize(
    ("price", "quantity", "shipping"),
    [(MAX_MINOR, 1, 1), (2**62, 2, 0), (MAX_MINOR // 999 + 1, 999, 0)],
    ids=["price+shipping", "price*2", "price*999"],
)
def test_order_total_beyond_64_bits_is_refused_at_checkout(
    api: Api, price: int, quantity: int, shipping: int
) -> None:
    buyer = api.buyer()
    listing = api.listing(
        price=price, stock=1000, options=[{"carrier": "postal", "price": shipping, "promised_days": 5}]
    )
    api.add(buyer, listing, quantity)
    with writes_nothing(api):
        r = api.post("/v1/checkout", buyer, {"shipping_address": ADDRESS})
    assert_problem(r, 422, "amount_out_of_range")


def test_mixed_currencies_in_one_store_are_refused_at_checkout(api: Api) -> None:
    buyer = api.buyer()
    usd = api.listing(currency="USD")
    euro_product = api.post("/v1/products", usd.seller, {"title": "Charger"}, expect=201).json()["id"]
    eur = api.post("/v1/offers", usd.seller, _offer(usd, euro_product, currency="EUR"), expect=201).json()
    api.add(buyer, usd)
    api.post("/v1/cart/items", buyer, {"offer_id": eur["id"], "quantity": 1}, expect=201)
    with writes_nothing(api):
        r = api.post("/v1/checkout", buyer, {"shipping_address": ADDRESS})
    assert_problem(r, 422, "mixed_currencies")


def test_different_currencies_in_different_stores_are_two_orders(api: Api) -> None:
    buyer = api.buyer()
    api.add(buyer, api.listing(currency="USD"))
    api.add(buyer, api.listing(currency="EUR"))
    assert sorted(o["currency"] for o in api.checkout(buyer)) == ["EUR", "USD"]


# --- request bodies ----------------------------------------------------------------------------------


def _bodies(w: Who, listing: Listing) -> dict[str, tuple[str, Who, dict[str, Any]]]:
    """A valid body for each POST with one, and who may send it."""
    return {
        "store": ("/v1/stores", listing.seller, {"name": "Shop"}),
        "product": ("/v1/products", listing.seller, {"title": "Lamp"}),
        "offer": ("/v1/offers", listing.seller, _offer(listing, listing.product_id)),
        "cart item": ("/v1/cart/items", w, {"offer_id": listing.offer_id, "quantity": 1}),
        "checkout": ("/v1/checkout", w, {"shipping_address": ADDRESS}),
    }


BODIES = ["store", "product", "offer", "cart item", "checkout"]


@pytest.mark.parametrize("which", BODIES)
@pytest.mark.parametrize(
    "raw",
    [b'{"name": ', b"{'name': 'x'}", b"{,}", b"nope", b'{"a": 1} trailing', b"\xff\xfe\x00"],
    ids=["truncated", "single quotes", "stray comma", "bare word", "trailing text", "not utf-8"],
)
def test_malformed_json_is_400(api: Api, shop: tuple[Who, Listing], which: str, raw: bytes) -> None:
    path, who, _ = _bodies(*shop)[which]
    with writes_nothing(api):
        r = api.client.post(path, content=raw, headers={**who.auth, "Content-Type": "application/json"})
    assert_problem(r, 400, "malformed_json")


@pytest.mark.parametrize("which", BODIES)
@pytest.mark.parametrize("body", [[], "text", 42, None], ids=repr)
def test_json_that_is_not_an_object_is_refused(
    api: Api, shop: tuple[Who, Listing], which: str, body: Any
) -> None:
    path, who, _ = _bodies(*shop)[which]
    with writes_nothing(api):
        r = api.client.post(
            path, content=json.dumps(body), headers={**who.auth, "Content-Type": "application/json"}
        )
    assert_problem(r, 422, "validation_error")


@pytest.mark.parametrize("which", BODIES)
def test_oversized_body_is_413(api: Api, shop: tuple[Who, Listing], which: str) -> None:
    path, who, body = _bodies(*shop)[which]
    big = json.dumps({**body, "padding": "x" * (64 * 1024)}).encode()
    headers = {**who.auth, "Content-Type": "application/json"}
    with writes_nothing(api):
        declared = api.client.post(path, content=big, headers=headers)
        streamed = api.client.post(path, content=iter([big[:1000], big[1000:]]), headers=headers)
    assert_problem(declared, 413, "payload_too_large")
    assert "content-length" not in streamed.request.headers
    assert_problem(streamed, 413, "payload_too_large")


def test_body_just_under_the_limit_is_read(api: Api, shop: tuple[Who, Listing]) -> None:
    _, listing = shop
    body = {"title": "Lamp", "description": "x" * 5000}
    assert len(json.dumps(body)) < 64 * 1024
    api.post("/v1/products", listing.seller, body, expect=201)


UNKNOWN_FIELDS = {
    "store": lambda b: {**b, "seller_id": "acc_someone_else"},
    "product": lambda b: {**b, "price": 1},
    "offer": lambda b: {**b, "fine_bps": 0},
    "offer shipping option": lambda b: {
        **b,
        "shipping_options": [{**b["shipping_options"][0], "insured": True}],
    },
    "cart item": lambda b: {**b, "unit_price": 1},
    "checkout": lambda b: {**b, "currency": "USD"},
    "checkout address": lambda b: {"shipping_address": {**ADDRESS, "state": "Mazovia"}},
}


@pytest.mark.parametrize("case", UNKNOWN_FIELDS)
def test_unknown_fields_are_refused(api: Api, shop: tuple[Who, Listing], case: str) -> None:
    buyer, listing = shop
    api.add(buyer, listing)
    path, who, body = _bodies(buyer, listing)[case.removesuffix(" shipping option").removesuffix(" address")]
    with writes_nothing(api):
        r = api.post(path, who, UNKNOWN_FIELDS[case](body))
    problem = assert_problem(r, 422, "validation_error")
    assert problem["errors"], problem


def test_unknown_payment_field_is_refused(api: Api, shop: tuple[Who, Listing]) -> None:
    buyer, listing = shop
    order = api.place(buyer, listing)
    with writes_nothing(api):
        r = api.post(f"/v1/orders/{order['id']}/payments", buyer, {"method": "card", "amount": 1})
    assert_problem(r, 422, "validation_error")


# --- listing orders ----------------------------------------------------------------------------------

BAD_CURSORS = {
    "not base64": "!!!!",
    "garbage": "nope",
    "empty list": _cursor(b"[]"),
    "null": _cursor(b"null"),
    "number": _cursor(b"42"),
    "three items": _cursor(b'["2026-01-05T09:00:00+00:00", "ord_x", 1]'),
    "not a date": _cursor(b'["yesterday", "ord_x"]'),
    "date without time zone": _cursor(b'["2026-01-05T09:00:00", "ord_x"]'),
    "date is a number": _cursor(b'[1767603600, "ord_x"]'),
    "object": _cursor(b'{"placed_at": "2026-01-05T09:00:00+00:00", "id": "ord_x"}'),
    "not utf-8": _cursor(b"\xff\xfe\xfd"),
}


@pytest.mark.parametrize("cursor", BAD_CURSORS.values(), ids=BAD_CURSORS.keys())
def test_invalid_cursor_is_refused(api: Api, shop: tuple[Who, Listing], cursor: str) -> None:
    buyer, listing = shop
    api.place(buyer, listing)
    r = api.get("/v1/orders", buyer, expect=None, cursor=cursor)
    assert_problem(r, 422, "invalid_cursor")


def test_cursor_given_out_by_the_api_is_accepted(api: Api) -> None:
    buyer = api.buyer()
    for _ in range(3):
        api.place(buyer, api.listing())
    first = api.get("/v1/orders", buyer, limit=2).json()
    rest = api.get("/v1/orders", buyer, limit=2, cursor=first["next_cursor"]).json()
    assert len(first["orders"]) == 2 and len(rest["orders"]) == 1 and rest["next_cursor"] is None


@pytest.mark.parametrize("status", ["shipped_to_mars", "AWAITING_PAYMENT", "", "awaiting_payment,cancelled"])
def test_unknown_status_filter_is_refused(api: Api, shop: tuple[Who, Listing], status: str) -> None:
    buyer, _ = shop
    r = api.get("/v1/orders", buyer, expect=None, status=status)
    assert_problem(r, 422, "unknown_status")


@pytest.mark.parametrize("limit", ["0", "-1", "201", "ten", str(2**64)])
def test_bad_page_size_is_refused(api: Api, shop: tuple[Who, Listing], limit: str) -> None:
    buyer, _ = shop
    r = api.get("/v1/orders", buyer, expect=None, limit=limit)
    assert_problem(r, 422, "validation_error")


def test_unknown_product_and_route_are_problem_json(api: Api, shop: tuple[Who, Listing]) -> None:
    buyer, _ = shop
    assert_problem(api.get("/v1/products/prd_nope/offers", buyer, expect=None), 404, "product_not_found")
    assert_problem(api.get("/v1/nowhere", buyer, expect=None), 404, "not_found")
    assert_problem(api.client.put("/v1/cart", headers=buyer.auth), 405, "method_not_allowed")
