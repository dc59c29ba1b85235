"""store/unchanged.py: a unit that decides from rows read earlier writes only if they are still so."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from orderguard.app import payments
from orderguard.app.context import Context
from orderguard.app.ports import Stale
from orderguard.domain import payments as payment_rules
from orderguard.domain.decision import take
from orderguard.domain.machine import Actor
from orderguard.domain.orders import Order
from orderguard.domain.payments import PAYMENT, Payment, ProviderAnswer
from orderguard.domain.policy import Policy
from orderguard.ids import new_id
from orderguard.store import tables as t
from orderguard.store.db import reading, unit_of_work
from tests.support import exchanges, unpaid_order


def _pending(ctx: Context) -> tuple[Order, Payment]:
    """An order paid by card whose payment is initiated and not answered yet: what `pay` wrote."""
    buyer, order_id = unpaid_order(ctx)
    now = ctx.clock.now()
    with ctx.uow() as uow:
        order = uow.orders.load_order(order_id, lock=True)
        assert order is not None
        decision = payment_rules.initiate(new_id("pay"), order, buyer.id, "card", now, _policy(ctx, order))
        uow.save([decision], now)
    (started,) = decision.also
    assert isinstance(started.subject, Order)
    return started.subject, decision.subject


def _policy(ctx: Context, order: Order) -> Policy:
    return ctx.policies.get(order.policy_key)


def _capture(ctx: Context, order: Order, payment: Payment) -> None:
    """The provider's answer recorded from `order` and `payment` as given, if they are still so."""
    now = ctx.clock.now()
    with ctx.uow() as uow:
        uow.expect_unchanged([order, payment])
        decision = payment_rules.answered(payment, order, ProviderAnswer("ref-1"), now, _policy(ctx, order))
        uow.save([decision], now)


def _states(ctx: Context, order: Order, payment: Payment) -> tuple[str, str, int]:
    """(order state, payment state, how many times the payment was captured)."""
    with reading(ctx.engine) as conn:
        order_state = conn.execute(select(t.orders.c.state).where(t.orders.c.id == order.id)).scalar_one()
        payment_state = conn.execute(
            select(t.payments.c.state).where(t.payments.c.id == payment.id)
        ).scalar_one()
        captured = conn.execute(
            select(func.count()).where(t.events.c.subject_id == payment.id, t.events.c.kind == "captured")
        ).scalar_one()
    return order_state, payment_state, int(captured)


def test_rows_still_as_read_are_written_in_one_round_trip(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    order, payment = _pending(ctx)
    carried = exchanges(monkeypatch)
    _capture(ctx, order, payment)
    assert _states(ctx, order, payment) == ("awaiting_shipment", "captured", 1)
    if ctx.engine.dialect.name == "postgresql":
        assert len(carried) == 1  # BEGIN, the checks, the writes and COMMIT together


def test_a_payment_answered_meanwhile_is_stale_and_nothing_is_written_again(ctx: Context) -> None:
    order, payment = _pending(ctx)
    _capture(ctx, order, payment)
    with pytest.raises(Stale, match=f"order {order.id} changed since it was read"):
        _capture(ctx, order, payment)
    assert _states(ctx, order, payment) == ("awaiting_shipment", "captured", 1)


def test_a_payment_retried_meanwhile_is_stale_though_its_state_is_the_same(ctx: Context) -> None:
    """A provider retry leaves the payment initiated but moves its `attempted_at`."""
    order, payment = _pending(ctx)
    later = ctx.clock.now() + timedelta(minutes=1)
    retried = take(
        PAYMENT,
        payment,
        "provider_retried",
        Actor.SYSTEM,
        None,
        later,
        _policy(ctx, order),
        attempted_at=later,
    )
    retry = PAYMENT.find("initiated", "provider_retried")
    assert retry is not None and retry.timer is not None
    with ctx.uow() as uow:  # as the retry deadline's firing does: its deadline settled, then the save
        (fired,) = [
            d
            for d in uow.deadlines.claim_due(later + timedelta(days=1), 100)
            if d.subject_id == payment.id and d.kind == retry.timer.kind
        ]
        uow.deadlines.settle([(fired.id, "fired")], later)
        uow.save([retried], later)
    with pytest.raises(Stale):
        _capture(ctx, order, payment)
    assert _states(ctx, order, payment) == ("payment_pending", "initiated", 0)
    _capture(ctx, order, retried.subject)  # as it now is: written
    assert _states(ctx, order, payment) == ("awaiting_shipment", "captured", 1)


def test_an_order_whose_lines_changed_is_stale(ctx: Context) -> None:
    """A line's cancelled quantity can change while the order's own columns do not."""
    order, payment = _pending(ctx)
    with unit_of_work(ctx.engine) as conn:
        conn.execute(update(t.order_lines).where(t.order_lines.c.order_id == order.id).values(cancelled=1))
    with pytest.raises(Stale, match=f"order {order.id} changed"):
        _capture(ctx, order, payment)
    assert _states(ctx, order, payment) == ("payment_pending", "initiated", 0)


def test_subjects_without_a_check_are_refused(ctx: Context) -> None:
    with pytest.raises(ValueError, match="no check"), ctx.uow() as uow:
        uow.expect_unchanged([object()])


def test_pay_records_once_when_the_retry_answers_while_the_provider_is_asked(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The retry deadline's run records the answer while `pay` waits on the provider: `pay` then
    finds its rows changed, reads them again and returns the payment as recorded."""
    buyer, order_id = unpaid_order(ctx)
    capture = ctx.payments.capture
    asked: list[str] = []

    def slow_capture(method: str, amount: int, currency: str, reference: str) -> str:
        asked.append(reference)
        if len(asked) == 1:
            assert payments.execute(ctx, reference).state == "captured"  # the retry, meanwhile
        return capture(method, amount, currency, reference)

    monkeypatch.setattr(ctx.payments, "capture", slow_capture)
    paid = payments.pay(ctx, buyer, order_id, "card")
    assert paid.state == "captured" and asked == [paid.id, paid.id]
    with reading(ctx.engine) as conn:
        order_state = conn.execute(select(t.orders.c.state).where(t.orders.c.id == order_id)).scalar_one()
        kinds = conn.execute(select(t.events.c.kind).where(t.events.c.order_id == order_id)).scalars().all()
    assert order_state == "awaiting_shipment"
    assert sorted(kinds) == sorted(["placed", "payment_started", "captured", "payment_captured"])


@pytest.mark.postgres_only
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_check_waiting_for_the_rows_lock_sees_what_its_holder_committed(ctx: Context) -> None:
    order, payment = _pending(ctx)
    holding = threading.Event()

    def answer_slowly() -> None:
        with ctx.uow() as uow:
            uow.orders.load_order(order.id, lock=True)
            holding.set()
            time.sleep(0.3)
            now = ctx.clock.now()
            decision = payment_rules.answered(
                payment, order, ProviderAnswer("ref-0"), now, _policy(ctx, order)
            )
            uow.save([decision], now)

    holder = threading.Thread(target=answer_slowly)
    holder.start()
    assert holding.wait(10)
    started = time.monotonic()
    with pytest.raises(Stale):
        _capture(ctx, order, payment)
    holder.join(10)
    assert time.monotonic() - started > 0.2  # it waited for the lock
    assert _states(ctx, order, payment) == ("awaiting_shipment", "captured", 1)
