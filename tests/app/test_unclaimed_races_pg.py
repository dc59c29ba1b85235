"""An unclaimed parcel sent back by everyone at once, with threads on real PostgreSQL (R6.6).

The parcel has waited 30 days at the pickup point: the buyer refuses it, the scheduler fires its
storage deadline, and the carrier reports it returned and delivered back to the seller, all at
once. Every path locks the order first, so the parcel is sent back once (by the buyer, by the
storage deadline, or by the carrier alone), comes back once, and is refunded exactly once; the
order ends `returned` and the ledger reconciles.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import func, select

from orderguard.app import cart, orders, payments, shipping
from orderguard.app.context import Context
from orderguard.app.deadlines import fire_due
from orderguard.bootstrap import build_context
from orderguard.domain.orders import Address
from orderguard.domain.shipping import Place
from orderguard.providers.clock import FixedClock
from orderguard.settings import Settings
from orderguard.store import tables as t
from orderguard.store.db import reading
from orderguard.store.ledger_repo import check
from tests.app.test_races_pg import JOIN_TIMEOUT, _race
from tests.support import s10, seller_offer_and_buyer

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.parametrize("db_url", ["postgresql"], indirect=True),
]

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ARRIVED = T0 + timedelta(days=3)  # at the pickup point
STORAGE_ENDS = ARRIVED + timedelta(days=30)  # the default policy's storage
NOW = STORAGE_ENDS + timedelta(seconds=1)
ADDRESS = Address(name="Ann Buyer", line1="1 Main St", city="Warsaw", postal_code="00-001", country="PL")
PLACE = Place("PL", "Warsaw", "00-001")
SENT_BACK = {"refused", "storage_ended"}


def _context(url: str, at: datetime) -> Context:
    return build_context(Settings(database_url=url, sandbox=False), clock=FixedClock(at), migrate=False)


@pytest.fixture
def ctxs(db_url: str) -> Iterator[tuple[Context, Context]]:
    """(the parties' and the carrier's context; the scheduler's, just past the storage end)."""
    parties, scheduler = _context(db_url, T0), _context(db_url, NOW)
    yield parties, scheduler
    parties.engine.dispose()
    scheduler.engine.dispose()


def _fire_until_settled(ctx: Context, shipment_id: str) -> None:
    """The scheduler's rounds until the parcel's storage deadline is no longer armed."""
    d = t.deadlines.c
    stop_at = time.monotonic() + JOIN_TIMEOUT / 2
    while time.monotonic() < stop_at:
        fire_due(ctx, 50)
        with reading(ctx.engine) as conn:
            armed = conn.execute(
                select(func.count())
                .select_from(t.deadlines)
                .where(d.subject_id == shipment_id, d.state == "armed")
            ).scalar_one()
        if not armed:
            return
        time.sleep(0.001)  # a command holds the order: the next round retries
    raise AssertionError(f"the storage deadline of {shipment_id} stayed armed")


def _after(delay: float, call: Callable[..., Any], *args: Any) -> Any:
    time.sleep(delay)
    return call(*args)


def _report(ctx: Context, code: str, *kinds: tuple[str, datetime]) -> shipping.ScanResult:
    reports = [shipping.ScanReport(code, kind, at, PLACE) for kind, at in kinds]
    return shipping.record_scans(ctx, "postal", reports, "carrier")


def test_refusal_storage_end_and_the_return_scans_at_once_refund_the_parcel_exactly_once(
    ctxs: tuple[Context, Context],
) -> None:
    parties, scheduler = ctxs
    assert isinstance(parties.clock, FixedClock)
    seller, buyer, offer_id = seller_offer_and_buyer(
        parties, stock=1_000, handling_days=30, postage=2_00, promised_days=60
    )
    winners: Counter[str] = Counter()
    for round_no in range(12):
        parties.clock.set(T0)
        cart.add_item(parties, buyer, offer_id, 2, None)
        (order,) = cart.check_out(parties, buyer, ADDRESS)
        payments.pay(parties, buyer, order.id, "card")
        code = s10(f"{71_000_000 + round_no}")
        parcel = shipping.ship(parties, seller, order.id, "postal", code, None)
        parties.clock.set(ARRIVED)
        _report(parties, code, ("at_pickup_point", ARRIVED))
        parties.clock.set(NOW)

        head_start = 0.02 * (round_no % 3)  # now and then the carrier's report starts ahead
        refused, fired, scanned = _race(
            partial(_after, head_start, orders.refuse_parcel, parties, buyer, order.id, None),
            partial(_after, head_start, _fire_until_settled, scheduler, parcel.id),
            partial(
                _report,
                parties,
                code,
                ("returned_to_sender", NOW - timedelta(minutes=2)),
                ("delivered_to_sender", NOW - timedelta(minutes=1)),
            ),
        )
        assert fired.error is None and scanned.error is None
        if refused.error is not None:  # the parcel was already on its way back, or back
            assert refused.error.refusal.code in {"parcel_returning", "order_returned"}  # type: ignore[attr-defined]

        with reading(parties.engine) as conn:
            order_state = conn.execute(select(t.orders.c.state).where(t.orders.c.id == order.id)).scalar_one()
            shipment = conn.execute(
                select(t.shipments.c.state, t.shipments.c.sent_back_by).where(t.shipments.c.id == parcel.id)
            ).one()
            refunds = conn.execute(
                select(t.refunds.c.amount, t.refunds.c.cause_type, t.refunds.c.cause_id).where(
                    t.refunds.c.order_id == order.id
                )
            ).all()
            kinds = Counter(
                conn.execute(select(t.events.c.kind).where(t.events.c.order_id == order.id)).scalars().all()
            )
        assert [tuple(r) for r in refunds] == [(20_00, "unclaimed_parcel", parcel.id)], round_no
        assert order_state == "returned" and shipment.state == "returned"
        assert sum(kinds[k] for k in SENT_BACK) <= 1, kinds  # sent back once, or by the carrier alone
        assert (refused.error is None) == (kinds["refused"] == 1 and shipment.sent_back_by == "refused")
        assert kinds["granted"] == kinds["shipment_returned"] == kinds["parcels_returned"] == 1, kinds
        assert kinds["parcel_returning"] == 1, kinds
        winners[shipment.sent_back_by or "carrier"] += 1

    with reading(parties.engine) as conn:
        assert check(conn)[1] == []
    print(f"\nsent back by, over 12 rounds: {dict(winners)}")
