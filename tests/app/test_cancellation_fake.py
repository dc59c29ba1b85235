"""Cancellation rules over the in-memory ports: edge cases the public scenarios do not reach."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orderguard.app.deadlines import fire_due
from orderguard.domain.ledger import escrow
from tests.app.fakes import FakeWorld, fake_world
from tests.app.test_use_cases_fake import HANDLING_DAYS, PRICE, SHIPPING, _balance, _order, _paid
from tests.refund_support import grant


@pytest.fixture
def w() -> FakeWorld:
    return fake_world()


def test_a_missed_ship_by_refunds_no_more_than_the_escrow_still_holds(w: FakeWorld) -> None:
    """Money already refunded outside a cancellation has left escrow: the ship-by refund takes the rest."""
    _, _, order = _paid(w)
    grant(w.ctx, order.id, 1_50, cause_type="dispute", cause_id="dsp_1")
    w.clock.set(w.clock.now() + timedelta(days=HANDLING_DAYS))
    fire_due(w.ctx)  # the ship-by time, and the first refund's settlement check
    assert _order(w, order.id).state == "cancelled"
    refunds = sorted(r.amount for r in w.db.rows.refunds.values())
    assert refunds == [1_50, PRICE + SHIPPING - 1_50]
    assert _balance(w, escrow(order.id)) == 0
