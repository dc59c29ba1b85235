"""Executing refunds over the in-memory store (tests/app/fakes.py): the provider answering, out of
reach, declining, a crash between the commit and the call, and settlement in virtual time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orderguard.app import refund_views, refunds
from orderguard.app.context import Principal
from orderguard.app.deadlines import fire_due
from orderguard.domain.ledger import EXTERNAL_PAYMENTS, REFUNDS_IN_FLIGHT, escrow
from orderguard.domain.machine import Actor, Refused
from orderguard.domain.refunds import Refund, RefundLine
from orderguard.providers.payments import RefundStatus
from tests.app.fakes import FakeWorld, fake_world
from tests.app.test_use_cases_fake import PRICE, SHIPPING, _armed, _balance, _notified, _paid
from tests.refund_support import grant

TOTAL = PRICE + SHIPPING


@pytest.fixture
def w() -> FakeWorld:
    return fake_world()


def _refund(w: FakeWorld, refund_id: str) -> Refund:
    return w.db.rows.refunds[refund_id]


def _refund_calls(w: FakeWorld) -> list[tuple[str, str]]:
    return [c for c in w.provider.calls if c[0].startswith("refund")]


def _events(w: FakeWorld, refund_id: str) -> list[str]:
    return [e["kind"] for e in w.db.rows.events if e["subject_id"] == refund_id]


def _advance(w: FakeWorld, by: timedelta) -> int:
    """Virtual time, as the sandbox moves it: to each due time in turn, firing what falls due."""
    target = w.clock.now() + by
    fired = 0
    while True:
        with w.ctx.reading() as uow:
            due = uow.deadlines.next_due_at(target)
        if due is None:
            break
        w.clock.set(max(due, w.clock.now()))
        fired += fire_due(w.ctx).fired
    w.clock.set(target)
    return fired


def test_a_granted_refund_is_sent_after_commit_and_accepted(w: FakeWorld) -> None:
    buyer, _, order = _paid(w)
    commits = w.db.commits
    refund = grant(w.ctx, order.id, 4_00)
    assert w.db.commits == commits + 2  # granted, then the provider's answer
    assert _refund_calls(w) == [("refund", refund.id)]  # our refund id is the idempotency key
    assert refund.state == "processing" and refund.provider_ref is not None
    assert refund.accepted_at == w.clock.now()
    days = (refund.expected_at - w.clock.now()).days if refund.expected_at else -1
    assert 3 <= days <= 7  # the card's window
    assert _armed(w, refund.id) == ["settlement_check"]
    assert _balance(w, escrow(order.id)) == TOTAL - 4_00
    assert _balance(w, REFUNDS_IN_FLIGHT) == 4_00
    assert _notified(w, buyer)[-2:] == ["refund_granted", "refund_accepted"]


def test_settlement_is_checked_on_the_expected_date_in_virtual_time(w: FakeWorld) -> None:
    buyer, _, order = _paid(w)
    refund = grant(w.ctx, order.id)
    assert refund.expected_at is not None
    _advance(w, refund.expected_at - w.clock.now() - timedelta(seconds=1))
    assert _refund(w, refund.id).state == "processing"
    assert _advance(w, timedelta(seconds=1)) == 1
    done = _refund(w, refund.id)
    assert (done.state, done.settled_at) == ("settled", refund.expected_at)
    assert _refund_calls(w) == [("refund", refund.id), ("refund_status", refund.provider_ref)]
    assert _armed(w, refund.id) == []
    assert _balance(w, escrow(order.id)) == 0
    assert _balance(w, REFUNDS_IN_FLIGHT) == 0 and _balance(w, EXTERNAL_PAYMENTS) == 0  # all back out
    assert _events(w, refund.id) == ["granted", "accepted", "settlement_checked", "settled"]
    assert _notified(w, buyer)[-1] == "refund_settled"


def test_a_refund_not_settled_on_the_expected_date_is_checked_daily(w: FakeWorld) -> None:
    _, _, order = _paid(w)
    refund = grant(w.ctx, order.id)
    w.provider.refund_status_override = RefundStatus("processing")
    assert refund.expected_at is not None
    _advance(w, refund.expected_at - w.clock.now() + timedelta(days=2, hours=1))
    assert _refund(w, refund.id).state == "processing"
    assert [c[0] for c in _refund_calls(w)].count("refund_status") == 3
    w.provider.refund_status_override = None
    _advance(w, timedelta(days=1))
    assert _refund(w, refund.id).state == "settled"


def test_an_unreachable_provider_leaves_the_refund_pending_and_the_retry_backs_off(w: FakeWorld) -> None:
    _, _, order = _paid(w)
    w.provider.unavailable = True
    refund = grant(w.ctx, order.id)
    assert refund.state == "pending" and refund.attempts == 1
    assert _armed(w, refund.id) == ["provider_retry"]
    start = w.clock.now()
    _advance(w, timedelta(seconds=60 + 120 + 240))  # three retries, each twice as far
    r = _refund(w, refund.id)
    assert r.state == "pending" and r.attempts == 4
    assert r.retry_at == start + timedelta(seconds=60 + 120 + 240 + 480)
    assert _refund_calls(w) == [("refund", refund.id)] * 4  # always the same key
    w.provider.unavailable = False
    _advance(w, timedelta(seconds=480))
    assert _refund(w, refund.id).state == "processing"
    assert _events(w, refund.id).count("accepted") == 1


def test_a_crash_between_commit_and_call_is_recovered_by_the_retry_timer(w: FakeWorld) -> None:
    _, _, order = _paid(w)
    refund = grant(w.ctx, order.id, execute=False)  # the process died before calling the provider
    assert refund.state == "pending" and _refund_calls(w) == []
    _advance(w, timedelta(seconds=59))
    assert _refund_calls(w) == []
    _advance(w, timedelta(seconds=1))
    assert _refund(w, refund.id).state == "processing"
    assert _refund_calls(w) == [("refund", refund.id)]
    assert refunds.execute(w.ctx, refund.id).state == "processing"  # a late request path: nothing to do
    assert _refund_calls(w) == [("refund", refund.id)]


def test_an_answer_lost_on_the_way_is_asked_again_under_the_same_key_and_the_money_moves_once(
    w: FakeWorld,
) -> None:
    _, _, order = _paid(w)
    w.provider.lose_answer = True
    refund = grant(w.ctx, order.id)
    assert refund.state == "pending"  # the provider took the refund, but we never heard
    _advance(w, timedelta(seconds=60))
    assert _refund(w, refund.id).state == "processing"
    assert _refund_calls(w) == [("refund", refund.id), ("refund", refund.id)]
    assert list(w.provider.refunded) == [refund.id]  # one refund at the provider: the money moved once
    assert _refund(w, refund.id).provider_ref == w.provider.refunded[refund.id][1].reference


def test_the_request_and_the_retry_racing_record_one_answer(w: FakeWorld) -> None:
    _, _, order = _paid(w)
    refund = grant(w.ctx, order.id, execute=False)
    w.clock.set(w.clock.now() + timedelta(seconds=60))
    # the request path's call reaches the provider; meanwhile the retry fires, calls and records
    w.provider.meanwhile = lambda: fire_due(w.ctx)
    assert refunds.execute(w.ctx, refund.id).state == "processing"
    assert _refund_calls(w) == [("refund", refund.id), ("refund", refund.id)]
    assert _events(w, refund.id).count("accepted") == 1
    assert list(w.provider.refunded) == [refund.id]


def test_a_declined_refund_fails_then_is_sent_again_and_settles(w: FakeWorld) -> None:
    buyer, _, order = _paid(w)
    w.provider.refund_decline = "card account closed"
    refund = grant(w.ctx, order.id)
    assert (refund.state, refund.failure_reason) == ("failed", "card account closed")
    assert _armed(w, refund.id) == ["failure_retry"]
    assert _notified(w, buyer)[-1] == "refund_delayed"
    assert _balance(w, REFUNDS_IN_FLIGHT) == TOTAL  # still owed to the buyer
    admin = Principal("adm", Actor.ADMIN)
    failed = refund_views.admin_refunds(w.ctx, admin, "failed", False, None, 50).refunds
    assert [v.refund.id for v in failed] == [refund.id]

    w.provider.refund_decline = None
    _advance(w, timedelta(seconds=60))
    r = _refund(w, refund.id)
    assert r.state == "processing" and r.failure_reason is None
    assert _refund_calls(w) == [("refund", refund.id), ("refund", f"{refund.id}~1")]  # a new key
    assert _events(w, refund.id) == ["granted", "declined", "retried", "accepted"]
    assert r.expected_at is not None
    _advance(w, r.expected_at - w.clock.now())
    assert _refund(w, refund.id).state == "settled"
    assert _balance(w, REFUNDS_IN_FLIGHT) == 0


def test_a_refund_the_provider_reports_failed_is_retried(w: FakeWorld) -> None:
    _, _, order = _paid(w)
    refund = grant(w.ctx, order.id)
    failed = refunds.report_failure(w.ctx, refund.id, "returned by the bank")
    assert failed.state == "failed" and _armed(w, refund.id) == ["failure_retry"]
    with pytest.raises(Refused) as e:
        refunds.report_failure(w.ctx, refund.id, "again")
    assert e.value.refusal.code == "refund_not_in_flight"
    _advance(w, timedelta(seconds=60))
    assert _refund(w, refund.id).state == "processing"


def test_a_failure_found_at_the_settlement_check_is_recorded(w: FakeWorld) -> None:
    _, _, order = _paid(w)
    refund = grant(w.ctx, order.id)
    w.provider.refund_status_override = RefundStatus("failed", "account frozen")
    assert refund.expected_at is not None
    _advance(w, refund.expected_at - w.clock.now())
    r = _refund(w, refund.id)
    assert (r.state, r.failure_reason) == ("failed", "account frozen")


def test_partial_refunds_add_up_to_at_most_what_was_captured(w: FakeWorld) -> None:
    _, _, order = _paid(w)
    line = order.lines[0].id
    first = grant(w.ctx, order.id, 5_00, lines=[RefundLine(line, 0, 5_00)])
    grant(w.ctx, order.id, 6_00)
    with pytest.raises(Refused) as e:
        grant(w.ctx, order.id, TOTAL - 11_00 + 1)
    assert e.value.refusal.code == "refund_exceeds_refundable"
    last = grant(w.ctx, order.id)  # what is left
    assert last.amount == TOTAL - 11_00
    with w.ctx.reading() as uow:
        assert uow.refunds.refunded_total(order.id) == TOTAL
        amounts = {r.id: r.amount for r in uow.refunds.refunds_of(order.id)}
    assert amounts[first.id] == 5_00 and sorted(amounts.values()) == [TOTAL - 11_00, 5_00, 6_00]
    with pytest.raises(Refused):
        grant(w.ctx, order.id, 1)


def test_a_cancellation_refund_unsettled_after_14_days_is_overdue_for_administrators(w: FakeWorld) -> None:
    buyer, seller, order = _paid(w)
    w.provider.refund_status_override = RefundStatus("processing")  # the provider sits on them
    late = grant(w.ctx, order.id, 1_00)
    _advance(w, timedelta(seconds=1))
    dispute = grant(w.ctx, order.id, 1_00, cause_type="dispute", reason="not_as_described")
    _advance(w, timedelta(days=14) - timedelta(seconds=2))
    admin = Principal("adm", Actor.ADMIN)
    assert refund_views.admin_refunds(w.ctx, admin, None, True, None, 50).refunds == []
    _advance(w, timedelta(seconds=1))
    (overdue,) = refund_views.admin_refunds(w.ctx, admin, None, True, None, 50).refunds
    assert overdue.refund.id == late.id and overdue.overdue
    everything = refund_views.admin_refunds(w.ctx, admin, None, False, None, 1)
    assert [v.refund.id for v in everything.refunds] == [late.id] and everything.next_cursor
    rest = refund_views.admin_refunds(w.ctx, admin, None, False, everything.next_cursor, 1)
    assert [v.refund.id for v in rest.refunds] == [dispute.id] and rest.next_cursor is None
    for who in (buyer, seller):
        with pytest.raises(Refused) as e:
            refund_views.admin_refunds(w.ctx, who, None, True, None, 50)
        assert e.value.refusal.code == "forbidden_role"


def test_a_refund_is_seen_by_its_orders_parties_only(w: FakeWorld) -> None:
    buyer, seller, order = _paid(w)
    refund = grant(w.ctx, order.id, 1_00)
    for who in (buyer, seller, Principal("adm", Actor.ADMIN)):
        view = refund_views.get_refund(w.ctx, who, refund.id)
        assert view.refund.id == refund.id and [d.kind for d in view.deadlines] == ["settlement_check"]
        assert [v.refund.id for v in refund_views.order_refunds(w.ctx, who, order.id)] == [refund.id]
    stranger = Principal("acc_other", Actor.BUYER)
    with pytest.raises(Refused) as e:
        refund_views.get_refund(w.ctx, stranger, refund.id)
    assert e.value.refusal.code == "refund_not_found"
    with pytest.raises(Refused) as e:
        refund_views.order_refunds(w.ctx, stranger, order.id)
    assert e.value.refusal.code == "order_not_found"


def test_refunds_timers_show_among_the_orders_deadlines(w: FakeWorld) -> None:
    from orderguard.app import orders

    buyer, _, order = _paid(w)
    grant(w.ctx, order.id, 1_00)
    deadlines = orders.get_order(w.ctx, buyer, order.id).deadlines  # soonest first
    assert [d.kind for d in deadlines] == ["settlement_check", "ship_by"]
    assert deadlines[0].rule == "R5.2" and deadlines[0].must_act is None


def test_a_firing_batch_sees_the_escrow_its_own_decisions_took(w: FakeWorld) -> None:
    """A refund granted by a timer (a missed ship-by time) takes its share of the escrow before the
    batch is written, so a second grant in the same batch cannot take it again."""
    from orderguard.app.deadlines import Batch
    from orderguard.app.ports import DueDeadline
    from orderguard.domain import refunds as rules

    _, _, order = _paid(w)
    now = w.clock.now()
    with w.ctx.uow() as uow:
        batch = Batch(uow, [DueDeadline(0, "order", order.id, order.id, "pay_by", now)])
        payment = batch.captured_payment(order.id)
        assert payment is not None and batch.escrow(order.id) == TOTAL
        policy = w.ctx.policies.get(order.policy_key)
        first = rules.grant(
            "r1", order, payment, (), 5_00, "missed_ship_by", "missed_ship_by", None,
            batch.escrow(order.id), now, policy,
        )  # fmt: skip
        batch.moved(first.flatten())
        assert batch.escrow(order.id) == TOTAL - 5_00
        with pytest.raises(Refused) as e:
            rules.grant("r2", order, payment, (), TOTAL, "x", "missed_ship_by", None,
                        batch.escrow(order.id), now, policy)  # fmt: skip
        assert e.value.refusal.code == "refund_exceeds_refundable"
