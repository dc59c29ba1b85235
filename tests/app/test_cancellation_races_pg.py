"""A cancellation request decided by everyone at once, with threads on real PostgreSQL (issue #9).

The seller approves, rejects and ships while the buyer withdraws and the scheduler, 72 hours
later, fires the silence-is-consent deadline. Every command locks the order first, so exactly one
of them decides the request; shipping wins only after a withdrawal or a rejection; an approval
grants exactly one refund; the ledger reconciles.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from sqlalchemy import func, select

from orderguard.app import cancellations, cart, payments, shipping
from orderguard.app.context import Context
from orderguard.app.deadlines import fire_due
from orderguard.bootstrap import build_context
from orderguard.domain.orders import Address
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
ANSWERED_BY = T0 + timedelta(hours=72)
ADDRESS = Address(name="Ann Buyer", line1="1 Main St", city="Warsaw", postal_code="00-001", country="PL")
DECISIONS = {"approved", "rejected", "withdrawn", "auto_approved"}


def _context(url: str, at: datetime) -> Context:
    return build_context(Settings(database_url=url, sandbox=False), clock=FixedClock(at), migrate=False)


@pytest.fixture
def ctxs(db_url: str) -> Iterator[tuple[Context, Context]]:
    """(the parties' context, just after the request; the scheduler's, past its 72 hours)."""
    parties, scheduler = _context(db_url, T0), _context(db_url, ANSWERED_BY + timedelta(seconds=1))
    yield parties, scheduler
    parties.engine.dispose()
    scheduler.engine.dispose()


def _fire_until_answered(ctx: Context, request_id: str) -> None:
    """The scheduler's rounds until the request's answer-by deadline is no longer armed."""
    d = t.deadlines.c
    stop_at = time.monotonic() + JOIN_TIMEOUT / 2
    while time.monotonic() < stop_at:
        fire_due(ctx, 50)
        with reading(ctx.engine) as conn:
            armed = conn.execute(
                select(func.count())
                .select_from(t.deadlines)
                .where(d.subject_id == request_id, d.state == "armed")
            ).scalar_one()
        if not armed:
            return
        time.sleep(0.001)  # a command holds the order: the next round retries
    raise AssertionError(f"the answer-by deadline of {request_id} stayed armed")


def test_approve_reject_ship_withdraw_and_silence_at_once_have_exactly_one_outcome(
    ctxs: tuple[Context, Context],
) -> None:
    parties, scheduler = ctxs
    seller, buyer, offer_id = seller_offer_and_buyer(parties, stock=1_000, handling_days=30, postage=2_00)
    outcomes: Counter[str] = Counter()
    for round_no in range(12):
        cart.add_item(parties, buyer, offer_id, 2, None)
        (order,) = cart.check_out(parties, buyer, ADDRESS)
        payments.pay(parties, buyer, order.id, "card")
        reason = "out_of_stock" if round_no % 2 else "no_longer_needed"
        request = cancellations.request_cancellation(parties, buyer, order.id, reason, None, "")
        request_id = request.request.id
        code = s10(f"{70_000_000 + round_no}")

        approve, reject, ship, withdraw, fired = _race(
            partial(cancellations.approve, parties, seller, request_id),
            partial(cancellations.reject, parties, seller, request_id, "no", None, None),
            partial(shipping.ship, parties, seller, order.id, "postal", code, None),
            partial(cancellations.withdraw, parties, buyer, request_id),
            partial(_fire_until_answered, scheduler, request_id),
        )
        assert fired.error is None
        for loser in (approve, reject, ship, withdraw):
            if loser.error is not None:
                assert loser.error.refusal.status == 409, loser.error  # type: ignore[attr-defined]

        with reading(parties.engine) as conn:
            kinds = (
                conn.execute(
                    select(t.events.c.kind).where(
                        t.events.c.subject_id == request_id, t.events.c.kind.in_(DECISIONS)
                    )
                )
                .scalars()
                .all()
            )
            state = conn.execute(select(t.orders.c.state).where(t.orders.c.id == order.id)).scalar_one()
            refunds = conn.execute(
                select(t.refunds.c.amount, t.refunds.c.cause_id).where(t.refunds.c.order_id == order.id)
            ).all()
            fines = conn.execute(select(t.fines.c.amount).where(t.fines.c.order_id == order.id)).all()
            parcels = conn.execute(
                select(func.count()).select_from(t.shipments).where(t.shipments.c.order_id == order.id)
            ).scalar_one()
        assert len(kinds) == 1, (round_no, kinds)
        [decided] = kinds
        outcomes[decided] += 1
        assert (approve.error is None) == (decided == "approved")
        assert (reject.error is None) == (decided == "rejected")
        assert (withdraw.error is None) == (decided == "withdrawn")
        if decided in {"approved", "auto_approved"}:
            assert ship.error is not None
            assert state == "cancelled"
            assert [tuple(r) for r in refunds] == [(22_00, request_id)]
            assert len(fines) == (1 if reason == "out_of_stock" else 0)
            assert parcels == 0
        else:
            assert refunds == [] and fines == []
            assert parcels == (1 if ship.error is None else 0)
            assert state == ("shipped" if ship.error is None else "awaiting_shipment")

    with reading(parties.engine) as conn:
        assert check(conn)[1] == []
    print(f"\noutcomes over 12 rounds: {dict(outcomes)}")
