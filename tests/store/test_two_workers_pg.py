"""Two real worker processes on one PostgreSQL never fire a deadline twice (issue #2).

Thousands of unpaid orders are placed through the app/ use cases with a clock
far in the past, so every pay-by deadline is already due by the system clock
the workers read. Two `orderguard worker --until-idle` processes then share the
deadlines table through `FOR UPDATE SKIP LOCKED`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from orderguard.app import accounts, cart, catalogue
from orderguard.app.catalogue import OptionInput
from orderguard.app.context import Context, Principal
from orderguard.bootstrap import build_context
from orderguard.domain.machine import Actor
from orderguard.domain.orders import Address
from orderguard.providers.clock import FixedClock
from orderguard.settings import Settings
from orderguard.store import tables as t
from orderguard.store.db import reading
from orderguard.store.ledger_repo import check

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.slow,
    pytest.mark.parametrize("db_url", ["postgresql"], indirect=True),  # conftest's, PostgreSQL only
]

STORES = 20  # one checkout places one order per store
BUYERS = 100  # 100 buyers x 20 stores = 2000 orders
STOCK = 1_000
PAST = datetime(2020, 1, 1, 12, 0, tzinfo=UTC)  # pay-by (20 days later) is long due by the real clock
ADDRESS = Address(name="Ann Buyer", line1="1 Main St", city="Warsaw", postal_code="00-001", country="PL")
WORKER_TIMEOUT = 180  # seconds: the test fails rather than hangs
FIRED = re.compile(r"fired (\d+) deadlines")


@pytest.fixture
def past_ctx(db_url: str) -> Iterator[Context]:
    ctx = build_context(Settings(database_url=db_url, sandbox=False), clock=FixedClock(PAST), migrate=False)
    yield ctx
    ctx.engine.dispose()


def _place_unpaid_orders(ctx: Context) -> tuple[list[str], dict[str, int]]:
    """(offer ids, units ordered per offer); every order is left unpaid."""
    offer_ids = []
    for i in range(STORES):
        seller = Principal(accounts.create_account(ctx, "seller", f"Seller {i}").id, Actor.SELLER)
        store_id = catalogue.create_store(ctx, seller, f"Store {i}")["id"]
        product_id = catalogue.create_product(ctx, seller, f"Thing {i}", "")["id"]
        offer = catalogue.create_offer(
            ctx, seller, store_id, product_id, 5_00 + i, "USD", STOCK, 2, [OptionInput("postal", 1_00, 20)]
        )
        offer_ids.append(offer.id)

    def buyer_checks_out(b: int) -> dict[str, int]:
        buyer = Principal(accounts.create_account(ctx, "buyer", f"Buyer {b}").id, Actor.BUYER)
        quantities = {offer_id: 1 + (b + i) % 3 for i, offer_id in enumerate(offer_ids)}
        for offer_id, quantity in quantities.items():
            cart.add_item(ctx, buyer, offer_id, quantity, None)
        assert len(cart.check_out(ctx, buyer, ADDRESS)) == STORES
        return quantities

    ordered = dict.fromkeys(offer_ids, 0)
    with ThreadPoolExecutor(4) as pool:  # only to set up faster; the race under test is the workers'
        for quantities in pool.map(buyer_checks_out, range(BUYERS)):
            for offer_id, quantity in quantities.items():
                ordered[offer_id] += quantity
    return offer_ids, ordered


def _start_worker(db_url: str, log: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERGUARD_")}
    env["ORDERGUARD_DATABASE_URL"] = db_url
    return subprocess.Popen(
        [sys.executable, "-m", "orderguard.cli", "worker", "--until-idle", "--batch", "50"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
    )


def _wait(procs: list[subprocess.Popen[str]]) -> list[str]:
    deadline = time.monotonic() + WORKER_TIMEOUT
    outputs = []
    try:
        for proc in procs:
            out, _ = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
            outputs.append(out)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the workers did not finish within {WORKER_TIMEOUT} s")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    return outputs


def test_two_worker_processes_fire_each_deadline_exactly_once(
    past_ctx: Context, db_url: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    offer_ids, ordered = _place_unpaid_orders(past_ctx)
    total = STORES * BUYERS
    with reading(past_ctx.engine) as conn:
        armed = conn.execute(
            select(func.count()).select_from(t.deadlines).where(t.deadlines.c.state == "armed")
        ).scalar_one()
        stock = dict(conn.execute(select(t.offers.c.id, t.offers.c.stock)).all())
    assert armed == total
    assert all(stock[o] == STOCK - ordered[o] for o in offer_ids)

    print(f"\nplaced {total} orders in {time.monotonic() - started:.1f} s")
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    started = time.monotonic()
    procs = [_start_worker(db_url, log) for log in logs]
    outputs = _wait(procs)
    print(f"workers took {time.monotonic() - started:.1f} s")

    counts = []
    for proc, out, log in zip(procs, outputs, logs, strict=True):
        errors = log.read_text()
        assert proc.returncode == 0, f"worker exited {proc.returncode}:\n{out}\n{errors}"
        records = [json.loads(line) for line in errors.splitlines()]  # structured: JSON lines on a pipe
        assert records and {r["level"] for r in records} == {"info"}, errors  # no deadlock, no retried round
        assert all(r["logger"] == "orderguard.scheduler" for r in records), errors
        found = FIRED.search(out)
        assert found, out
        counts.append(int(found.group(1)))
    assert sum(counts) == total, counts
    print(f"\nworkers fired {counts} of {total} deadlines")

    with reading(past_ctx.engine) as conn:
        d = t.deadlines.c
        states: dict[str, int] = dict(conn.execute(select(d.state, func.count()).group_by(d.state)).all())
        assert states == {"fired": total}
        assert conn.execute(select(func.count(func.distinct(d.order_id)))).scalar_one() == total

        order_states: dict[str, int] = dict(
            conn.execute(select(t.orders.c.state, func.count()).group_by(t.orders.c.state)).all()
        )
        assert order_states == {"cancelled": total}

        e = t.events.c
        expired_per_order = conn.execute(
            select(e.order_id, func.count()).where(e.kind == "pay_by_passed").group_by(e.order_id)
        ).all()
        assert len(expired_per_order) == total
        assert {n for _, n in expired_per_order} == {1}
        assert conn.execute(select(func.count()).select_from(t.events)).scalar_one() == 2 * total

        expired_notes = conn.execute(
            select(func.count()).select_from(t.notifications).where(t.notifications.c.kind == "order_expired")
        ).scalar_one()
        assert expired_notes == total

        stock = dict(conn.execute(select(t.offers.c.id, t.offers.c.stock)).all())
        assert stock == dict.fromkeys(offer_ids, STOCK)  # every order's goods came back, once
        assert conn.execute(select(func.count()).select_from(t.cart_items)).scalar_one() == 0
        assert check(conn)[1] == []
