"""A refund sent by the request path and by its retry deadline at once, on real PostgreSQL threads:
both reach the provider under the same key, and exactly one answer is recorded (R5.3).

The provider holds each call until the other arrives, so every round is a real race: both
attempts have the receipt in hand and compete to record it; the order lock taken first makes
the second find the refund answered.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import partial

import pytest
from sqlalchemy import select

from orderguard.app import cart, payments, refunds
from orderguard.app.context import Context
from orderguard.app.deadlines import fire_due
from orderguard.domain.refunds import Refund
from orderguard.providers.clock import FixedClock
from orderguard.providers.payments import RefundReceipt, SandboxPayments
from orderguard.store import tables as t
from orderguard.store.db import reading
from orderguard.store.ledger_repo import check
from tests.app.test_races_pg import ADDRESS, JOIN_TIMEOUT, T0, _buyer, _context, _race, _seller_offer
from tests.refund_support import grant

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.parametrize("db_url", ["postgresql"], indirect=True),
]
RETRY_DUE = T0 + timedelta(seconds=60)  # the default policy's first backoff


class MeetingProvider(SandboxPayments):
    """The sandbox, where each refund call waits (a while) for a second one before answering."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.calls: list[str] = []
        self.receipts: dict[str, RefundReceipt] = {}
        self.meet = threading.Barrier(2, timeout=JOIN_TIMEOUT / 4)

    def refund(
        self,
        payment_ref: str,
        method: str,
        amount: int,
        currency: str,
        reference: str,
        requested_at: datetime,
    ) -> RefundReceipt:
        receipt = super().refund(payment_ref, method, amount, currency, reference, requested_at)
        with self.lock:
            self.calls.append(reference)
            if self.receipts.setdefault(reference, receipt) != receipt:
                raise AssertionError("the same key got two answers")
        self.meet.wait()
        return receipt


@pytest.fixture
def ctxs(db_url: str) -> Iterator[tuple[Context, Context, MeetingProvider]]:
    """(the request path's context, the scheduler's, both at the retry's due time; their provider)."""
    provider = MeetingProvider()
    request_ctx, scheduler_ctx = _context(db_url, T0), _context(db_url, RETRY_DUE)
    request_ctx.payments = scheduler_ctx.payments = provider
    yield request_ctx, scheduler_ctx, provider
    request_ctx.engine.dispose()
    scheduler_ctx.engine.dispose()


def _fire_until_quiet(ctx: Context) -> int:
    fired = 0
    while True:
        report = fire_due(ctx, 50)
        fired += report.fired
        if report.claimed == 0:
            return fired


def test_the_request_and_the_retry_sending_one_refund_at_once_record_one_answer(
    ctxs: tuple[Context, Context, MeetingProvider],
) -> None:
    request_ctx, scheduler_ctx, provider = ctxs
    offer_id = _seller_offer(request_ctx, stock=1_000)
    buyer = _buyer(request_ctx)
    for _ in range(10):
        assert isinstance(request_ctx.clock, FixedClock)
        request_ctx.clock.set(T0)
        cart.add_item(request_ctx, buyer, offer_id, 1, None)
        (order,) = cart.check_out(request_ctx, buyer, ADDRESS)
        provider.meet = threading.Barrier(1)  # paying needs no meeting
        payments.pay(request_ctx, buyer, order.id, "card")
        refund = grant(request_ctx, order.id, 5_00, execute=False)  # the commit, then the process died
        provider.meet = threading.Barrier(2, timeout=JOIN_TIMEOUT / 4)
        provider.calls.clear()
        request_ctx.clock.set(RETRY_DUE)

        executed, fired = _race(
            partial(refunds.execute, request_ctx, refund.id),
            partial(_fire_until_quiet, scheduler_ctx),
        )
        assert executed.error is None and fired.error is None
        assert fired.value == 1  # the retry fired (it did not wait for the request, nor it for the retry)
        assert provider.calls == [refund.id, refund.id]  # both asked, under the same key
        assert isinstance(executed.value, Refund) and executed.value.state == "processing"

        with reading(request_ctx.engine) as conn:
            kinds = (
                conn.execute(
                    select(t.events.c.kind).where(t.events.c.subject_id == refund.id).order_by(t.events.c.id)
                )
                .scalars()
                .all()
            )
            row = conn.execute(
                select(t.refunds.c.state, t.refunds.c.provider_ref, t.refunds.c.attempts).where(
                    t.refunds.c.id == refund.id
                )
            ).one()
            armed = (
                conn.execute(
                    select(t.deadlines.c.kind).where(
                        t.deadlines.c.subject_id == refund.id, t.deadlines.c.state == "armed"
                    )
                )
                .scalars()
                .all()
            )
        assert kinds == ["granted", "provider_retried", "accepted"]  # one answer recorded
        assert tuple(row) == ("processing", provider.receipts[refund.id].reference, 2)
        assert armed == ["settlement_check"]
    assert len(provider.receipts) == 10  # ten keys at the provider: each refund moved its money once
    with reading(request_ctx.engine) as conn:
        assert check(conn)[1] == []
