"""Payments (R3.5): recorded before the provider is called, settled by the provider's answer.

A payment is `initiated` in the buyer's transaction, which also moves the order to
`payment_pending`; the provider is called only after that commits, with the payment id as its
idempotency key, and its answer is recorded in a second transaction: a card or e-wallet is
`captured` (or `failed`, declined), a bank transfer is `pending` until the bank reports it
credited or it runs out of time. A payment left `initiated` (the process died between the two
transactions, or the provider did not answer) is asked about again by its `provider_retry`
timer; the same idempotency key means the buyer is never charged twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from orderguard.domain import orders
from orderguard.domain.decision import AfterCommit, Decision, take
from orderguard.domain.machine import Actor, Due, Facts, Machine, Refusal, Refused, T, Timer
from orderguard.domain.orders import Order
from orderguard.domain.policy import Policy

SYS = Actor.SYSTEM
EXECUTE = "execute_payment"  # the after-commit call: ask the provider for this payment


class PaymentState(StrEnum):
    INITIATED = "initiated"
    PENDING = "pending"
    CAPTURED = "captured"
    FAILED = "failed"


class PaymentDeadline(StrEnum):
    PROVIDER_RETRY = "provider_retry"
    TRANSFER_CREDIT_BY = "transfer_credit_by"


PROVIDER_RETRY = Timer(
    PaymentDeadline.PROVIDER_RETRY,
    Due("attempted_at", "the last call to the payment provider", "payment.provider_retry_seconds", "seconds"),
    None,
    "the payment provider must answer",
    "the provider is asked again for this payment's outcome, under the same idempotency key, so the "
    "buyer is never charged twice",
    repeats=True,
)
TRANSFER_CREDIT_BY = Timer(
    PaymentDeadline.TRANSFER_CREDIT_BY,
    Due("created_at", "the transfer started", "payment.bank_transfer_credit_days"),
    None,
    "the bank must credit the transfer",
    "the transfer fails; the order returns to awaiting payment, or is cancelled if its pay-by time "
    "has passed",
)

PAYMENT = Machine(
    "payment",
    (
        T(PaymentState.INITIATED, "captured", PaymentState.CAPTURED, SYS, "R3.5"),
        T(PaymentState.INITIATED, "declined", PaymentState.FAILED, SYS, "R3.5"),
        T(PaymentState.INITIATED, "transfer_opened", PaymentState.PENDING, SYS, "R3.5"),
        T(PaymentState.INITIATED, "provider_retried", PaymentState.INITIATED, SYS, "R3.5", PROVIDER_RETRY),
        T(PaymentState.PENDING, "credited", PaymentState.CAPTURED, SYS, "R3.5"),
        T(PaymentState.PENDING, "failed", PaymentState.FAILED, SYS, "R3.5"),
        T(PaymentState.PENDING, "transfer_expired", PaymentState.FAILED, SYS, "R3.5", TRANSFER_CREDIT_BY),
    ),
    terminal=frozenset({PaymentState.CAPTURED, PaymentState.FAILED}),
)


@dataclass(frozen=True, slots=True)
class Payment:
    lifecycle: ClassVar[str] = "payment"

    id: str
    order_id: str
    method: str
    state: str
    amount: int
    currency: str
    created_at: datetime
    provider_ref: str | None = None
    attempted_at: datetime | None = None
    settled_at: datetime | None = None
    failure_reason: str | None = None


PaymentDecision = Decision[Payment]


@dataclass(frozen=True, slots=True)
class ProviderAnswer:
    """What the provider said about a payment: a reference, or why it declined."""

    reference: str | None
    declined: str | None = None


def check_method(method: str, policy: Policy) -> None:
    if method not in policy.payment.methods:
        raise Refused(
            Refusal(
                "unknown_payment_method",
                f"payment method must be one of {', '.join(policy.payment.methods)}",
                422,
            )
        )


def captured_at_once(method: str, policy: Policy) -> bool:
    return method in policy.payment.captured_at_once


def _step(
    payment: Payment, event: str, now: datetime, policy: Policy, data: dict[str, Any], **changes: Any
) -> PaymentDecision:
    return take(PAYMENT, payment, event, SYS, None, now, policy, data, **changes)


def initiate(
    payment_id: str, order: Order, buyer_id: str, method: str, now: datetime, policy: Policy
) -> PaymentDecision:
    """The buyer pays `order` with `method`: recorded, then executed after commit (R3.5)."""
    check_method(method, policy)
    started = orders.payment_started(order, buyer_id, method, now, policy)
    amount = order.total.minor
    payment = Payment(
        payment_id, order.id, method, PAYMENT.initial, amount, order.currency, now, attempted_at=now
    )
    _, arm = PAYMENT.rearm("", payment, now, policy)
    _tag(started, payment)  # the order's `payment_started` event records who paid what, and how
    # the caller executes it as soon as this commits; the retry timer armed here covers a crash
    return Decision(payment, arm=arm, new=True, also=[started])


def answered(
    payment: Payment, order: Order, answer: ProviderAnswer, now: datetime, policy: Policy
) -> PaymentDecision:
    """Record the provider's answer to an initiated payment, and move its order."""
    ref = {"provider_ref": answer.reference}
    if answer.declined is not None:
        d = _step(payment, "declined", now, policy, {"reason": answer.declined}, settled_at=now,
                  failure_reason=answer.declined, **ref)  # fmt: skip
        d.also.append(_tag(orders.payment_failed(order, answer.declined, now, policy), payment))
    elif captured_at_once(payment.method, policy):
        d = _step(payment, "captured", now, policy, ref, settled_at=now, **ref)
        d.also.append(_tag(orders.payment_captured(order, now, policy), payment))
    else:
        d = _step(payment, "transfer_opened", now, policy, ref, **ref)
    return d


def settle(
    payment: Payment, order: Order, credited: bool, reason: str, now: datetime, policy: Policy
) -> PaymentDecision:
    """The provider reports a pending transfer credited, or failed (R3.5)."""
    if PAYMENT.find(payment.state, "credited") is None:
        raise Refused(Refusal("payment_not_pending", f"payment {payment.id} is {payment.state}", 409))
    if credited:
        d = _step(payment, "credited", now, policy, {}, settled_at=now)
        d.also.append(_tag(orders.payment_captured(order, now, policy), payment))
        return d
    d = _step(payment, "failed", now, policy, {"reason": reason}, settled_at=now, failure_reason=reason)
    d.also.append(_tag(orders.payment_failed(order, reason, now, policy), payment))
    return d


@PAYMENT.on_expiry("transfer_expired")
def transfer_expired(payment: Payment, now: datetime, policy: Policy, facts: Facts) -> PaymentDecision:
    """R3.5: a transfer not credited in time fails; the order awaits payment or is cancelled."""
    reason = "not credited in time"
    d = _step(
        payment, "transfer_expired", now, policy, {"reason": reason}, settled_at=now, failure_reason=reason
    )
    order = facts.order(payment.order_id)
    d.also.append(_tag(orders.payment_failed(order, reason, now, policy), payment))
    return d


@PAYMENT.on_expiry("provider_retried")
def provider_retried(payment: Payment, now: datetime, policy: Policy, facts: Facts) -> PaymentDecision:
    """The provider's answer never arrived: ask again after commit, and again later if need be."""
    d = _step(payment, "provider_retried", now, policy, {}, attempted_at=now)
    d.after_commit.append(AfterCommit(EXECUTE, payment.id))
    return d


def _tag(decision: orders.OrderDecision, payment: Payment) -> orders.OrderDecision:
    for event in decision.events:
        event.data.setdefault("payment_id", payment.id)
        event.data.setdefault("amount", payment.amount)
    return decision
