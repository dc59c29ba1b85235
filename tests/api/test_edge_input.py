"""Input that no name, address or id should hold is refused at the edge: 4xx problem+json, nothing written.

Lone UTF-16 surrogates, NUL and other control characters, Unicode bidirectional
overrides and isolates, and bodies that are not sent as JSON. Before this, a
NUL reached psycopg (a 500 on PostgreSQL) or was stored (SQLite), a surrogate
failed in both drivers, a bidi override was stored for a seller to read, and a
text/plain body got 422 as if its JSON were wrong.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

import pytest

from tests.api.helpers import assert_problem, writes_nothing
from tests.support import ADDRESS, Api, Listing, Who


@pytest.fixture
def shop(api: Api) -> tuple[Who, Listing]:
    return api.buyer(), api.listing(stock=5)


def _post_raw(api: Api, path: str, who: Who, body: Any) -> Any:
    """POST the body as JSON with non-ASCII escaped (\\udc00 stays an escape: no encoder chokes on it)."""
    return api.client.post(
        path, content=json.dumps(body).encode(), headers={**who.auth, "Content-Type": "application/json"}
    )


def _unsafe_field(body: dict[str, Any]) -> str:
    r = body["errors"]
    assert len(r) == 1, r
    assert r[0]["type"] == "unsafe_text", r
    return str(r[0]["field"])


# --- lone surrogates -----------------------------------------------------------------------------------


def test_lone_surrogate_in_cart_offer_id_is_refused(api: Api, shop: tuple[Who, Listing]) -> None:
    buyer, _ = shop
    with writes_nothing(api):
        r = _post_raw(api, "/v1/cart/items", buyer, {"offer_id": "\udc00"})
    assert _unsafe_field(assert_problem(r, 422, "validation_error")) == "offer_id"


@pytest.mark.parametrize("surrogate", ["\udc00", "\ud800", "a\udfffb"], ids=["low", "high", "inside"])
def test_lone_surrogate_in_offer_store_id_is_refused(api: Api, surrogate: str) -> None:
    listing = api.listing()
    body = {
        "store_id": surrogate,
        "product_id": listing.product_id,
        "price": 100,
        "currency": "USD",
        "stock": 1,
        "handling_days": 1,
        "shipping_options": [{"carrier": "postal", "price": 0, "promised_days": 3}],
    }
    with writes_nothing(api):
        r = _post_raw(api, "/v1/offers", listing.seller, body)
    assert _unsafe_field(assert_problem(r, 422, "validation_error")) == "store_id"


def test_surrogate_pair_is_a_character_and_is_accepted(api: Api) -> None:
    seller = api.account("seller", "Sam")
    r = _post_raw(api, "/v1/stores", seller, {"name": "Emoji \ud83d\ude00 store"})
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "Emoji \U0001f600 store"


# --- control characters --------------------------------------------------------------------------------

CONTROLS = {
    "NUL": "\x00",
    "SOH": "\x01",
    "ESC": "\x1b",
    "DEL": "\x7f",
    "C1 NEL": "\x85",
    "line feed": "\n",
    "carriage return": "\r",
    "tab": "\t",
    "line separator": "\u2028",
}


def _bodies(buyer: Who, listing: Listing, text: str) -> dict[str, tuple[str, Who, dict[str, Any], str]]:
    """(path, caller, body, field) for each kind of string field."""
    return {
        "store name": ("/v1/stores", listing.seller, {"name": f"Sam{text}s"}, "name"),
        "product title": ("/v1/products", listing.seller, {"title": f"Case{text}"}, "title"),
        "cart offer id": ("/v1/cart/items", buyer, {"offer_id": f"{listing.offer_id}{text}"}, "offer_id"),
        "address line": (
            "/v1/checkout",
            buyer,
            {"shipping_address": {**ADDRESS, "line1": f"1 Main{text}St"}},
            "shipping_address.line1",
        ),
        "account name": ("/v1/sandbox/accounts", buyer, {"role": "buyer", "name": f"Ann{text}"}, "name"),
        "email": (
            "/v1/sandbox/accounts",
            buyer,
            {"role": "buyer", "name": "Ann", "email": f"ann{text}@example.com"},
            "email",
        ),
    }


FIELDS = list(_bodies(Who("", "", ""), Listing(Who("", "", ""), "", "", {"id": ""}), "").keys())


@pytest.mark.parametrize("field", FIELDS)
def test_control_characters_in_text_are_refused(api: Api, shop: tuple[Who, Listing], field: str) -> None:
    buyer, listing = shop
    api.add(buyer, listing)
    for kind, char in CONTROLS.items():
        path, who, body, name = _bodies(buyer, listing, char)[field]
        with writes_nothing(api):
            r = _post_raw(api, path, who, body)
        assert _unsafe_field(assert_problem(r, 422, "validation_error")) == name, kind


def test_a_description_may_span_lines_but_holds_no_other_control(api: Api) -> None:
    seller = api.account("seller", "Sam")
    r = _post_raw(api, "/v1/products", seller, {"title": "Case", "description": "Fits:\r\n\t- phone X\n"})
    assert r.status_code == 201, r.text
    assert r.json()["description"] == "Fits:\r\n\t- phone X\n"
    for char in ("\x00", "\x0b", "\x1b", "\u202e"):
        with writes_nothing(api):
            r = _post_raw(api, "/v1/products", seller, {"title": "Case", "description": f"a{char}b"})
        assert _unsafe_field(assert_problem(r, 422, "validation_error")) == "description"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/orders/ord_x%00"),
        ("GET", "/v1/orders/%01/timeline"),
        ("GET", "/v1/products/prd%1B/offers"),
        ("GET", "/v1/stores/sto%7F/balance"),
        ("DELETE", "/v1/cart/items/cit%00"),
        ("POST", "/v1/orders/ord%00/cancel"),
        ("POST", "/v1/orders/%E2%80%AEord/confirm-receipt"),  # U+202E in the path
        ("POST", "/v1/sandbox/payments/pay%00/credit"),
        ("GET", "/v1/orders?cursor=abc%00"),
    ],
)
def test_control_and_bidi_characters_in_path_and_query_ids_are_refused(
    api: Api, shop: tuple[Who, Listing], method: str, path: str
) -> None:
    buyer, _ = shop
    with writes_nothing(api):
        r = api.client.request(method, path, headers=buyer.auth)
    body = assert_problem(r, 422, "validation_error")
    assert body["errors"][0]["type"] == "unsafe_text", body


def test_ids_in_payment_and_shipment_bodies_are_checked(api: Api, shop: tuple[Who, Listing]) -> None:
    buyer, listing = shop
    order = api.place(buyer, listing)
    with writes_nothing(api):
        r = _post_raw(api, f"/v1/orders/{order['id']}/payments", buyer, {"method": "card\x00"})
    assert _unsafe_field(assert_problem(r, 422, "validation_error")) == "method"
    api.pay(buyer, order["id"])
    body = {
        "carrier": "postal",
        "tracking_code": "RR123456785CN",
        "lines": [{"line_id": "x\x00", "quantity": 1}],
    }
    with writes_nothing(api):
        r = _post_raw(api, f"/v1/orders/{order['id']}/shipments", listing.seller, body)
    assert _unsafe_field(assert_problem(r, 422, "validation_error")) == "lines.0.line_id"


# --- bidirectional overrides and isolates --------------------------------------------------------------

BIDI = {f"U+{ord(c):04X}": c for c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"}


@pytest.mark.parametrize("field", FIELDS)
def test_bidi_overrides_and_isolates_are_refused(api: Api, shop: tuple[Who, Listing], field: str) -> None:
    buyer, listing = shop
    api.add(buyer, listing)
    for kind, char in BIDI.items():
        path, who, body, name = _bodies(buyer, listing, char)[field]
        with writes_nothing(api):
            r = _post_raw(api, path, who, body)
        assert _unsafe_field(assert_problem(r, 422, "validation_error")) == name, kind


def test_right_to_left_text_itself_is_accepted(api: Api, shop: tuple[Who, Listing]) -> None:
    buyer, listing = shop
    api.add(buyer, listing)
    address = {
        **ADDRESS,
        "name": "\u05e9\u05e8\u05d4 \u05dc\u05d5\u05d9",
        "line1": "\u0634\u0627\u0631\u0639 1\u200f",
    }
    r = _post_raw(api, "/v1/checkout", buyer, {"shipping_address": address})
    assert r.status_code == 201, r.text
    order = api.order(r.json()["orders"][0]["id"], buyer)
    assert order["shipping_address"]["name"] == address["name"]


# --- content type --------------------------------------------------------------------------------------

NOT_JSON = {
    "text/plain": ("text/plain", b'{"name": "Sam\'s"}'),
    "form data": ("application/x-www-form-urlencoded", b"name=Sam"),
    "multipart": (
        "multipart/form-data; boundary=x",
        b'--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nS\r\n--x--',
    ),
    "xml": ("application/xml", b"<name>Sam</name>"),
    "no content type": (None, b'{"name": "Sam\'s"}'),
}


@pytest.mark.parametrize("kind", NOT_JSON)
def test_a_body_that_is_not_json_gets_415(api: Api, kind: str) -> None:
    seller = api.account("seller", "Sam")
    content_type, raw = NOT_JSON[kind]
    headers = {**seller.auth, **({"Content-Type": content_type} if content_type else {})}
    with writes_nothing(api):
        r = api.client.post("/v1/stores", content=raw, headers=headers)
    assert_problem(r, 415, "unsupported_media_type")


def test_415_comes_before_authentication_and_applies_to_every_json_body(
    api: Api, shop: tuple[Who, Listing]
) -> None:
    buyer, listing = shop
    order = api.place(buyer, listing)
    for path, who in [
        ("/v1/stores", None),
        ("/v1/cart/items", buyer),
        ("/v1/checkout", buyer),
        (f"/v1/orders/{order['id']}/payments", buyer),
        (f"/v1/orders/{order['id']}/shipments", listing.seller),
        ("/v1/sandbox/accounts", None),
        ("/v1/sandbox/clock/advance", None),
    ]:
        with writes_nothing(api):
            r = api.client.post(
                path, content=b"{}", headers={**(who.auth if who else {}), "Content-Type": "text/plain"}
            )
        assert_problem(r, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "application/problem+json", "APPLICATION/JSON"]
)
def test_json_content_types_are_accepted(api: Api, content_type: str) -> None:
    seller = api.account("seller", "Sam")
    r = api.client.post(
        "/v1/stores", content=b'{"name": "Sam"}', headers={**seller.auth, "Content-Type": content_type}
    )
    assert r.status_code == 201, r.text


def test_an_optional_body_may_be_left_out_with_no_content_type(api: Api, shop: tuple[Who, Listing]) -> None:
    buyer, listing = shop
    order = api.place(buyer, listing)
    payment = api.pay(buyer, order["id"], method="bank_transfer").json()
    r = api.client.post(f"/v1/sandbox/payments/{payment['id']}/fail")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "failed"


def _signed_scans(api: Api, raw: bytes, content_type: str = "application/json") -> Any:
    now = datetime.fromisoformat(api.get("/v1/sandbox/clock").json()["now"])
    ts = str(int(now.timestamp()))
    key = api.ctx.carrier_secrets["postal"].encode()
    signature = "v1=" + hmac.new(key, ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
    headers = {"webhook-timestamp": ts, "webhook-signature": signature, "Content-Type": content_type}
    return api.client.post("/v1/carriers/postal/scans", content=raw, headers=headers)


def test_a_signed_carrier_webhook_gets_the_same_problems_as_any_body(api: Api) -> None:
    scan = {"tracking_code": "RR123456785CN\x00", "kind": "accepted", "occurred_at": "2026-01-05T09:00:00Z"}
    raw = json.dumps({"scans": [{**scan, "place": {"country": "CN"}}]}).encode()
    with writes_nothing(api):
        r = _signed_scans(api, raw)
    assert _unsafe_field(assert_problem(r, 422, "validation_error")) == "scans.0.tracking_code"
    with writes_nothing(api):
        r = _signed_scans(api, b'{"scans": [')
    assert_problem(r, 400, "malformed_json")
    with writes_nothing(api):
        r = _signed_scans(api, raw, "text/plain")
    assert_problem(r, 415, "unsupported_media_type")
