"""A sandbox worker survives a database outage (issue #7).

The outage is real: PostgreSQL is told to refuse connections to the test database
and every open one is terminated; the worker must keep polling, then fire what is
due once the database is back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from orderguard.app.context import Context
from orderguard.providers.clock import VirtualClock
from orderguard.scheduler.worker import run
from orderguard.store import tables as t
from orderguard.store.db import reading
from tests.conftest import PG_ADMIN_URL, START
from tests.support import unpaid_order

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.parametrize("db_url", ["postgresql"], indirect=True),  # conftest's, PostgreSQL only
]


@contextmanager
def outage(db_url: str) -> Iterator[None]:
    name = make_url(db_url).database
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                {"name": name},
            )
        yield
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()


def _unpaid_order_past_its_pay_by(ctx: Context) -> str:
    _, order_id = unpaid_order(ctx)
    assert isinstance(ctx.clock, VirtualClock)
    ctx.clock.move_to(START + timedelta(days=21))  # due, but nothing has fired it yet
    return order_id


def _state(ctx: Context, order_id: str) -> str:
    with reading(ctx.engine) as conn:
        return str(conn.execute(select(t.orders.c.state).where(t.orders.c.id == order_id)).scalar_one())


def test_a_sandbox_worker_keeps_polling_through_an_outage_and_fires_after_it(
    ctx: Context, db_url: str
) -> None:
    order_id = _unpaid_order_past_its_pay_by(ctx)
    stop = threading.Event()
    died: list[BaseException] = []
    fired: list[int] = []

    def worker() -> None:
        try:
            fired.append(run(ctx, poll_seconds=0.05, stop=stop))
        except BaseException as e:  # judged below
            died.append(e)

    thread = threading.Thread(target=worker, daemon=True)
    with outage(db_url):
        thread.start()
        time.sleep(0.5)  # about ten rounds against a database that refuses every connection
        assert thread.is_alive(), f"the worker died in the outage: {died!r}"
    try:
        give_up = time.monotonic() + 15
        while _state(ctx, order_id) != "cancelled":
            assert time.monotonic() < give_up, "the worker fired nothing after the database came back"
            assert thread.is_alive(), f"the worker died: {died!r}"
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive() and died == [] and fired == [1]
