"""Payments: a capture at once (card, e-wallet) or a pending bank transfer (R3.5)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from orderguard.domain.machine import Actor, Due, Machine, Refusal, Refused, T, Timer
from orderguard.domain.policy import Policy


class PaymentState(StrEnum):
    PENDING = "pending"
    CAPTURED = "captured"
    FAILED = "failed"


class PaymentDeadline(StrEnum):
    TRANSFER_CREDIT_BY = "transfer_credit_by"


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
        T(PaymentState.PENDING, "credited", PaymentState.CAPTURED, Actor.SYSTEM, "R3.5"),
        T(PaymentState.PENDING, "failed", PaymentState.FAILED, Actor.SYSTEM, "R3.5"),
        T(
            PaymentState.PENDING,
            "transfer_expired",
            PaymentState.FAILED,
            Actor.SYSTEM,
            "R3.5",
            TRANSFER_CREDIT_BY,
        ),
    ),
    terminal=frozenset({PaymentState.CAPTURED, PaymentState.FAILED}),
)


@dataclass(frozen=True, slots=True)
class Payment:
    id: str
    order_id: str
    method: str
    state: str
    amount: int
    currency: str
    provider_ref: str
    created_at: datetime


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


def open_payment(
    payment_id: str,
    order_id: str,
    method: str,
    amount: int,
    currency: str,
    provider_ref: str,
    now: datetime,
    policy: Policy,
) -> Payment:
    """A new payment: captured at once (card, e-wallet) or pending until the bank reports (R3.5)."""
    state = PAYMENT.initial
    if captured_at_once(method, policy):  # the provider confirmed the capture in the same call
        state = PAYMENT.step(state, "credited", Actor.SYSTEM).target
    return Payment(payment_id, order_id, method, state, amount, currency, provider_ref, now)


def settle(payment: Payment, event: str) -> str:
    """The payment's next state on a provider report (refused if it is already settled)."""
    t = PAYMENT.find(payment.state, event)
    if t is None:
        raise Refused(
            Refusal(
                "payment_not_pending",
                f"payment {payment.id} is already {payment.state}",
                409,
            )
        )
    return t.target
