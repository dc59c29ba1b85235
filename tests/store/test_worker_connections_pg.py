"""A worker with two batches in flight (`scheduler.worker.run(connections=2)`) fires each due
deadline exactly once, with its whole consequence, on PostgreSQL (issue #12, item 4)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from orderguard.app import accounts, cart, catalogue
from orderguard.app.catalogue import OptionInput
from orderguard.app.context import Context, Principal
from orderguard.bootstrap import build_context
from orderguard.domain.machine import Actor
from orderguard.domain.orders import Address
from orderguard.providers.clock import FixedClock
from orderguard.scheduler.worker import WorkerStats, run
from orderguard.settings import Settings
from orderguard.store import tables as t
from orderguard.store.db import reading

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.parametrize("db_url", ["postgresql"], indirect=True),
]

ORDERS = 40
PAST = datetime(2020, 1, 1, 12, 0, tzinfo=UTC)
LATER = datetime(2020, 3, 1, 12, 0, tzinfo=UTC)  # every pay-by (20 days after the cart) has passed
ADDRESS = Address(name="Ann Buyer", line1="1 Main St", city="Warsaw", postal_code="00-001", country="PL")


@pytest.fixture
def ctx(db_url: str) -> Iterator[tuple[Context, FixedClock]]:
    clock = FixedClock(PAST)
    ctx = build_context(Settings(database_url=db_url, sandbox=False), clock=clock, migrate=False)
    yield ctx, clock
    ctx.engine.dispose()


def test_two_batches_in_flight_fire_each_deadline_once(ctx: tuple[Context, FixedClock]) -> None:
    context, clock = ctx
    seller = Principal(accounts.create_account(context, "seller", "Sam").id, Actor.SELLER)
    store_id = catalogue.create_store(context, seller, "Sam's")["id"]
    product_id = catalogue.create_product(context, seller, "Phone case", "")["id"]
    offer = catalogue.create_offer(
        context, seller, store_id, product_id, 5_00, "USD", 1_000, 2, [OptionInput("postal", 1_00, 20)]
    )
    for i in range(ORDERS):
        buyer = Principal(accounts.create_account(context, "buyer", f"Buyer {i}").id, Actor.BUYER)
        cart.add_item(context, buyer, offer.id, 1, None)
        cart.check_out(context, buyer, ADDRESS)
    clock.set(LATER)

    stats = WorkerStats()
    fired = run(context, batch=3, until_idle=True, stats=stats, connections=2)

    assert (fired, stats.fired, stats.failed_rounds) == (ORDERS, ORDERS, 0)
    with reading(context.engine) as conn:
        e = t.events.c
        events = conn.execute(
            select(func.count(), func.count(func.distinct(e.order_id))).where(e.kind == "pay_by_passed")
        ).one()
        cancelled = conn.execute(select(func.count()).where(t.orders.c.state == "cancelled")).scalar_one()
        d = t.deadlines.c
        states = dict(conn.execute(select(d.state, func.count()).group_by(d.state)).all())
        notified = conn.execute(
            select(func.count()).where(t.notifications.c.kind == "order_expired")
        ).scalar_one()
        stock = conn.execute(select(t.offers.c.stock).where(t.offers.c.id == offer.id)).scalar_one()
    assert tuple(events) == (ORDERS, ORDERS)
    assert cancelled == notified == ORDERS
    assert states == {"fired": ORDERS}
    assert stock == 1_000
