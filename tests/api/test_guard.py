"""The request guard in process: JSON nesting depth, and the headers every response carries (issue #7)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from orderguard.api.app_factory import create_app
from orderguard.api.guard import MAX_JSON_DEPTH, too_deep
from orderguard.app.context import Context
from tests.api.helpers import assert_problem, writes_nothing
from tests.support import Api, Who

JSON = {"content-type": "application/json"}


def _nested(depth: int) -> bytes:
    return b'{"name": ' + b"[" * depth + b"]" * depth + b"}"


def _post_raw(api: Api, path: str, who: Who | None, body: bytes, **headers: str) -> Response:
    r: Response = api.client.post(
        path, content=body, headers={**JSON, **(who.auth if who else {}), **headers}
    )
    return r


# --- depth ------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "deep-1"])
def test_a_deeply_nested_body_is_refused_before_anything_parses_it(api: Api, key: str | None) -> None:
    """`_canonical` raised RecursionError on this with an Idempotency-Key: a 500."""
    seller = api.account("seller", "Sam")
    headers = {"Idempotency-Key": key} if key else {}
    for depth in (MAX_JSON_DEPTH + 1, 30_000):  # 30,000 levels fit in 64 KB
        with writes_nothing(api):
            r = _post_raw(api, "/v1/stores", seller, _nested(depth), **headers)
        assert_problem(r, 422, "body_too_deep")


def test_a_body_within_the_depth_limit_reaches_the_route(api: Api) -> None:
    seller = api.account("seller", "Sam")
    r = _post_raw(api, "/v1/stores", seller, _nested(MAX_JSON_DEPTH - 1), **{"Idempotency-Key": "k"})
    assert_problem(r, 422, "validation_error")  # the route's own answer: a name is a string


def test_brackets_inside_strings_do_not_count(api: Api) -> None:
    seller = api.account("seller", "Sam")
    name = "[{" * 40 + '\\"[' * 10
    body = b'{"name": "' + name.encode() + b'"}'
    r = _post_raw(api, "/v1/stores", seller, body, **{"Idempotency-Key": "k"})
    assert r.status_code == 201, r.text
    assert r.json()["name"] == name.replace("\\", "")


def test_a_deep_body_of_another_content_type_is_left_to_the_route(api: Api) -> None:
    seller = api.account("seller", "Sam")
    r = _post_raw(api, "/v1/stores", seller, _nested(100), **{"content-type": "text/plain"})
    assert r.status_code != 422 or r.json()["code"] != "body_too_deep"
    assert r.status_code < 500


@pytest.mark.parametrize(
    ("body", "deep"),
    [
        (b"[" * 33, True),
        (b"[" * 32 + b"]" * 32, False),
        (b"[]" * 1000, False),
        (b'["' + b"[" * 100 + b'"]', False),
        (b'["\\"' + b"[" * 100 + b'"]', False),
        (b'["\\\\"' + b"[" * 40, True),  # the string ends at the second quote
        (b'{"a": {"b": ' * 20 + b"1" + b"}}" * 20, True),
        (b'"' + b"[" * 40, False),  # an unterminated string runs to the end
    ],
)
def test_depth_is_measured_outside_strings(body: bytes, deep: bool) -> None:
    assert too_deep(body, MAX_JSON_DEPTH) is deep


def test_measuring_depth_stays_linear_on_hostile_bodies() -> None:
    for body in (b'"\\"' * 21_000 + b"[" * 40, b'["' * 21_000 + b"[" * 40, b"[" * 65_000):
        started = time.perf_counter()
        too_deep(body, MAX_JSON_DEPTH)
        assert time.perf_counter() - started < 0.05


# --- headers ----------------------------------------------------------------------------------


def _cacheable(r: Response) -> bool:
    return "cache-control" not in r.headers


def test_every_response_says_nosniff(api: Api) -> None:
    buyer = api.buyer()
    responses = [
        api.get("/healthz"),
        api.get("/openapi.json"),
        api.get("/v1/orders", buyer),
        api.get("/v1/orders", None, expect=401),
        api.get("/v1/nowhere", None, expect=404),
        api.post("/v1/checkout", buyer, {"shipping_address": {}}),
        _post_raw(api, "/v1/stores", None, _nested(100)),
    ]
    for r in responses:
        assert r.headers["x-content-type-options"] == "nosniff", (r.request.url, r.headers)


def test_authenticated_data_and_problems_are_not_stored_by_caches(api: Api) -> None:
    buyer = api.buyer()
    order = api.place(buyer, api.listing())
    private = [
        api.get("/v1/orders", buyer),
        api.get(f"/v1/orders/{order['id']}", buyer),
        api.get("/v1/cart", buyer),
        api.post("/v1/sandbox/accounts", None, {"role": "buyer", "name": "Bo"}, expect=201),  # a token
        api.get("/v1/orders", None, expect=401),
        api.get("/v1/nowhere", None, expect=404),
    ]
    for r in private:
        assert r.headers["cache-control"] == "no-store", (r.request.url, r.headers)
    assert _cacheable(api.get("/openapi.json"))
    assert _cacheable(api.get("/healthz"))


def test_a_replayed_response_carries_the_headers_too(api: Api) -> None:
    seller = api.account("seller", "Sam")
    for _ in range(2):
        r = api.post("/v1/stores", seller, {"name": "Twice"}, headers={"Idempotency-Key": "k"}, expect=201)
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["cache-control"] == "no-store"
    assert r.headers["idempotent-replayed"] == "true"


@pytest.fixture
def failing_app(ctx: Context) -> Iterator[TestClient]:
    app: FastAPI = create_app(ctx)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_a_server_error_carries_the_headers_too(failing_app: TestClient) -> None:
    r = failing_app.get("/boom", headers={"Authorization": "Bearer whatever"})
    assert r.status_code == 500
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"


def test_a_server_error_is_not_stored_and_the_retry_runs_again(ctx: Context) -> None:
    app: FastAPI = create_app(ctx)
    calls: list[str] = []

    @app.post("/boom")
    def boom() -> None:
        calls.append("boom")
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        token = client.post("/v1/sandbox/accounts", json={"role": "buyer", "name": "Ann"}).json()["token"]
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "k"}
        for attempt in (1, 2):
            r = client.post("/boom", json={}, headers=headers)
            assert r.status_code == 500 and "idempotent-replayed" not in r.headers
            assert len(calls) == attempt


def test_answers_about_the_request_are_judged_again_not_replayed(api: Api) -> None:
    """A 405 (or 401, 413, 415) under an Idempotency-Key is not stored: a replay would lose `Allow`."""
    buyer = api.buyer()
    headers = {"Idempotency-Key": "k-405"}
    first = api.post("/v1/cart", buyer, {}, expect=405, headers=headers)
    again = api.post("/v1/cart", buyer, {}, expect=405, headers=headers)
    for r in (first, again):
        assert_problem(r, 405, "method_not_allowed")
        assert r.headers["allow"] == "GET"
    assert "idempotent-replayed" not in again.headers
