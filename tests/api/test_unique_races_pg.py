"""Issue #7 item 3: a unique constraint lost in a race is the same 409 as the check-first path.

Twenty identical requests at once, through the HTTP app on PostgreSQL, from real threads started
together: exactly one succeeds, every other gets the documented 409 problem+json (never a 500),
and the database holds exactly one row. (On SQLite writers are serialised, so these cannot race.)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from httpx import Response
from sqlalchemy import func, select

from orderguard.api.app_factory import create_app
from orderguard.app.context import Context, PolicyBook, load_policy_file
from orderguard.domain.policy import PolicyVersion, version_of
from orderguard.store import tables as t
from orderguard.store.db import reading
from tests.support import Api, Who, s10

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.parametrize("db_url", ["postgresql"], indirect=True),  # conftest's, PostgreSQL only
]

N = 20
TIMEOUT = 60.0


@pytest.fixture
def api500(ctx: Context) -> Iterator[Api]:
    """The API as a client sees it: a server error is a 500 response, not an exception in the test."""
    from fastapi.testclient import TestClient

    with TestClient(create_app(ctx), raise_server_exceptions=False) as client:
        yield Api(client, ctx)


def _race(calls: list[Callable[[], Response]]) -> list[Response]:
    """Run the calls in threads started together; every thread must finish in time."""
    barrier = threading.Barrier(len(calls), timeout=TIMEOUT)
    results: list[Response | BaseException | None] = [None] * len(calls)

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = calls[i]()
        except BaseException as e:  # judged below
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a racing request hung"
    errors = [r for r in results if not isinstance(r, Response)]
    assert not errors, errors
    return [r for r in results if isinstance(r, Response)]


def _one_winner(responses: list[Response], success: int, code: str) -> Response:
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {success: 1, 409: N - 1}, {s: n for s, n in statuses.items()} | {
        "bodies": sorted({r.text for r in responses if r.status_code not in (success, 409)})
    }
    for r in responses:
        if r.status_code == 409:
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["code"] == code, r.text
    return next(r for r in responses if r.status_code == success)


def _count(api: Api, table: Any, *where: Any) -> int:
    with reading(api.ctx.engine) as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def _paid_order(api: Api, seller: Who | None = None, buyer: Who | None = None) -> tuple[Who, str]:
    buyer = buyer or api.buyer()
    listing = api.listing(seller=seller)
    order = api.place(buyer, listing)
    api.pay(buyer, order["id"])
    return listing.seller, order["id"]


def _scan_body(code: str, kind: str, at: datetime, place: dict[str, str]) -> bytes:
    scan = {"tracking_code": code, "kind": kind, "occurred_at": at.isoformat(), "place": place}
    return json.dumps({"scans": [scan]}).encode()


def _signed(api: Api, raw: bytes, ts: str) -> dict[str, str]:
    """Headers of a postal carrier delivery of `raw`, signed at `ts`."""
    secret = api.ctx.carrier_secrets["postal"].encode()
    signature = "v1=" + hmac.new(secret, ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return {"webhook-timestamp": ts, "webhook-signature": signature, "content-type": "application/json"}


def test_one_signed_webhook_delivered_20_times_is_applied_once(api500: Api) -> None:
    api = api500
    seller, order_id = _paid_order(api)
    code = s10("90909090")
    api.post(
        f"/v1/orders/{order_id}/shipments", seller, {"carrier": "postal", "tracking_code": code}, expect=201
    )
    now = datetime.fromisoformat(api.get("/v1/sandbox/clock").json()["now"])
    raw = _scan_body(code, "accepted", now, {"country": "CN", "city": "Shenzhen", "postal_code": "518000"})
    headers = _signed(api, raw, str(int(now.timestamp())))

    responses = _race(
        [lambda: api.client.post("/v1/carriers/postal/scans", content=raw, headers=headers)] * N
    )

    won = _one_winner(responses, 200, "replayed_webhook")
    assert won.json() == {"accepted": 1, "duplicates": 0}
    assert _count(api, t.carrier_webhooks) == 1
    assert _count(api, t.scans) == 1
    assert _count(api, t.events, t.events.c.kind == "shipment_accepted") == 1


def test_one_scan_in_20_differently_signed_deliveries_is_recorded_once(api500: Api) -> None:
    """Scans have a unique identity too: the order's row lock, taken before they are read, serialises them."""
    api = api500
    seller, order_id = _paid_order(api)
    code = s10("93939393")
    api.post(
        f"/v1/orders/{order_id}/shipments", seller, {"carrier": "postal", "tracking_code": code}, expect=201
    )
    now = datetime.fromisoformat(api.get("/v1/sandbox/clock").json()["now"])
    raw = _scan_body(code, "in_transit", now, {"country": "PL", "city": "Warsaw", "postal_code": "00-001"})

    def deliver(ts: str) -> Response:
        return api.client.post("/v1/carriers/postal/scans", content=raw, headers=_signed(api, raw, ts))

    responses = _race([lambda i=i: deliver(str(int(now.timestamp()) - i)) for i in range(N)])

    assert Counter(r.status_code for r in responses) == {200: N}, {r.text for r in responses}
    assert Counter(r.json()["accepted"] for r in responses) == {1: 1, 0: N - 1}
    assert _count(api, t.carrier_webhooks) == N
    assert _count(api, t.scans) == 1
    assert _count(api, t.events, t.events.c.kind == "shipment_in_transit") == 1


def test_20_shipments_of_one_whole_order_at_once_ship_it_once(api500: Api) -> None:
    api = api500
    seller, order_id = _paid_order(api)

    responses = _race(
        [
            lambda i=i: api.post(
                f"/v1/orders/{order_id}/shipments",
                seller,
                {"carrier": "postal", "tracking_code": s10(f"940000{i:02d}")},
            )
            for i in range(N)
        ]
    )

    _one_winner(responses, 201, "order_fully_shipped")
    assert _count(api, t.shipments) == 1
    assert _count(api, t.shipment_lines) == 1
    assert _count(api, t.tracking_codes) == 1
    assert _order_state(api, order_id) == "shipped"


def test_20_creations_of_one_offer_make_one(api500: Api) -> None:
    api = api500
    seller = api.account("seller", "Sam")
    store_id = api.post("/v1/stores", seller, {"name": "Sam's"}, expect=201).json()["id"]
    product_id = api.post("/v1/products", seller, {"title": "Cable"}, expect=201).json()["id"]
    body = {
        "store_id": store_id,
        "product_id": product_id,
        "price": 4_00,
        "currency": "USD",
        "stock": 9,
        "handling_days": 1,
        "shipping_options": [
            {"carrier": "postal", "price": 1_00, "promised_days": 10},
            {"carrier": "dhl", "price": 9_00, "promised_days": 3},
        ],
    }

    responses = _race([lambda: api.post("/v1/offers", seller, body)] * N)

    offer_id = _one_winner(responses, 201, "offer_exists").json()["id"]
    assert all(offer_id in r.json()["detail"] for r in responses if r.status_code == 409)
    assert _count(api, t.offers) == 1
    assert _count(api, t.shipping_options) == 2
    assert _count(api, t.shipping_options, t.shipping_options.c.offer_id == offer_id) == 2


def test_20_stores_shipping_under_one_code_at_once_leave_it_to_one(api500: Api) -> None:
    api = api500
    code = s10("91919191")
    shops = [_paid_order(api) for _ in range(N)]

    responses = _race(
        [
            lambda s=seller, o=order_id: api.post(
                f"/v1/orders/{o}/shipments", s, {"carrier": "postal", "tracking_code": code}
            )
            for seller, order_id in shops
        ]
    )

    won = _one_winner(responses, 201, "tracking_code_in_use").json()
    assert _count(api, t.tracking_codes) == 1
    assert _count(api, t.shipments) == 1
    assert _count(api, t.shipments, t.shipments.c.order_id == won["order_id"]) == 1
    states = Counter(_order_state(api, order_id) for _, order_id in shops)
    assert states == {"shipped": 1, "awaiting_shipment": N - 1}


def _order_state(api: Api, order_id: str) -> str:
    with reading(api.ctx.engine) as conn:
        return str(conn.execute(select(t.orders.c.state).where(t.orders.c.id == order_id)).scalar_one())


def test_one_store_shipping_20_orders_of_one_buyer_in_one_parcel_at_once_ships_them_all(
    api500: Api,
) -> None:
    api = api500
    code = s10("92929292")
    seller, buyer = api.account("seller", "Sam"), api.buyer()
    listing = api.listing(seller=seller, stock=N)
    orders = [api.place(buyer, listing)["id"] for _ in range(N)]
    for order_id in orders:
        api.pay(buyer, order_id)

    responses = _race(
        [
            lambda o=order_id: api.post(
                f"/v1/orders/{o}/shipments", seller, {"carrier": "postal", "tracking_code": code}
            )
            for order_id in orders
        ]
    )

    assert Counter(r.status_code for r in responses) == {201: N}, {r.text for r in responses}
    assert _count(api, t.tracking_codes) == 1
    assert _count(api, t.shipments, t.shipments.c.tracking_code == code) == N


def test_20_processes_adopting_one_new_policy_at_once_store_it_once(ctx: Context) -> None:
    policy = load_policy_file().policy
    books = [PolicyBook(ctx.units, ctx.policies.current, ctx.clock) for _ in range(N)]  # one per process
    for round_ in range(5):  # the window between the check and the insert is short: try it a few times
        version = version_of(policy.model_copy(update={"version": f"2026.12-race-{round_}"}))

        def adopt(book: PolicyBook, v: PolicyVersion = version) -> Response:
            book.adopt(v)
            return Response(200)

        _race([lambda b=book: adopt(b) for book in books])
        with reading(ctx.engine) as conn:
            keys = conn.execute(select(t.policies.c.key).where(t.policies.c.key == version.key)).all()
        assert len(keys) == 1
