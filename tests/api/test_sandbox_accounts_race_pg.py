"""Twenty creations of one email at once on PostgreSQL: one account, one 201, nineteen 409s (issue #7).

Each thread has its own TestClient (its own event loop) over one application, and
a barrier starts the requests together. Today 7 of 20 got a 500 from the unique index.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select

from orderguard.api.app_factory import create_app
from orderguard.app.context import Context
from orderguard.store import tables as t
from orderguard.store.db import reading

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.parametrize("db_url", ["postgresql"], indirect=True),  # conftest's, PostgreSQL only
]

THREADS = 20
TIMEOUT = 60.0


def test_one_email_created_twenty_times_at_once_makes_one_account(ctx: Context) -> None:
    app = create_app(ctx)
    barrier = threading.Barrier(THREADS, timeout=TIMEOUT)
    responses: list[Response] = []
    body = {"role": "buyer", "name": "Ann", "email": "ann@example.com"}

    def create() -> None:
        with TestClient(app, raise_server_exceptions=False) as client:
            barrier.wait()
            responses.append(client.post("/v1/sandbox/accounts", json=body))

    threads = [threading.Thread(target=create, daemon=True) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a request hung"

    assert Counter(r.status_code for r in responses) == {201: 1, 409: THREADS - 1}, [
        r.text for r in responses if r.status_code not in (201, 409)
    ]
    refused = [r for r in responses if r.status_code == 409]
    assert all(r.headers["content-type"].startswith("application/problem+json") for r in refused)
    assert {r.json()["code"] for r in refused} == {"email_taken"}
    with reading(ctx.engine) as conn:
        accounts = conn.execute(
            select(func.count()).select_from(t.accounts).where(t.accounts.c.email == body["email"])
        ).scalar_one()
        tokens = conn.execute(select(func.count()).select_from(t.tokens)).scalar_one()
    assert accounts == 1 and tokens == 1
