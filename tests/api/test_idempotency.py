"""`Idempotency-Key` on POSTs: a retry replays the first response and never runs the command twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from httpx import Response
from sqlalchemy import func, select

from orderguard.app import accounts
from orderguard.store import tables as t
from orderguard.store.db import reading
from tests.api.helpers import assert_problem, writes_nothing
from tests.support import ADDRESS, Api, Who

CHECKOUT = {"shipping_address": ADDRESS}


def _post(api: Api, path: str, who: Who | None, body: Any, key: str) -> Response:
    return api.post(path, who, body, headers={"Idempotency-Key": key})


def _count(api: Api, table: Any) -> int:
    with reading(api.ctx.engine) as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _assert_replay(first: Response, again: Response) -> None:
    assert again.status_code == first.status_code
    assert again.content == first.content
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.headers["content-type"] == first.headers["content-type"]
    assert "idempotent-replayed" not in first.headers


def test_checkout_retried_with_the_same_key_places_the_orders_once(api: Api) -> None:
    buyer = api.buyer()
    a, b = api.listing(stock=5), api.listing(stock=5)
    api.add(buyer, a, 2)
    api.add(buyer, b, 1)
    first = _post(api, "/v1/checkout", buyer, CHECKOUT, "checkout-1")
    assert first.status_code == 201
    with writes_nothing(api):
        again = _post(api, "/v1/checkout", buyer, CHECKOUT, "checkout-1")
    _assert_replay(first, again)
    assert len(first.json()["orders"]) == 2
    listed = api.get("/v1/orders", buyer).json()["orders"]
    assert sorted(o["id"] for o in listed) == sorted(o["id"] for o in first.json()["orders"])
    offers = api.get(f"/v1/products/{a.product_id}/offers", buyer).json()["offers"]
    assert offers[0]["stock"] == 3  # reserved once


def test_replayed_checkout_does_not_take_what_was_added_since(api: Api) -> None:
    buyer, listing = api.buyer(), api.listing()
    api.add(buyer, listing)
    first = _post(api, "/v1/checkout", buyer, CHECKOUT, "k")
    api.add(buyer, listing)  # a new, free item
    again = _post(api, "/v1/checkout", buyer, CHECKOUT, "k")
    _assert_replay(first, again)
    free = [i for i in api.get("/v1/cart", buyer).json()["items"] if i["order_id"] is None]
    assert len(free) == 1
    assert len(api.get("/v1/orders", buyer).json()["orders"]) == 1
    # a new key is a new checkout
    assert _post(api, "/v1/checkout", buyer, CHECKOUT, "k2").status_code == 201
    assert len(api.get("/v1/orders", buyer).json()["orders"]) == 2


def test_payment_retried_with_the_same_key_is_captured_once(api: Api) -> None:
    buyer = api.buyer()
    order = api.place(buyer, api.listing(price=7_00))
    path = f"/v1/orders/{order['id']}/payments"
    first = _post(api, path, buyer, {"method": "card"}, "pay-1")
    assert first.status_code == 201
    with writes_nothing(api):
        again = _post(api, path, buyer, {"method": "card"}, "pay-1")
    _assert_replay(first, again)
    detail = api.order(order["id"], buyer)
    assert [p["id"] for p in detail["payments"]] == [first.json()["id"]]
    assert detail["money"]["paid"] == order["total"]
    api.assert_ledger_balanced()


def test_without_a_key_a_second_payment_is_refused_not_replayed(api: Api) -> None:
    buyer = api.buyer()
    order = api.place(buyer, api.listing())
    api.pay(buyer, order["id"])
    r = api.pay(buyer, order["id"], expect=None)
    assert_problem(r, 409, "order_already_paid")
    assert "idempotent-replayed" not in r.headers


def test_each_create_is_done_once_per_key(api: Api) -> None:
    listing = api.listing()
    seller = listing.seller
    stores, products = _count(api, t.stores), _count(api, t.products)
    for _ in range(3):
        assert _post(api, "/v1/stores", seller, {"name": "Again"}, "store-1").status_code == 201
        assert _post(api, "/v1/products", seller, {"title": "Again"}, "product-1").status_code == 201
    assert (_count(api, t.stores), _count(api, t.products)) == (stores + 1, products + 1)


def test_cart_addition_retried_adds_once(api: Api) -> None:
    buyer, listing = api.buyer(), api.listing()
    body = {"offer_id": listing.offer_id, "quantity": 2}
    first = _post(api, "/v1/cart/items", buyer, body, "add-1")
    again = _post(api, "/v1/cart/items", buyer, body, "add-1")
    _assert_replay(first, again)
    assert [i["quantity"] for i in api.get("/v1/cart", buyer).json()["items"]] == [2]


def test_a_refusal_is_replayed_too(api: Api) -> None:
    buyer = api.buyer()
    first = _post(api, "/v1/checkout", buyer, CHECKOUT, "empty")
    assert_problem(first, 409, "cart_empty")
    api.add(buyer, api.listing())
    again = _post(api, "/v1/checkout", buyer, CHECKOUT, "empty")
    _assert_replay(first, again)
    assert api.get("/v1/orders", buyer).json()["orders"] == []


def test_same_key_with_another_body_is_refused(api: Api) -> None:
    buyer = api.buyer()
    order = api.place(buyer, api.listing())
    path = f"/v1/orders/{order['id']}/payments"
    _post(api, path, buyer, {"method": "bank_transfer"}, "pay-1")
    with writes_nothing(api):
        r = _post(api, path, buyer, {"method": "card"}, "pay-1")
    assert_problem(r, 422, "idempotency_key_reused")
    assert api.status(order["id"], buyer) == "payment_pending"


def test_same_key_on_another_path_is_refused(api: Api) -> None:
    buyer = api.buyer()
    a, b = api.place(buyer, api.listing()), api.place(buyer, api.listing())
    _post(api, f"/v1/orders/{a['id']}/payments", buyer, {"method": "card"}, "pay")
    with writes_nothing(api):
        r = _post(api, f"/v1/orders/{b['id']}/payments", buyer, {"method": "card"}, "pay")
    assert_problem(r, 422, "idempotency_key_reused")
    assert api.status(b["id"], buyer) == "awaiting_payment"


def test_keys_are_scoped_per_caller(api: Api) -> None:
    ann, bob = api.buyer("Ann"), api.buyer("Bob")
    listing = api.listing()
    api.add(ann, listing)
    api.add(bob, listing, 3)
    for_ann = _post(api, "/v1/checkout", ann, CHECKOUT, "same-key")
    for_bob = _post(api, "/v1/checkout", bob, CHECKOUT, "same-key")
    assert for_ann.status_code == for_bob.status_code == 201
    assert "idempotent-replayed" not in for_bob.headers
    (ann_order,), (bob_order,) = for_ann.json()["orders"], for_bob.json()["orders"]
    assert (ann_order["buyer_id"], bob_order["buyer_id"]) == (ann.id, bob.id)
    assert ann_order["id"] != bob_order["id"] and bob_order["total"] == 3 * 10_00 + 2_00
    # and each caller's retry replays their own response only
    _assert_replay(for_bob, _post(api, "/v1/checkout", bob, CHECKOUT, "same-key"))
    _assert_replay(for_ann, _post(api, "/v1/checkout", ann, CHECKOUT, "same-key"))


def test_another_caller_may_use_the_same_key_with_another_body(api: Api) -> None:
    ann, bob = api.buyer("Ann"), api.buyer("Bob")
    ann_order, bob_order = api.place(ann, api.listing()), api.place(bob, api.listing())
    _post(api, f"/v1/orders/{ann_order['id']}/payments", ann, {"method": "card"}, "k")
    r = _post(api, f"/v1/orders/{bob_order['id']}/payments", bob, {"method": "ewallet"}, "k")
    assert r.status_code == 201 and r.json()["method"] == "ewallet"


def test_a_key_does_not_let_another_caller_read_a_stored_response(api: Api) -> None:
    ann, bob = api.buyer("Ann"), api.buyer("Bob")
    order = api.place(ann, api.listing())
    path = f"/v1/orders/{order['id']}/payments"
    assert _post(api, path, ann, {"method": "card"}, "k").status_code == 201
    r = _post(api, path, bob, {"method": "card"}, "k")
    assert_problem(r, 404, "order_not_found")
    assert "idempotent-replayed" not in r.headers
    assert len(api.order(order["id"], ann)["payments"]) == 1


def test_anonymous_callers_do_not_share_stored_responses(api: Api) -> None:
    """Sandbox accounts are created without a token: one caller's key must never replay another's token."""
    body = {"role": "buyer", "name": "Ann"}
    first = _post(api, "/v1/sandbox/accounts", None, body, "signup")
    second = _post(api, "/v1/sandbox/accounts", None, body, "signup")
    assert first.status_code == second.status_code == 201
    assert "idempotent-replayed" not in second.headers
    assert first.json()["token"] != second.json()["token"]


def test_a_rejected_token_does_not_reserve_the_key(api: Api) -> None:
    buyer = api.buyer()
    api.add(buyer, api.listing())
    bogus = Who("acc_x", "buyer", "og_not_a_real_token")
    assert_problem(_post(api, "/v1/checkout", bogus, CHECKOUT, "k"), 401, "unauthenticated")
    assert_problem(_post(api, "/v1/checkout", None, {"other": 1}, "k"), 401, "unauthenticated")
    assert _post(api, "/v1/checkout", buyer, CHECKOUT, "k").status_code == 201


def test_a_revoked_or_expired_token_with_a_key_gets_401_and_reserves_nothing(api: Api) -> None:
    """The token is looked up in the transaction that reserves the key: a token that no longer
    authenticates is refused there, before the key is written."""
    buyer = api.buyer()
    api.add(buyer, api.listing())
    revoked = accounts.issue_token(api.ctx, buyer.id)
    accounts.revoke_token(api.ctx, revoked.token)
    expiring = accounts.issue_token(api.ctx, buyer.id, expires_in=timedelta(days=1))
    api.advance(days=1)
    for token in (revoked.token, expiring.token):
        with writes_nothing(api):
            refused = _post(api, "/v1/checkout", Who(buyer.id, "buyer", token), CHECKOUT, "k")
        assert_problem(refused, 401, "unauthenticated")
    assert _count(api, t.idempotency_keys) == 0
    assert _post(api, "/v1/checkout", buyer, CHECKOUT, "k").status_code == 201


def test_invalid_keys_are_refused(api: Api) -> None:
    buyer = api.buyer()
    api.add(buyer, api.listing())
    for key in ("", "k" * 256):
        with writes_nothing(api):
            r = _post(api, "/v1/checkout", buyer, CHECKOUT, key)
        assert_problem(r, 422, "invalid_idempotency_key")
    assert _post(api, "/v1/checkout", buyer, CHECKOUT, "k" * 255).status_code == 201


def test_the_same_json_with_other_spacing_and_key_order_is_replayed(api: Api) -> None:
    seller = api.account("seller", "Sam")
    first = api.client.post(
        "/v1/stores",
        content=b'{"name": "Twin"}',
        headers={**seller.auth, "Idempotency-Key": "same-json", "content-type": "application/json"},
    )
    again = api.client.post(
        "/v1/stores",
        content=b'{ "name" :"Twin" }',
        headers={**seller.auth, "Idempotency-Key": "same-json", "content-type": "application/json"},
    )
    assert first.status_code == again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json()["id"] == first.json()["id"]
