"""The refund lifecycle (R5.1-R5.3, R3.6): its table, every transition, the backoff and the ledger."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from orderguard.domain import refunds
from orderguard.domain.decision import AfterCommit
from orderguard.domain.ledger import EXTERNAL_PAYMENTS, REFUNDS_IN_FLIGHT, Posting, escrow
from orderguard.domain.machine import ArmDeadline, Refused
from orderguard.domain.orders import Address, Line, Order
from orderguard.domain.payments import Payment
from orderguard.domain.policy import Policy
from orderguard.domain.refunds import REFUND, Refund, RefundLine, backoff

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
TOTAL = 2 * 1_250 + 300 + 499  # the order's lines and shipping


class NoFacts:
    def escrow(self, order_id: str) -> int:
        raise AssertionError("a refund's timers need no facts")

    def order(self, order_id: str) -> Any:
        raise AssertionError("a refund's timers need no facts")

    def captured_payment(self, order_id: str) -> Any:
        raise AssertionError("a refund's timers need no facts")


FACTS = NoFacts()


def paid_order() -> Order:
    lines = (
        Line("l1", "of1", "p1", "Kettle", unit_price=1_250, quantity=2, shipping_price=300,
             carrier="post", promised_days=12),
        Line("l2", "of2", "p2", "Mug", unit_price=499, quantity=1, shipping_price=0,
             carrier="post", promised_days=20),
    )  # fmt: skip
    return Order(
        "o1", "b1", "s1", "awaiting_shipment", "USD", lines,
        Address("Ann", "1 Main St", "Springfield", "12345", "US"),
        "2026.11-default@abc", NOW - timedelta(days=2), NOW + timedelta(days=18),
        paid_at=NOW - timedelta(days=1),
    )  # fmt: skip


def payment(method: str = "card", state: str = "captured") -> Payment:
    return Payment(
        "pay1", "o1", method, state, TOTAL, "USD", NOW - timedelta(days=1), provider_ref="sbx_card_x"
    )


def granted(
    policy: Policy,
    amount: int = 1_250,
    *,
    method: str = "card",
    cause_type: str = "cancellation_request",
    lines: tuple[RefundLine, ...] = (RefundLine("l1", 1, 1_250),),
    refundable: int = TOTAL,
) -> refunds.RefundDecision:
    return refunds.grant(
        "rfd1", paid_order(), payment(method), lines, amount, "out_of_stock", cause_type, "cr1",
        refundable, NOW, policy,
    )  # fmt: skip


def code_of(call: Any) -> tuple[int, str]:
    with pytest.raises(Refused) as e:
        call()
    return e.value.refusal.status, e.value.refusal.code


# --- the table ------------------------------------------------------------------------------------


def test_the_refund_lifecycle_runs_pending_processing_settled_or_failed() -> None:
    assert REFUND.initial == "pending"
    assert REFUND.states == ["pending", "processing", "failed", "settled"]
    assert REFUND.terminal == {"settled"}
    assert REFUND.state_deadlines == {
        "pending": ("provider_retry",),
        "processing": ("settlement_check",),
        "failed": ("failure_retry",),
    }


def test_every_timer_says_who_must_act_what_and_what_expiry_does(policy: Policy) -> None:
    for timer in REFUND.timers.values():
        assert timer.must_act is None  # each is a wait on the provider, never on a person
        assert timer.action_needed and timer.consequence
        assert timer.due.describe(policy)
    assert REFUND.timers["provider_retry"].repeats and REFUND.timers["settlement_check"].repeats


# --- grant ----------------------------------------------------------------------------------------


def test_grant_records_a_pending_refund_to_the_original_payment_and_sends_it_after_commit(
    policy: Policy,
) -> None:
    d = granted(policy)
    r = d.subject
    assert d.new and r.state == "pending"
    assert (r.payment_id, r.method, r.amount, r.currency) == ("pay1", "card", 1_250, "USD")
    assert (r.reason, r.cause_type, r.cause_id, r.lines) == (
        "out_of_stock",
        "cancellation_request",
        "cr1",
        (RefundLine("l1", 1, 1_250),),
    )
    assert r.attempts == 1 and r.failures == 0 and r.provider_key == "rfd1"
    assert r.requested_at == NOW and r.retry_at == NOW + timedelta(seconds=60)
    assert r.expected_at == NOW + timedelta(days=7)  # before the provider answers: the card's longest
    assert r.settle_by == NOW + timedelta(days=14)  # R5.2
    assert d.after_commit == [AfterCommit(refunds.EXECUTE, "rfd1")]
    assert d.arm == [ArmDeadline("provider_retry", NOW + timedelta(seconds=60))]  # covers a crash
    (txn,) = d.ledger
    assert txn.postings == (Posting(escrow("o1"), -1_250, "USD"), Posting(REFUNDS_IN_FLIGHT, 1_250, "USD"))
    (event,) = d.events
    assert (event.kind, event.rule, event.data["amount"], event.data["method"]) == (
        "granted",
        "R4.3",
        1_250,
        "card",
    )
    (n,) = d.notifications
    assert n.recipient == "buyer" and n.kind == "refund_granted"
    assert "12.50 USD" in n.text and "card" in n.text and "2026-01-12" in n.text


@pytest.mark.parametrize(
    ("cause_type", "rule", "settle_by"),
    [
        ("cancellation_request", "R4.3", True),
        ("missed_ship_by", "R4.8", True),
        ("dispute", "R7.5", False),
        ("unclaimed_parcel", "R6.6", False),
    ],
)
def test_only_cancellation_refunds_must_settle_within_14_days(
    policy: Policy, cause_type: str, rule: str, settle_by: bool
) -> None:
    d = granted(policy, cause_type=cause_type)
    assert d.events[0].rule == rule
    assert d.subject.settle_by == (NOW + timedelta(days=14) if settle_by else None)


@pytest.mark.parametrize(("method", "days"), [("card", 7), ("ewallet", 3), ("bank_transfer", 21)])
def test_before_the_provider_answers_the_expected_arrival_is_the_methods_longest_window(
    policy: Policy, method: str, days: int
) -> None:
    assert granted(policy, method=method).subject.expected_at == NOW + timedelta(days=days)


def test_grant_refuses_more_than_the_escrow_holds_so_partial_refunds_add_up_to_the_capture(
    policy: Policy,
) -> None:
    assert code_of(lambda: granted(policy, TOTAL + 1, lines=())) == (409, "refund_exceeds_refundable")
    first = granted(policy, 2_000, lines=(), refundable=TOTAL).subject
    left = TOTAL - first.amount
    assert code_of(lambda: granted(policy, left + 1, lines=(), refundable=left)) == (
        409,
        "refund_exceeds_refundable",
    )
    assert granted(policy, left, lines=(), refundable=left).subject.amount == left


@pytest.mark.parametrize(
    ("amount", "lines", "code"),
    [
        (0, (), "invalid_refund_amount"),
        (-1, (), "invalid_refund_amount"),
        (100, (RefundLine("nope", 1, 100),), "unknown_line"),
        (200, (RefundLine("l1", 1, 100), RefundLine("l1", 1, 100)), "duplicate_line"),
        (100, (RefundLine("l1", 3, 100),), "invalid_refund_line"),
        (100, (RefundLine("l1", -1, 100),), "invalid_refund_line"),
        (100, (RefundLine("l1", 1, 50),), "refund_lines_mismatch"),
    ],
)
def test_grant_refuses_bad_amounts_and_lines(
    policy: Policy, amount: int, lines: tuple[RefundLine, ...], code: str
) -> None:
    assert code_of(lambda: granted(policy, amount, lines=lines)) == (422, code)


def test_a_line_may_refund_shipping_alone(policy: Policy) -> None:
    d = granted(policy, 300, lines=(RefundLine("l1", 0, 300),))
    assert d.subject.lines == (RefundLine("l1", 0, 300),)


def test_grant_needs_the_orders_captured_payment(policy: Policy) -> None:
    def pending() -> None:
        refunds.grant("r", paid_order(), payment("bank_transfer", "pending"), (), 100, "x", "dispute",
                      None, TOTAL, NOW, policy)  # fmt: skip

    assert code_of(pending) == (409, "payment_not_captured")
    other = replace(payment(), order_id="o2")
    assert code_of(
        lambda: refunds.grant("r", paid_order(), other, (), 100, "x", "dispute", None, TOTAL, NOW, policy)
    ) == (409, "payment_not_captured")


# --- the provider's answers -------------------------------------------------------------------------


def pending_refund(policy: Policy) -> Refund:
    return granted(policy).subject


def processing_refund(policy: Policy, settles_in: int = 5) -> Refund:
    return refunds.accepted(
        pending_refund(policy), "ref1", NOW + timedelta(days=settles_in), NOW, policy
    ).subject


def test_accepted_moves_to_processing_and_checks_on_the_expected_date(policy: Policy) -> None:
    settles = NOW + timedelta(days=5)
    d = refunds.accepted(pending_refund(policy), "ref1", settles, NOW, policy)
    r = d.subject
    assert (r.state, r.provider_ref, r.accepted_at, r.expected_at, r.check_at) == (
        "processing",
        "ref1",
        NOW,
        settles,
        settles,
    )
    assert d.cancel == ["provider_retry"] and d.arm == [ArmDeadline("settlement_check", settles)]
    assert d.ledger == [] and d.after_commit == []
    (n,) = d.notifications
    assert n.kind == "refund_accepted" and "ref1" in n.text and "2026-01-10" in n.text


def test_settled_pays_the_money_out_of_the_platform(policy: Policy) -> None:
    later = NOW + timedelta(days=5)
    d = refunds.settled(processing_refund(policy), later, policy)
    assert d.subject.state == "settled" and d.subject.settled_at == later
    assert d.cancel == ["settlement_check"] and d.arm == []
    (txn,) = d.ledger
    assert txn.postings == (
        Posting(REFUNDS_IN_FLIGHT, -1_250, "USD"),
        Posting(EXTERNAL_PAYMENTS, 1_250, "USD"),
    )
    assert d.notifications[0].kind == "refund_settled"
    assert code_of(lambda: refunds.settled(d.subject, later, policy))[1] == "refund_settled_not_allowed"


def test_a_declined_refund_fails_and_is_retried_under_a_new_key(policy: Policy) -> None:
    d = refunds.failed(pending_refund(policy), "card account closed", NOW, policy)
    r = d.subject
    assert (r.state, r.failures, r.failure_reason, r.provider_key) == (
        "failed",
        1,
        "card account closed",
        "rfd1~1",
    )
    assert d.events[0].kind == "declined"
    assert d.cancel == ["provider_retry"] and d.arm == [
        ArmDeadline("failure_retry", NOW + timedelta(seconds=60))
    ]
    assert d.ledger == []  # no money moved: it stays in flight, owed to the buyer
    assert d.notifications[0].kind == "refund_delayed" and "card account closed" in d.notifications[0].text


def test_a_refund_the_provider_reports_failed_while_processing_is_retried_too(policy: Policy) -> None:
    d = refunds.failed(processing_refund(policy), "returned by the bank", NOW, policy)
    assert d.subject.state == "failed" and d.events[0].kind == "failed" and d.subject.check_at is None
    assert d.cancel == ["settlement_check"] and [a.kind for a in d.arm] == ["failure_retry"]


def test_only_a_refund_in_flight_can_fail(policy: Policy) -> None:
    done = refunds.settled(processing_refund(policy), NOW, policy).subject
    assert code_of(lambda: refunds.failed(done, "x", NOW, policy)) == (409, "refund_not_in_flight")
    failed = refunds.failed(pending_refund(policy), "x", NOW, policy).subject
    assert code_of(lambda: refunds.failed(failed, "x", NOW, policy)) == (409, "refund_not_in_flight")


def test_the_buyer_hears_of_the_first_failure_only(policy: Policy) -> None:
    first = refunds.failed(pending_refund(policy), "x", NOW, policy)
    again = REFUND.fire(first.subject, "failure_retry", NOW + timedelta(minutes=1), policy, FACTS)
    second = refunds.failed(again.subject, "x", NOW + timedelta(minutes=2), policy)
    assert first.notifications and not second.notifications
    assert second.subject.provider_key == "rfd1~2"


# --- timers -----------------------------------------------------------------------------------------


def test_the_backoff_doubles_per_attempt_up_to_the_cap(policy: Policy) -> None:
    seconds = [backoff(n, policy).total_seconds() for n in range(1, 14)]
    assert seconds[:5] == [60, 120, 240, 480, 960]
    assert seconds[-1] == 86_400 and max(seconds) == 86_400
    assert backoff(10**6, policy) == timedelta(days=1)


def test_an_unanswered_refund_is_sent_again_under_the_same_key_with_backoff(policy: Policy) -> None:
    r = pending_refund(policy)
    at = r.retry_at
    assert at is not None
    d = REFUND.fire(r, "provider_retry", at, policy, FACTS)
    assert d.subject.state == "pending" and d.subject.attempts == 2
    assert d.subject.provider_key == "rfd1"  # same key: the money moves once
    assert d.subject.retry_at == at + timedelta(seconds=120)
    assert d.cancel == [] and d.arm == [ArmDeadline("provider_retry", at + timedelta(seconds=120))]
    assert d.after_commit == [AfterCommit(refunds.EXECUTE, "rfd1")]
    assert d.notifications == []
    third = REFUND.fire(d.subject, "provider_retry", at + timedelta(seconds=120), policy, FACTS)
    assert third.subject.retry_at == at + timedelta(seconds=120 + 240)


def test_the_settlement_check_asks_the_provider_and_again_daily(policy: Policy) -> None:
    r = processing_refund(policy)
    assert r.check_at is not None
    d = REFUND.fire(r, "settlement_check", r.check_at, policy, FACTS)
    assert d.subject.state == "processing" and d.subject.check_at == r.check_at + timedelta(days=1)
    assert d.arm == [ArmDeadline("settlement_check", r.check_at + timedelta(days=1))]
    assert d.after_commit == [AfterCommit(refunds.CHECK, "rfd1")]


def test_a_failed_refund_goes_back_to_pending_after_the_backoff(policy: Policy) -> None:
    failed = refunds.failed(pending_refund(policy), "x", NOW, policy).subject
    later = NOW + timedelta(minutes=1)
    d = REFUND.fire(failed, "failure_retry", later, policy, FACTS)
    r = d.subject
    assert (r.state, r.attempts, r.requested_at, r.provider_key) == ("pending", 2, later, "rfd1~1")
    assert r.expected_at == later + timedelta(days=7)
    assert d.cancel == ["failure_retry"] and d.arm == [
        ArmDeadline("provider_retry", later + timedelta(seconds=120))
    ]
    assert d.after_commit == [AfterCommit(refunds.EXECUTE, "rfd1")]


def test_a_timer_of_a_state_the_refund_left_is_stale(policy: Policy) -> None:
    assert REFUND.fire(processing_refund(policy), "provider_retry", NOW, policy, FACTS) is None
    assert REFUND.fire(pending_refund(policy), "settlement_check", NOW, policy, FACTS) is None


def test_a_cancellation_refund_is_overdue_once_unsettled_past_its_settle_by(policy: Policy) -> None:
    r = processing_refund(policy)
    assert r.settle_by is not None
    assert not r.overdue(r.settle_by - timedelta(seconds=1)) and r.overdue(r.settle_by)
    assert not refunds.settled(r, NOW, policy).subject.overdue(r.settle_by)
    assert not granted(policy, cause_type="dispute").subject.overdue(NOW + timedelta(days=365))


def test_the_diagram_draws_the_refund_lifecycle(policy: Policy) -> None:
    diagram = REFUND.mermaid(policy)
    assert "pending --> processing: accepted (system, R5.1)" in diagram
    assert "failed --> pending: retried: the last call to the payment provider, after 60 seconds" in diagram
    assert "settled --> [*]" in diagram
