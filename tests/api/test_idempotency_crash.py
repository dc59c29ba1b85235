"""Idempotency survives a crash (issue #7, item 5): real server processes, one killed mid-request.

Two uvicorn processes serve one database. A payment sent with an Idempotency-Key to the first
is held up in flight. While it is only slow, its heartbeat renews the lease, so a retry on the
second process is refused (409) rather than run a second time, and then replays the first's
answer. Then the first process is SIGKILLed with another payment in flight: the second answers a
retry with 409 while the dead request's lease is current, and runs it, once, when it has passed.

The request is held up in one of two ways: `delay`, a test-only wait in the server just inside
the request guard (tests/api/live_server.py), as a slow provider call would; or, on PostgreSQL,
`row_lock`, the test holding the order's row lock so that the payment's own transaction waits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text

from orderguard.providers.clock import SystemClock
from orderguard.store import tables as t
from orderguard.store.db import reading
from tests.api.helpers import assert_problem
from tests.api.live_server import Server, live_servers
from tests.support import Api, Who

pytestmark = pytest.mark.slow

LEASE = 2.0  # seconds, the servers'; the default is 30
WAIT = 30.0  # seconds: a test fails rather than hangs


# How the first request is held up: a test-only delay on both databases, or the order's row held
# by the test, on PostgreSQL only (SQLite has no row locks: a held write lock would stall the
# lease's renewal too).
STALLS = pytest.mark.parametrize(
    ("db_url", "stall"),
    [("sqlite", "delay"), ("postgresql", "delay"), ("postgresql", "row_lock")],
    indirect=["db_url"],
)


def _pay(server: Server, path: str, buyer: Who, key: str, delay: float = 0) -> httpx.Response:
    headers = {**buyer.auth, "Idempotency-Key": key}
    if delay:
        headers["x-test-delay"] = str(delay)
    return httpx.post(server.url + path, json={"method": "card"}, headers=headers, timeout=WAIT)


@dataclass(frozen=True)
class _Key:
    status_code: int | None
    lease_until: datetime


def _key(api: Api, buyer: Who, key: str) -> _Key | None:
    k = t.idempotency_keys.c
    with reading(api.ctx.engine) as conn:
        row = conn.execute(
            select(k.status_code, k.lease_until).where(k.account_id == buyer.id, k.key == key)
        ).first()
    return None if row is None else _Key(row.status_code, row.lease_until)


def _wait_for(what: str, condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"waited {WAIT} s for {what}"
        time.sleep(0.05)


def _now() -> datetime:
    return SystemClock().now()


@contextmanager
def _stalled(api: Api, stall: str, order_id: str) -> Iterator[float]:
    """While inside, a payment of the order is held up in flight; yields the x-test-delay to send."""
    if stall == "delay":
        yield 3600
        return
    with api.ctx.engine.connect() as conn, conn.begin():
        conn.execute(select(t.orders.c.id).where(t.orders.c.id == order_id).with_for_update())
        yield 0


def _wait_until_in_flight(api: Api, buyer: Who, key: str, stall: str) -> None:
    _wait_for("the key to be reserved", lambda: _key(api, buyer, key) is not None)
    if stall == "row_lock":
        waiting = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")

        def blocked() -> bool:
            with api.ctx.engine.connect() as conn:
                return bool(conn.execute(waiting).scalar_one())

        _wait_for("the payment to wait for the row lock", blocked)


def _payments(api: Api, buyer: Who, order_id: str) -> list[str]:
    return [p["id"] for p in api.order(order_id, buyer)["payments"]]


@STALLS
def test_a_slow_request_keeps_its_key_and_one_killed_mid_request_loses_it_once_its_lease_passes(
    api: Api, db_url: str, tmp_path: Path, stall: str
) -> None:
    buyer = api.buyer()
    slow, doomed = api.place(buyer, api.listing()), api.place(buyer, api.listing())
    lease = {"idempotency_lease_seconds": str(LEASE)}
    with live_servers(2, db_url, tmp_path, **lease) as (first, second), ThreadPoolExecutor(1) as pool:
        # Alive but slow: the heartbeat keeps the key well past a lease, as every server sees.
        path = f"/v1/orders/{slow['id']}/payments"
        with _stalled(api, stall, slow["id"]) as delay:
            in_flight = pool.submit(_pay, first, path, buyer, "slow", 3 * LEASE if delay else 0)
            _wait_until_in_flight(api, buyer, "slow", stall)
            time.sleep(2 * LEASE)
            assert_problem(_pay(second, path, buyer, "slow"), 409, "idempotency_request_in_progress")
        done = in_flight.result(WAIT)
        assert done.status_code == 201, done.text
        again = _pay(second, path, buyer, "slow")
        assert again.headers["idempotent-replayed"] == "true" and again.content == done.content
        assert _payments(api, buyer, slow["id"]) == [done.json()["id"]]

        # Killed mid-request: its key is refused while the lease lasts, then taken over, once.
        path = f"/v1/orders/{doomed['id']}/payments"
        with _stalled(api, stall, doomed["id"]) as delay:
            in_flight = pool.submit(_pay, first, path, buyer, "doomed", delay)
            _wait_until_in_flight(api, buyer, "doomed", stall)
            first.kill()
            assert isinstance(in_flight.exception(WAIT), httpx.TransportError)
        row = _key(api, buyer, "doomed")
        assert row is not None and row.status_code is None  # left in progress by the dead process
        retry = _pay(second, path, buyer, "doomed")
        assert _now() < row.lease_until
        assert_problem(retry, 409, "idempotency_request_in_progress")

        deadline = time.monotonic() + WAIT
        while (retry := _pay(second, path, buyer, "doomed")).status_code == 409:
            assert time.monotonic() < deadline, "the dead request's key was never taken over"
            time.sleep(0.1)
        assert _now() >= row.lease_until
        assert retry.status_code == 201, retry.text
        again = _pay(second, path, buyer, "doomed")
        assert again.headers["idempotent-replayed"] == "true" and again.content == retry.content
    assert _payments(api, buyer, doomed["id"]) == [retry.json()["id"]]
    assert api.status(doomed["id"], buyer) == api.status(slow["id"], buyer) == "awaiting_shipment"
    api.assert_ledger_balanced()
