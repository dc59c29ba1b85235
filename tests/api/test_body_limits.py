"""Body limits per route: 64 KB everywhere, a larger limit (asked per request) where a route takes files."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from orderguard.api.guard import MAX_BODY_BYTES, BodyLimit, RequestGuard
from orderguard.app.idempotency import IdempotencyKeys
from tests.api.helpers import assert_problem

UPLOAD = "/v1/things/th_1/file"


async def _echo(request: Request) -> JSONResponse:
    return JSONResponse({"received": len(await request.body())})


class Limit:
    def __init__(self, n: int) -> None:
        self.n = n

    def __call__(self) -> int:
        return self.n


@pytest.fixture
def limit() -> Limit:
    return Limit(200 * 1024)


@pytest.fixture
def client(limit: Limit) -> Iterator[TestClient]:
    inner = Starlette(
        routes=[Route(UPLOAD, _echo, methods=["POST"]), Route("/v1/other", _echo, methods=["POST"])]
    )
    guard = RequestGuard(
        inner,
        keys=cast(IdempotencyKeys, None),  # no Idempotency-Key is sent here
        limits=[BodyLimit("POST", re.compile(r"/v1/things/[^/]+/file"), limit)],
    )
    with TestClient(cast(Any, guard)) as c:
        yield c


def _chunks(total: int, size: int = 16 * 1024) -> Iterator[bytes]:
    while total > 0:
        yield b"x" * min(size, total)
        total -= size


def test_other_routes_keep_the_64_kb_limit(client: TestClient) -> None:
    assert client.post("/v1/other", content=b"x" * MAX_BODY_BYTES).json() == {"received": MAX_BODY_BYTES}
    r = client.post("/v1/other", content=b"x" * (MAX_BODY_BYTES + 1))
    assert_problem(r, 413, "payload_too_large")
    assert r.headers["connection"] == "close"
    # the upload route's path under another method, or a path it only starts, is not an upload
    assert_problem(client.put(UPLOAD, content=b"x" * (MAX_BODY_BYTES + 1)), 413, "payload_too_large")
    assert_problem(client.post(UPLOAD + "/x", content=b"x" * (MAX_BODY_BYTES + 1)), 413, "payload_too_large")


def test_the_upload_route_takes_up_to_its_own_limit(client: TestClient, limit: Limit) -> None:
    assert client.post(UPLOAD, content=b"x" * limit.n).json() == {"received": limit.n}
    r = client.post(UPLOAD, content=b"x" * (limit.n + 1))  # declared length: refused before reading
    assert_problem(r, 413, "payload_too_large")
    assert str(limit.n) in r.json()["detail"]


def test_a_chunked_upload_is_cut_off_while_it_streams(client: TestClient, limit: Limit) -> None:
    assert client.post(UPLOAD, content=_chunks(limit.n)).json() == {"received": limit.n}
    r = client.post(UPLOAD, content=_chunks(limit.n + 1))
    assert_problem(r, 413, "payload_too_large")
    assert r.headers["connection"] == "close"


def test_the_limit_is_asked_for_each_request(client: TestClient, limit: Limit) -> None:
    body = b"x" * (150 * 1024)
    assert client.post(UPLOAD, content=body).status_code == 200
    limit.n = 100 * 1024  # e.g. a new policy put in force
    assert_problem(client.post(UPLOAD, content=body), 413, "payload_too_large")
