"""Refunds (R5.1-R5.3, R3.6): granted in one transaction, sent to the provider after it, settled in days.

A refund is a decision with an amount, the lines it covers, the reason it was granted, what
caused it (a cancellation request, a missed ship-by time, later a dispute, an unclaimed parcel or
fraud) and the original payment: it goes back to that payment's method and nowhere else, as
there is no platform balance (R3.6). Granting takes the amount out of the order's escrow into
`refunds:in_flight`, and never more than the escrow holds (what was captured and not yet
refunded or released), so partial refunds add up to at most what was captured (R5.3). The
caller holds the order's lock and passes that balance as `refundable`.

`pending`: recorded, the provider has not accepted it yet. It is sent after commit
(`AfterCommit(EXECUTE)`) and again by its `provider_retry` timer, with exponential backoff,
until the provider answers; a crash between the commit and the call is covered the same way.
Every call carries `provider_key`, the refund id, as the provider's idempotency key: however
often it is sent, the money moves once.
`processing`: accepted; the money is on its way, expected at `expected_at`. The
`settlement_check` timer asks the provider for the outcome then, and daily after.
`settled`: arrived; the amount leaves the ledger for `external:payments`.
`failed`: the provider declined it or reported it failed, so no money moved. The money stays in
flight, owed to the buyer; the `failure_retry` timer sends it again after the backoff (under a
new key, `<id>~<failures>`, since a provider replays a declined key's decline), and
administrators see it (GET /v1/admin/refunds?status=failed).

A cancellation refund (`cancellation_request`, `missed_ship_by`) must settle within
`refunds.cancellation_settle_days` (14) of being granted: `settle_by`; past it, it is overdue and
flagged to the administration (R5.2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar

from orderguard.domain import ledger
from orderguard.domain.decision import AfterCommit, Decision, Event, take
from orderguard.domain.machine import Actor, Due, Facts, Machine, Refusal, Refused, T, Timer
from orderguard.domain.money import Money, MoneyError
from orderguard.domain.orders import Order
from orderguard.domain.payments import Payment, PaymentState
from orderguard.domain.policy import Policy
from orderguard.domain.refund_texts import notices

SYS = Actor.SYSTEM
EXECUTE = "execute_refund"  # after commit: send the refund to the provider
CHECK = "check_refund"  # after commit: ask the provider whether the refund has arrived

# cause type -> the rule that grants the refund
CAUSES = {
    "cancellation_request": "R4.3",
    "missed_ship_by": "R4.8",
    "dispute": "R7.5",
    "unclaimed_parcel": "R6.6",
    "fraud": "R8.2",
}
# causes whose refunds must settle within `refunds.cancellation_settle_days` (R5.2)
CANCELLATION_CAUSES = frozenset({"cancellation_request", "missed_ship_by"})


class RefundState(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    SETTLED = "settled"
    FAILED = "failed"


class RefundDeadline(StrEnum):
    PROVIDER_RETRY = "provider_retry"
    SETTLEMENT_CHECK = "settlement_check"
    FAILURE_RETRY = "failure_retry"


_BACKOFF = (
    "the last call to the payment provider, after {refunds.retry_seconds} seconds doubling with each "
    "attempt (at most {refunds.retry_max_seconds} seconds)"
)
PROVIDER_RETRY = Timer(
    RefundDeadline.PROVIDER_RETRY,
    Due("retry_at", _BACKOFF),
    None,
    "the payment provider must accept the refund",
    "the refund is sent to the provider again under the same idempotency key (the refund id), so "
    "the money moves once",
    repeats=True,
)
SETTLEMENT_CHECK = Timer(
    RefundDeadline.SETTLEMENT_CHECK,
    Due("check_at", "the expected arrival date, then daily"),
    None,
    "the payment provider must pay the refund out to the original payment method",
    "the provider is asked whether the refund has arrived; it is asked again daily until it has "
    "arrived or failed",
    repeats=True,
)
FAILURE_RETRY = Timer(
    RefundDeadline.FAILURE_RETRY,
    Due("retry_at", _BACKOFF),
    None,
    "nothing: the provider declined the refund and administrators see it",
    "the refund is sent to the original payment method again",
)

REFUND = Machine(
    "refund",
    (
        T(RefundState.PENDING, "accepted", RefundState.PROCESSING, SYS, "R5.1"),
        T(RefundState.PENDING, "declined", RefundState.FAILED, SYS, "R5.1"),
        T(RefundState.PENDING, "provider_retried", RefundState.PENDING, SYS, "R5.3", PROVIDER_RETRY),
        T(RefundState.PROCESSING, "settled", RefundState.SETTLED, SYS, "R5.2"),
        T(RefundState.PROCESSING, "failed", RefundState.FAILED, SYS, "R5.1"),
        T(
            RefundState.PROCESSING,
            "settlement_checked",
            RefundState.PROCESSING,
            SYS,
            "R5.2",
            SETTLEMENT_CHECK,
        ),
        T(RefundState.FAILED, "retried", RefundState.PENDING, SYS, "R5.1", FAILURE_RETRY),
    ),
    terminal=frozenset({RefundState.SETTLED}),
)
IN_FLIGHT = frozenset({RefundState.PENDING, RefundState.PROCESSING})


@dataclass(frozen=True, slots=True)
class RefundLine:
    """What a refund gives back for one order line: `quantity` units, `amount` in minor units.

    A quantity of 0 refunds an amount that is no unit's (e.g. the line's shipping alone).
    """

    line_id: str
    quantity: int
    amount: int


@dataclass(frozen=True, slots=True)
class Refund:
    lifecycle: ClassVar[str] = "refund"

    id: str
    order_id: str
    payment_id: str
    method: str  # the original payment's: the only place the money may go (R3.6)
    state: str
    amount: int
    currency: str
    reason: str  # a code, e.g. the cancellation reason `out_of_stock`, or `missed_ship_by`
    cause_type: str  # one of CAUSES
    cause_id: str | None
    lines: tuple[RefundLine, ...]
    created_at: datetime
    settle_by: datetime | None = None  # cancellation refunds only (R5.2)
    attempts: int = 0  # calls made (or about to be made) to the provider
    failures: int = 0  # times the provider declined it or reported it failed
    requested_at: datetime | None = None  # when the current `provider_key` was first sent
    retry_at: datetime | None = None  # pending / failed: when it is sent again
    check_at: datetime | None = None  # processing: when the provider is next asked for the outcome
    provider_ref: str | None = None
    accepted_at: datetime | None = None
    expected_at: datetime | None = None  # the expected arrival at the buyer's method
    settled_at: datetime | None = None
    failure_reason: str | None = None

    @property
    def provider_key(self) -> str:
        """The provider's idempotency key: the refund id, and the failure count after a failure."""
        return self.id if self.failures == 0 else f"{self.id}~{self.failures}"

    def overdue(self, now: datetime) -> bool:
        """R5.2: a refund with a settle-by time, unsettled once it has passed."""
        return self.settle_by is not None and self.state != RefundState.SETTLED and now >= self.settle_by


RefundDecision = Decision[Refund]


def backoff(attempts: int, policy: Policy) -> timedelta:
    """How long after the `attempts`-th call the refund is sent again: the base, doubled per
    earlier attempt, at most the cap."""
    base, cap = policy.refunds.retry_seconds, policy.refunds.retry_max_seconds
    doublings = max(attempts - 1, 0)
    return timedelta(seconds=cap if doublings >= 63 else min(base << doublings, cap))


def expected_without_answer(method: str, now: datetime, policy: Policy) -> datetime:
    """The arrival promised before the provider answers: the method's longest window (R5.2)."""
    return now + timedelta(days=policy.refunds.window(method)[1])


def grant(
    refund_id: str,
    order: Order,
    payment: Payment,
    lines: Sequence[RefundLine],
    amount: int,
    reason: str,
    cause_type: str,
    cause_id: str | None,
    refundable: int,
    now: datetime,
    policy: Policy,
) -> RefundDecision:
    """A refund of `amount` to `payment`'s method, for `lines`, granted for `reason` (R5.1, R5.3).

    `refundable` is the order's escrow balance, read under the order's lock: a refund above it is
    refused (409 `refund_exceeds_refundable`), so refunds never add up to more than was captured.
    Lines, when given, must be the order's, each at most once, and add up to `amount`.
    The money moves from escrow to `refunds:in_flight`; the refund is sent to the provider after
    commit, and its retry timer covers a crash before that.
    """
    if cause_type not in CAUSES:
        raise ValueError(f"unknown refund cause {cause_type!r}")
    _check_payment(order, payment)
    _check_amount(order, lines, amount, refundable)
    settle_by = (
        now + timedelta(days=policy.refunds.cancellation_settle_days)
        if cause_type in CANCELLATION_CAUSES
        else None
    )
    refund = Refund(
        refund_id,
        order.id,
        payment.id,
        payment.method,
        REFUND.initial,
        amount,
        order.currency,
        reason,
        cause_type,
        cause_id,
        tuple(lines),
        now,
        settle_by=settle_by,
        attempts=1,
        requested_at=now,
        retry_at=now + backoff(1, policy),
        expected_at=expected_without_answer(payment.method, now, policy),
    )
    _, arm = REFUND.rearm("", refund, now, policy)
    data = {
        "amount": amount,
        "method": payment.method,
        "payment_id": payment.id,
        "reason": reason,
        "cause_type": cause_type,
        "cause_id": cause_id,
    }
    granted = Event("granted", SYS, None, CAUSES[cause_type], now, data)
    return Decision(
        refund,
        [granted],
        arm=arm,
        ledger=[ledger.refund_granted(order.id, amount, order.currency)],
        notifications=notices(refund, granted),
        new=True,
        after_commit=[AfterCommit(EXECUTE, refund_id)],
    )


def within(lines: Sequence[RefundLine], refundable: int) -> list[RefundLine]:
    """The lines' amounts cut, from the last line back, so that they add up to at most `refundable`
    (what the order's escrow still holds: money refunded or released before has left it)."""
    excess = sum(line.amount for line in lines) - max(refundable, 0)
    out = []
    for line in reversed(lines):
        cut = min(max(excess, 0), line.amount)
        excess -= cut
        out.append(RefundLine(line.line_id, line.quantity, line.amount - cut))
    return out[::-1]


def _check_payment(order: Order, payment: Payment) -> None:
    if payment.order_id != order.id or payment.state != PaymentState.CAPTURED:
        raise Refused(
            Refusal("payment_not_captured", f"order {order.id} has no captured payment to refund to")
        )
    if payment.currency != order.currency:
        raise ValueError(f"payment {payment.id} is in {payment.currency}, its order in {order.currency}")


def _check_amount(order: Order, lines: Sequence[RefundLine], amount: int, refundable: int) -> None:
    try:
        Money(amount, order.currency)
    except MoneyError as e:
        raise Refused(Refusal(e.code, e.detail, 422)) from e
    if amount <= 0:
        raise Refused(Refusal("invalid_refund_amount", "a refund gives back a positive amount", 422))
    if amount > refundable:
        raise Refused(
            Refusal(
                "refund_exceeds_refundable",
                f"a refund of {Money(amount, order.currency).format()} is more than the "
                f"{Money(max(refundable, 0), order.currency).format()} still held for order {order.id}",
            )
        )
    ordered = {line.id: line.quantity for line in order.lines}
    seen: set[str] = set()
    for line in lines:
        if line.line_id not in ordered:
            raise Refused(Refusal("unknown_line", f"order {order.id} has no line {line.line_id}", 422))
        if line.line_id in seen:
            raise Refused(Refusal("duplicate_line", f"line {line.line_id} appears twice", 422))
        seen.add(line.line_id)
        if not 0 <= line.quantity <= ordered[line.line_id] or line.amount < 0:
            raise Refused(
                Refusal("invalid_refund_line", f"line {line.line_id}: quantity or amount out of range", 422)
            )
    if lines and sum(line.amount for line in lines) != amount:
        raise Refused(Refusal("refund_lines_mismatch", "the refund's lines do not add up to its amount", 422))


def _step(
    refund: Refund, event: str, now: datetime, policy: Policy, data: dict[str, Any], **changes: Any
) -> RefundDecision:
    return take(REFUND, refund, event, SYS, None, now, policy, data, notices, **changes)


def accepted(
    refund: Refund, reference: str, settles_at: datetime, now: datetime, policy: Policy
) -> RefundDecision:
    """The provider accepted the refund: it is on its way, expected at `settles_at` (R5.1)."""
    data = {"provider_ref": reference, "expected_at": settles_at.isoformat()}
    return _step(
        refund,
        "accepted",
        now,
        policy,
        data,
        provider_ref=reference,
        accepted_at=now,
        expected_at=settles_at,
        check_at=max(settles_at, now),
        retry_at=None,
        failure_reason=None,
    )


def settled(refund: Refund, now: datetime, policy: Policy) -> RefundDecision:
    """The provider paid the refund out: the money leaves the platform (R5.2)."""
    d = _step(refund, "settled", now, policy, {"amount": refund.amount}, settled_at=now, check_at=None)
    d.ledger.append(ledger.refund_settled(refund.order_id, refund.amount, refund.currency))
    return d


def failed(refund: Refund, reason: str, now: datetime, policy: Policy) -> RefundDecision:
    """The provider declined the refund (pending) or reported it failed (processing).

    No money moved: it stays in flight, owed to the buyer, and is sent again after the backoff.
    """
    if refund.state not in IN_FLIGHT:
        raise Refused(
            Refusal("refund_not_in_flight", f"refund {refund.id} is {refund.state}: nothing can fail")
        )
    event = "declined" if refund.state == RefundState.PENDING else "failed"
    d = _step(
        refund,
        event,
        now,
        policy,
        {"reason": reason},
        failures=refund.failures + 1,
        failure_reason=reason,
        retry_at=now + backoff(refund.attempts, policy),
        check_at=None,
    )
    if refund.failures:
        d.notifications.clear()  # the buyer was told at the first failure; the retries are ours
    return d


@REFUND.on_expiry("provider_retried")
def provider_retried(refund: Refund, now: datetime, policy: Policy, facts: Facts) -> RefundDecision:
    """The provider has not accepted the refund yet: send it again after commit, same key."""
    attempts = refund.attempts + 1
    d = _step(
        refund,
        "provider_retried",
        now,
        policy,
        {"attempt": attempts},
        attempts=attempts,
        retry_at=now + backoff(attempts, policy),
    )
    d.after_commit.append(AfterCommit(EXECUTE, refund.id))
    return d


@REFUND.on_expiry("settlement_checked")
def settlement_checked(refund: Refund, now: datetime, policy: Policy, facts: Facts) -> RefundDecision:
    """The expected arrival has come: ask the provider after commit, and again in a day."""
    d = _step(refund, "settlement_checked", now, policy, {}, check_at=now + timedelta(days=1))
    d.after_commit.append(AfterCommit(CHECK, refund.id))
    return d


@REFUND.on_expiry("retried")
def retried(refund: Refund, now: datetime, policy: Policy, facts: Facts) -> RefundDecision:
    """A failed refund is sent to the original payment method again, under its next key."""
    attempts = refund.attempts + 1
    d = _step(
        refund,
        "retried",
        now,
        policy,
        {"attempt": attempts},
        attempts=attempts,
        requested_at=now,
        retry_at=now + backoff(attempts, policy),
        expected_at=expected_without_answer(refund.method, now, policy),
        provider_ref=None,
        accepted_at=None,
    )
    d.after_commit.append(AfterCommit(EXECUTE, refund.id))
    return d
