"""Who may call what: authentication, roles, and each actor seeing only what is theirs (SPEC §1).

Every endpoint is listed once in ENDPOINTS with the roles allowed to call it;
the tests below run over that table. A new endpoint fails
`test_every_endpoint_is_in_the_table` until it is added here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from httpx import Response

from orderguard.api.app_factory import create_app
from tests import samples
from tests.api.helpers import assert_problem, writes_nothing
from tests.refund_support import grant
from tests.support import ADDRESS, Api, Listing, Who, s10

BUYER, SELLER, ADMIN = "buyer", "seller", "admin"
ROLES = (BUYER, SELLER, ADMIN)


@dataclass
class World:
    """Two sellers, two buyers and an admin; each buyer has an unpaid order at one seller's store."""

    admin: Who
    buyer: Who
    other_buyer: Who
    seller: Who
    other_seller: Who
    listing: Listing  # the seller's
    other_listing: Listing  # the other seller's
    order_id: str  # buyer's order at seller's store
    other_order_id: str  # other_buyer's order at other_seller's store
    cart_item_id: str  # a free item in buyer's cart
    spare_product_id: str  # a product the seller's store does not offer yet
    request_id: str = ""  # buyer's cancellation request on order_id, once `_request` made it
    refund_id: str = "rfd_none_yet"  # a refund on `order_id`, once `_refund` has granted one
    proof_request_id: str = "prf_none"  # set by the preparations that ask for proof of dispatch
    dispute_id: str = "dsp_none"  # set by the preparations that open a dispute on `order_id`
    proposal_id: str = "prp_none"
    evidence_id: str = "evd_none"

    def who(self, role: str) -> Who:
        """The caller of this role who is a party to `order_id` and owns `cart_item_id`."""
        return {BUYER: self.buyer, SELLER: self.seller, ADMIN: self.admin}[role]


def _free_item(api: Api, buyer: Who) -> str:
    items = api.get("/v1/cart", buyer).json()["items"]
    return str(next(i["id"] for i in items if i["order_id"] is None))


@pytest.fixture
def world(api: Api) -> World:
    listing = api.listing(price=5_00)
    other_listing = api.listing(price=6_00)
    buyer, other_buyer = api.buyer("Ann"), api.buyer("Bob")
    order = api.place(buyer, listing)
    other_order = api.place(other_buyer, other_listing)
    api.add(buyer, listing, 2)
    spare = api.post("/v1/products", listing.seller, {"title": "Spare"}, expect=201).json()["id"]
    return World(
        admin=api.account(ADMIN, "Ada"),
        buyer=buyer,
        other_buyer=other_buyer,
        seller=listing.seller,
        other_seller=other_listing.seller,
        listing=listing,
        other_listing=other_listing,
        order_id=order["id"],
        other_order_id=other_order["id"],
        cart_item_id=_free_item(api, buyer),
        spare_product_id=spare,
    )


@dataclass(frozen=True)
class Endpoint:
    method: str
    route: str  # as FastAPI declares it
    allowed: frozenset[str]  # roles that may call it at all
    success: int  # status of a successful call by an allowed role
    body: Callable[[World], Any] | None = None
    prepare: Callable[[Api, World], None] | None = None  # brings `order_id` to where the call succeeds
    denied: tuple[int, str] = (403, "forbidden_role")  # what the other roles get
    denied_to: tuple[tuple[str, tuple[int, str]], ...] = ()  # ... unless a role gets something else
    files: Callable[[World], Any] | None = None  # a multipart body instead of JSON

    @property
    def on_order(self) -> bool:
        return "{order_id}" in self.route

    def __str__(self) -> str:
        return f"{self.method} {self.route}"

    def path(self, w: World, order_id: str | None = None) -> str:
        return self.route.format(
            order_id=order_id or w.order_id,
            product_id=w.listing.product_id,
            item_id=w.cart_item_id,
            store_id=w.listing.store_id,
            request_id=w.request_id or "can_not_made_yet",
            refund_id=w.refund_id,
            proof_request_id=w.proof_request_id,
            dispute_id=w.dispute_id,
            proposal_id=w.proposal_id,
            evidence_id=w.evidence_id,
        )

    def call(self, api: Api, w: World, headers: dict[str, str], order_id: str | None = None) -> Response:
        body = self.body(w) if self.body else None
        files = self.files(w) if self.files else None
        return api.client.request(
            self.method, self.path(w, order_id), json=body, files=files, headers=headers
        )


def _pay(api: Api, w: World) -> None:
    api.pay(w.buyer, w.order_id)
    api.pay(w.other_buyer, w.other_order_id)


def _pay_and_ship(api: Api, w: World) -> None:
    _pay(api, w)
    for seller, order_id, serial in (
        (w.seller, w.order_id, "11111111"),
        (w.other_seller, w.other_order_id, "22222222"),
    ):
        api.post(f"/v1/orders/{order_id}/shipments", seller, _shipment(serial), expect=201)


def _request(api: Api, w: World) -> None:
    _pay(api, w)
    path = f"/v1/orders/{w.order_id}/cancellation-requests"
    w.request_id = api.post(path, w.buyer, {"reason": "other"}, expect=201).json()["id"]


def _refund(api: Api, w: World) -> None:
    """Both orders paid, and a refund granted on each (as a cancellation approval would)."""
    _pay(api, w)
    w.refund_id = grant(api.ctx, w.order_id, 1_00).id
    grant(api.ctx, w.other_order_id, 1_00)


def _rejected_as_shipped(api: Api, w: World) -> None:
    """Both orders paid, and a cancellation request on each rejected as already on its way (R4.6)."""
    _pay(api, w)
    for buyer, seller, order_id, serial in (
        (w.buyer, w.seller, w.order_id, "33333333"),
        (w.other_buyer, w.other_seller, w.other_order_id, "44444444"),
    ):
        request = api.post(
            f"/v1/orders/{order_id}/cancellation-requests", buyer, {"reason": "no_longer_needed"}, expect=201
        ).json()
        api.post(f"/v1/cancellation-requests/{request['id']}/reject", seller, _shipment(serial), expect=200)


def _proof_asked(api: Api, w: World) -> None:
    _rejected_as_shipped(api, w)
    w.proof_request_id = api.post(f"/v1/orders/{w.order_id}/proof-requests", w.buyer, expect=201).json()["id"]


def _proof_provided(api: Api, w: World) -> None:
    _proof_asked(api, w)
    api.upload(
        f"/v1/proof-requests/{w.proof_request_id}/proof", w.seller, samples.pdf(), "receipt.pdf", expect=200
    )


def _proof_missed(api: Api, w: World) -> None:
    _proof_asked(api, w)
    api.advance(hours=49)


def _disputed(api: Api, w: World, wanted: str = "full_refund") -> None:
    """Both orders shipped and disputed by their buyers; `proposal_id` is the buyer's request."""
    _pay_and_ship(api, w)
    body = {"reason": "damaged", "wanted": wanted, "description": "Broken on arrival."}
    for buyer, order_id in ((w.buyer, w.order_id), (w.other_buyer, w.other_order_id)):
        dispute = api.post(f"/v1/orders/{order_id}/disputes", buyer, body, expect=201).json()
        if buyer is w.buyer:
            w.dispute_id, w.proposal_id = dispute["id"], dispute["proposals"][0]["id"]


def _seller_proposed(api: Api, w: World) -> None:
    _disputed(api, w)
    body = {"kind": "partial_refund", "amount": 1_00}
    dispute = api.post(f"/v1/disputes/{w.dispute_id}/proposals", w.seller, body, expect=201).json()
    w.proposal_id = next(p["id"] for p in dispute["proposals"] if p["author_role"] == "seller")


def _escalatable(api: Api, w: World) -> None:
    _disputed(api, w)
    api.advance(days=3)


def _escalated(api: Api, w: World) -> None:
    _escalatable(api, w)
    api.post(f"/v1/disputes/{w.dispute_id}/escalate", w.buyer, expect=200)


def _evidence(api: Api, w: World) -> None:
    _disputed(api, w)
    path = f"/v1/disputes/{w.dispute_id}/evidence"
    w.evidence_id = api.upload(path, w.buyer, samples.png(), "broken.png", expect=201).json()["id"]


def _return_agreed(api: Api, w: World) -> None:
    _disputed(api, w, "return_and_refund")
    api.post(f"/v1/proposals/{w.proposal_id}/accept", w.seller, expect=200)


def _return_shipped(api: Api, w: World) -> None:
    _return_agreed(api, w)
    body = {"carrier": "postal", "tracking_code": s10("55555555")}
    api.post(f"/v1/disputes/{w.dispute_id}/return-shipment", w.buyer, body, expect=200)


def _shipment(serial: str = "12345678") -> dict[str, Any]:
    return {"carrier": "postal", "tracking_code": s10(serial)}


def _offer_body(w: World) -> dict[str, Any]:
    return {
        "store_id": w.listing.store_id,
        "product_id": w.spare_product_id,
        "price": 3_00,
        "currency": "USD",
        "stock": 5,
        "handling_days": 2,
        "shipping_options": [{"carrier": "postal", "price": 1_00, "promised_days": 10}],
    }


ALL = frozenset(ROLES)
ENDPOINTS = [
    Endpoint("POST", "/v1/stores", frozenset({SELLER}), 201, lambda w: {"name": "Second store"}),
    Endpoint("POST", "/v1/products", frozenset({SELLER, ADMIN}), 201, lambda w: {"title": "Cable"}),
    Endpoint("POST", "/v1/offers", frozenset({SELLER}), 201, _offer_body),
    Endpoint("GET", "/v1/products/{product_id}/offers", ALL, 200),
    Endpoint("GET", "/v1/products", ALL, 200),
    Endpoint("GET", "/v1/products/{product_id}", ALL, 200),
    Endpoint("GET", "/v1/stores", ALL, 200),
    Endpoint("GET", "/v1/stores/{store_id}", ALL, 200),
    Endpoint("GET", "/v1/cart", frozenset({BUYER}), 200),
    Endpoint(
        "POST",
        "/v1/cart/items",
        frozenset({BUYER}),
        201,
        lambda w: {"offer_id": w.listing.offer_id, "quantity": 1},
    ),
    Endpoint("PATCH", "/v1/cart/items/{item_id}", frozenset({BUYER}), 200, lambda w: {"quantity": 1}),
    Endpoint("DELETE", "/v1/cart/items/{item_id}", frozenset({BUYER}), 200),
    Endpoint("POST", "/v1/checkout", frozenset({BUYER}), 201, lambda w: {"shipping_address": ADDRESS}),
    Endpoint("POST", "/v1/orders/{order_id}/payments", frozenset({BUYER}), 201, lambda w: {"method": "card"}),
    Endpoint("POST", "/v1/orders/{order_id}/cancel", frozenset({BUYER}), 200),
    Endpoint("GET", "/v1/orders", ALL, 200),
    Endpoint("GET", "/v1/orders/{order_id}", ALL, 200),
    Endpoint("GET", "/v1/orders/{order_id}/timeline", ALL, 200),
    Endpoint("GET", "/v1/orders/{order_id}/cancellation-reasons", ALL, 200, prepare=_pay),
    Endpoint(
        "POST",
        "/v1/orders/{order_id}/cancellation-requests",
        frozenset({BUYER}),
        201,
        lambda w: {"reason": "other"},
        prepare=_pay,
    ),
    Endpoint("GET", "/v1/orders/{order_id}/cancellation-requests", ALL, 200, prepare=_request),
    Endpoint("GET", "/v1/cancellation-requests/{request_id}", ALL, 200, prepare=_request),
    Endpoint(
        "POST", "/v1/cancellation-requests/{request_id}/withdraw", frozenset({BUYER}), 200, prepare=_request
    ),
    Endpoint(
        "POST", "/v1/cancellation-requests/{request_id}/approve", frozenset({SELLER}), 200, prepare=_request
    ),
    Endpoint(
        "POST",
        "/v1/cancellation-requests/{request_id}/reject",
        frozenset({SELLER}),
        200,
        lambda w: {"answer": "Already packed"},
        prepare=_request,
    ),
    Endpoint(
        "GET",
        "/v1/stores/{store_id}/fines",
        frozenset({SELLER, ADMIN}),
        200,
        denied=(404, "store_not_found"),
    ),
    Endpoint(
        "POST",
        "/v1/orders/{order_id}/shipments",
        frozenset({SELLER}),
        201,
        lambda w: _shipment(),
        prepare=_pay,
    ),
    Endpoint("POST", "/v1/orders/{order_id}/confirm-receipt", frozenset({BUYER}), 200, prepare=_pay_and_ship),
    Endpoint("POST", "/v1/orders/{order_id}/refuse-parcel", frozenset({BUYER}), 200, prepare=_pay_and_ship),
    Endpoint(
        "GET",
        "/v1/stores/{store_id}/balance",
        frozenset({SELLER, ADMIN}),
        200,
        denied=(404, "store_not_found"),
    ),
    Endpoint("GET", "/v1/notifications", ALL, 200),
    Endpoint("GET", "/v1/orders/{order_id}/refunds", ALL, 200, prepare=_refund),
    Endpoint("GET", "/v1/refunds/{refund_id}", ALL, 200, prepare=_refund),
    Endpoint("GET", "/v1/admin/refunds", frozenset({ADMIN}), 200),
    Endpoint("GET", "/v1/orders/{order_id}/messages", ALL, 200),
    Endpoint(
        "POST", "/v1/orders/{order_id}/messages", frozenset({BUYER, SELLER}), 201, lambda w: {"body": "Hi"}
    ),
    Endpoint(
        "POST", "/v1/orders/{order_id}/proof-requests", frozenset({BUYER}), 201, prepare=_rejected_as_shipped
    ),
    Endpoint("GET", "/v1/orders/{order_id}/proof-requests", ALL, 200),
    Endpoint("GET", "/v1/proof-requests/{proof_request_id}", ALL, 200, prepare=_proof_asked),
    Endpoint(
        "POST",
        "/v1/proof-requests/{proof_request_id}/proof",
        frozenset({SELLER}),
        200,
        prepare=_proof_asked,
        files=lambda w: {"file": ("receipt.png", samples.png(), "image/png")},
    ),
    Endpoint("GET", "/v1/proof-requests/{proof_request_id}/proof", ALL, 200, prepare=_proof_provided),
    Endpoint(
        "POST",
        "/v1/complaints",
        frozenset({BUYER}),
        201,
        lambda w: {"proof_request_id": w.proof_request_id, "message": "No proof came."},
        prepare=_proof_missed,
    ),
    Endpoint("GET", "/v1/admin/complaints", frozenset({ADMIN}), 200),
    Endpoint(
        "POST",
        "/v1/orders/{order_id}/disputes",
        frozenset({BUYER}),
        201,
        lambda w: {"reason": "wrong_item", "wanted": "full_refund", "description": "Not what I ordered."},
        prepare=_pay_and_ship,
    ),
    Endpoint("GET", "/v1/orders/{order_id}/disputes", ALL, 200, prepare=_disputed),
    Endpoint("GET", "/v1/disputes", ALL, 200),
    Endpoint("GET", "/v1/disputes/{dispute_id}", ALL, 200, prepare=_disputed),
    Endpoint("GET", "/v1/disputes/{dispute_id}/messages", ALL, 200, prepare=_disputed),
    Endpoint(
        "POST",
        "/v1/disputes/{dispute_id}/messages",
        frozenset({BUYER, SELLER}),
        201,
        lambda w: {"body": "Here is what happened."},
        prepare=_disputed,
    ),
    Endpoint(
        "POST",
        "/v1/disputes/{dispute_id}/evidence",
        frozenset({BUYER, SELLER}),
        201,
        prepare=_disputed,
        files=lambda w: {"file": ("photo.png", samples.png(), "image/png")},
    ),
    Endpoint("GET", "/v1/disputes/{dispute_id}/evidence/{evidence_id}", ALL, 200, prepare=_evidence),
    Endpoint(
        "POST",
        "/v1/disputes/{dispute_id}/proposals",
        frozenset({BUYER, SELLER}),
        201,
        lambda w: {"kind": "partial_refund", "amount": 2_00},
        prepare=_disputed,
    ),
    # the buyer's own request is answered by the seller; its author is told so
    Endpoint(
        "POST",
        "/v1/proposals/{proposal_id}/accept",
        frozenset({SELLER}),
        200,
        prepare=_disputed,
        denied_to=((BUYER, (403, "own_proposal")),),
    ),
    Endpoint(
        "POST",
        "/v1/proposals/{proposal_id}/reject",
        frozenset({BUYER}),
        200,
        prepare=_seller_proposed,
        denied_to=((SELLER, (403, "own_proposal")),),
    ),
    Endpoint(
        "POST", "/v1/disputes/{dispute_id}/escalate", frozenset({BUYER, SELLER}), 200, prepare=_escalatable
    ),
    Endpoint(
        "POST",
        "/v1/disputes/{dispute_id}/info-requests",
        frozenset({ADMIN}),
        201,
        lambda w: {"party": "seller", "question": "When did you ship it?"},
        prepare=_escalated,
    ),
    Endpoint(
        "POST",
        "/v1/disputes/{dispute_id}/verdict",
        frozenset({ADMIN}),
        200,
        lambda w: {"outcome": "rejected", "rationale": "No evidence of damage."},
        prepare=_escalated,
    ),
    Endpoint(
        "POST",
        "/v1/disputes/{dispute_id}/return-shipment",
        frozenset({BUYER}),
        200,
        lambda w: {"carrier": "postal", "tracking_code": s10("66666666")},
        prepare=_return_agreed,
    ),
    Endpoint(
        "POST", "/v1/disputes/{dispute_id}/return-received", frozenset({SELLER}), 200, prepare=_return_shipped
    ),
    Endpoint("GET", "/v1/admin/disputes", frozenset({ADMIN}), 200),
]
# Authenticated by a webhook signature, not a bearer token: see test_unsigned_carrier_scans_are_refused.
WEBHOOKS = {("POST", "/v1/carriers/{carrier}/scans")}
ORDER_ENDPOINTS = [e for e in ENDPOINTS if e.on_order]
ALLOWED = [(e, role) for e in ENDPOINTS for role in ROLES if role in e.allowed]
FORBIDDEN = [e for e in ENDPOINTS if e.allowed != ALL]


def test_every_endpoint_is_in_the_table(ctx: Any) -> None:
    paths = create_app(ctx).openapi()["paths"]
    routes = {
        (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith("/v1/") and not path.startswith("/v1/sandbox/")
        for method in operations
    }
    assert routes == {(e.method, e.route) for e in ENDPOINTS} | WEBHOOKS


# --- authentication -------------------------------------------------------------------------------


def _bad_credentials(w: World) -> dict[str, dict[str, str]]:
    return {
        "no token": {},
        "unknown token": {"Authorization": "Bearer og_not_a_real_token"},
        "empty bearer": {"Authorization": "Bearer "},
        "valid token, wrong scheme": {"Authorization": f"Basic {w.buyer.token}"},
        "valid token, no scheme": {"Authorization": w.buyer.token},
        "valid token with a suffix": {"Authorization": f"Bearer {w.buyer.token}x"},
        "another account's token prefix": {"Authorization": f"Bearer {w.admin.token[:-1]}"},
    }


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_unauthenticated_caller_gets_401_and_changes_nothing(
    api: Api, world: World, endpoint: Endpoint
) -> None:
    for label, headers in _bad_credentials(world).items():
        with writes_nothing(api):
            r = endpoint.call(api, world, headers)
        assert r.status_code == 401, f"{label}: {r.status_code} {r.text}"
        assert_problem(r, 401, "unauthenticated")


# --- roles ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("endpoint", "role"), ALLOWED, ids=lambda v: str(v))
def test_allowed_role_succeeds_on_its_own_resources(
    api: Api, world: World, endpoint: Endpoint, role: str
) -> None:
    if endpoint.prepare:
        endpoint.prepare(api, world)
    r = endpoint.call(api, world, world.who(role).auth)
    assert r.status_code == endpoint.success, r.text


@pytest.mark.parametrize("endpoint", FORBIDDEN, ids=str)
def test_other_roles_are_refused_and_change_nothing(api: Api, world: World, endpoint: Endpoint) -> None:
    if endpoint.prepare:
        endpoint.prepare(api, world)
    for role in sorted(set(ROLES) - endpoint.allowed):
        status, code = dict(endpoint.denied_to).get(role, endpoint.denied)
        with writes_nothing(api):
            r = endpoint.call(api, world, world.who(role).auth)
        assert r.status_code == status, f"{role}: {r.status_code} {r.text}"
        assert_problem(r, status, code)


# --- a buyer's orders and cart are theirs alone ---------------------------------------------------


@pytest.mark.parametrize("endpoint", [e for e in ORDER_ENDPOINTS if BUYER in e.allowed], ids=str)
def test_buyer_gets_404_for_another_buyers_order_like_for_a_missing_one(
    api: Api, world: World, endpoint: Endpoint
) -> None:
    if endpoint.prepare:
        endpoint.prepare(api, world)
    with writes_nothing(api):
        theirs = endpoint.call(api, world, world.buyer.auth, order_id=world.other_order_id)
        missing = endpoint.call(api, world, world.buyer.auth, order_id="ord_does_not_exist")
    assert_problem(theirs, 404, "order_not_found")
    assert_problem(missing, 404, "order_not_found")
    # the refusal says nothing about the other buyer's order that it would not say about no order
    assert theirs.json()["detail"].replace(world.other_order_id, "?") == missing.json()["detail"].replace(
        "ord_does_not_exist", "?"
    )


def test_buyer_lists_only_their_own_orders(api: Api, world: World) -> None:
    for who, order_id in ((world.buyer, world.order_id), (world.other_buyer, world.other_order_id)):
        listed = api.get("/v1/orders", who).json()["orders"]
        assert [o["id"] for o in listed] == [order_id]
        assert {o["buyer_id"] for o in listed} == {who.id}
        for status in ("awaiting_payment", "cancelled"):
            filtered = api.get("/v1/orders", who, status=status).json()["orders"]
            assert {o["buyer_id"] for o in filtered} <= {who.id}


def test_buyer_sees_only_their_own_cart(api: Api, world: World) -> None:
    mine = api.get("/v1/cart", world.buyer).json()["items"]
    theirs = api.get("/v1/cart", world.other_buyer).json()["items"]
    assert world.cart_item_id in {i["id"] for i in mine}
    assert world.cart_item_id not in {i["id"] for i in theirs}
    assert {i["offer_id"] for i in theirs} == {world.other_listing.offer_id}


def test_buyer_cannot_delete_an_item_from_another_buyers_cart(api: Api, world: World) -> None:
    before = api.get("/v1/cart", world.buyer).json()
    with writes_nothing(api):
        r = api.delete(f"/v1/cart/items/{world.cart_item_id}", world.other_buyer, expect=None)
    assert_problem(r, 404, "cart_item_not_found")
    assert api.get("/v1/cart", world.buyer).json() == before


def test_buyer_cannot_decrease_an_item_in_another_buyers_cart(api: Api, world: World) -> None:
    before = api.get("/v1/cart", world.buyer).json()
    with writes_nothing(api):
        r = api.client.patch(
            f"/v1/cart/items/{world.cart_item_id}", json={"quantity": 1}, headers=world.other_buyer.auth
        )
    assert_problem(r, 404, "cart_item_not_found")
    assert api.get("/v1/cart", world.buyer).json() == before


def test_buyer_checkout_never_takes_another_buyers_cart_items(api: Api, world: World) -> None:
    # other_buyer's only item is held by their order: their cart has nothing free to check out
    with writes_nothing(api):
        r = api.post("/v1/checkout", world.other_buyer, {"shipping_address": ADDRESS})
    assert_problem(r, 409, "cart_empty")
    (order,) = api.checkout(world.buyer)
    assert order["buyer_id"] == world.buyer.id


# --- a seller sees their own stores' orders only ---------------------------------------------------


def _all_pages(api: Api, who: Who, **params: Any) -> list[dict[str, Any]]:
    orders: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = api.get("/v1/orders", who, limit=1, **({"cursor": cursor} if cursor else {}), **params).json()
        orders += page["orders"]
        cursor = page["next_cursor"]
        if cursor is None:
            return orders


def test_seller_lists_only_orders_of_their_own_stores(api: Api, world: World) -> None:
    # a third order, at the other seller's store, by the buyer who also buys from the seller
    api.add(world.buyer, world.other_listing)
    api.checkout(world.buyer)
    for seller, listing in ((world.seller, world.listing), (world.other_seller, world.other_listing)):
        listed = api.get("/v1/orders", seller).json()["orders"]
        paged = _all_pages(api, seller)
        assert listed and {o["store_id"] for o in listed} == {listing.store_id}
        assert [o["id"] for o in paged] == [o["id"] for o in listed]
        filtered = api.get("/v1/orders", seller, status="awaiting_payment").json()["orders"]
        assert {o["store_id"] for o in filtered} == {listing.store_id}


def test_seller_with_two_stores_sees_the_orders_of_both(api: Api, world: World) -> None:
    second = api.listing(seller=world.seller)
    order = api.place(world.other_buyer, second)
    listed = {o["id"] for o in api.get("/v1/orders", world.seller).json()["orders"]}
    assert listed == {world.order_id, order["id"]}
    assert api.order(order["id"], world.seller)["your_role"] == "seller"


@pytest.mark.parametrize("endpoint", [e for e in ORDER_ENDPOINTS if SELLER in e.allowed], ids=str)
def test_seller_gets_404_for_another_stores_order(api: Api, world: World, endpoint: Endpoint) -> None:
    if endpoint.prepare:
        endpoint.prepare(api, world)
    with writes_nothing(api):
        r = endpoint.call(api, world, world.seller.auth, order_id=world.other_order_id)
    assert_problem(r, 404, "order_not_found")
    own = endpoint.call(api, world, world.seller.auth)
    assert own.status_code == endpoint.success, own.text


def test_seller_sees_own_store_order_as_seller(api: Api, world: World) -> None:
    detail = api.order(world.order_id, world.seller)
    assert detail["your_role"] == "seller" and detail["store_id"] == world.listing.store_id
    assert [e["kind"] for e in api.timeline(world.order_id, world.seller)] == ["placed"]


def test_seller_cannot_create_an_offer_in_another_sellers_store(api: Api, world: World) -> None:
    body = {**_offer_body(world), "store_id": world.other_listing.store_id}
    with writes_nothing(api):
        r = api.post("/v1/offers", world.seller, body)
    assert_problem(r, 404, "store_not_found")
    offers = api.get(f"/v1/products/{world.spare_product_id}/offers", world.seller).json()["offers"]
    assert offers == []


def test_buyer_cannot_create_stores_or_offers(api: Api, world: World) -> None:
    own_store = api.post("/v1/stores", world.seller, {"name": "Mine"}, expect=201).json()["id"]
    with writes_nothing(api):
        store = api.post("/v1/stores", world.buyer, {"name": "Buyer's store"})
        offer = api.post("/v1/offers", world.buyer, {**_offer_body(world), "store_id": own_store})
    assert_problem(store, 403, "forbidden_role")
    assert_problem(offer, 403, "forbidden_role")


# --- an admin sees everything ----------------------------------------------------------------------


def test_admin_sees_every_order(api: Api, world: World) -> None:
    listed = {o["id"] for o in api.get("/v1/orders", world.admin).json()["orders"]}
    assert listed == {world.order_id, world.other_order_id}
    assert {o["id"] for o in _all_pages(api, world.admin)} == listed
    for order_id in listed:
        detail = api.order(order_id, world.admin)
        assert detail["your_role"] == "admin"
        assert [e["kind"] for e in api.timeline(order_id, world.admin)] == ["placed"]


def test_a_refund_is_not_found_by_anyone_not_a_party_to_its_order(api: Api, world: World) -> None:
    _refund(api, world)
    for who in (world.other_buyer, world.other_seller):
        theirs = api.get(f"/v1/refunds/{world.refund_id}", who, expect=None)
        missing = api.get("/v1/refunds/rfd_does_not_exist", who, expect=None)
        assert_problem(theirs, 404, "refund_not_found")
        assert_problem(missing, 404, "refund_not_found")
        assert theirs.json()["detail"].replace(world.refund_id, "?") == missing.json()["detail"].replace(
            "rfd_does_not_exist", "?"
        )
    for who in (world.buyer, world.seller, world.admin):
        assert api.get(f"/v1/refunds/{world.refund_id}", who).json()["order_id"] == world.order_id
    listed = api.get("/v1/admin/refunds", world.admin).json()["refunds"]
    assert len(listed) == 2  # an administrator sees every refund


def test_unsigned_carrier_scans_are_refused_and_change_nothing(api: Api, world: World) -> None:
    body = {
        "scans": [
            {
                "tracking_code": s10("12345678"),
                "kind": "delivered",
                "occurred_at": "2026-01-05T09:00:00+00:00",
                "place": {"country": "PL"},
            }
        ]
    }
    now = str(int(api.ctx.clock.now().timestamp()))
    attempts = {
        "no signature": ("postal", {}, "missing_signature"),
        "buyer's bearer token instead": ("postal", world.buyer.auth, "missing_signature"),
        "wrong signature": (
            "postal",
            {"webhook-timestamp": now, "webhook-signature": "v1=" + "0" * 64},
            "bad_signature",
        ),
        "carrier without a secret": (
            "nobody",
            {"webhook-timestamp": now, "webhook-signature": "v1=0"},
            "unknown_carrier",
        ),
    }
    for label, (carrier, headers, code) in attempts.items():
        with writes_nothing(api):
            r = api.post(f"/v1/carriers/{carrier}/scans", json=body, headers=headers)
        assert r.status_code == 401, f"{label}: {r.status_code} {r.text}"
        assert_problem(r, 401, code)
