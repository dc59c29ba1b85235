"""Executing refunds (R5.1-R5.3): the provider is called after commit, its answer recorded after.

A refund is granted inside the transaction of whatever decided it (`domain.refunds.grant`), which
asks for `execute` after its commit (`app.effects.run_after_commit`). `execute` reads the refund,
calls the provider outside any transaction with the refund's idempotency key, and records the
answer in a second transaction (`_record`). If the process dies in between, or the provider does
not answer, the refund's `provider_retry` deadline runs `execute` again later; whichever attempt
records first wins and the others find the refund already answered, while the provider, keyed by
the same id, has moved the money once. `check_settlement` does the same for an accepted refund's
outcome, when its `settlement_check` deadline fires.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from orderguard.app.access import not_found
from orderguard.app.context import Context
from orderguard.domain import refunds
from orderguard.domain.policy import Policy
from orderguard.domain.refunds import Refund, RefundDecision, RefundState
from orderguard.providers.payments import ProviderUnavailable, RefundDeclined

log = logging.getLogger(__name__)

Decide = Callable[[Refund, datetime, Policy], RefundDecision]


def execute(ctx: Context, refund_id: str) -> Refund:
    """Send a pending refund to the provider, outside any transaction, and record the answer.

    Idempotent: the provider is keyed by `provider_key`, and a refund no longer pending is left
    as it is. While the provider cannot be reached the refund stays pending and its retry
    deadline sends it again.
    """
    with ctx.reading() as uow:
        refund = uow.refunds.load_refund(refund_id)
        payment = uow.payments.load_payment(refund.payment_id) if refund else None
    if refund is None or payment is None:
        raise not_found("refund", refund_id)
    if refund.state != RefundState.PENDING:
        return refund
    assert refund.requested_at is not None
    try:
        receipt = ctx.payments.refund(
            payment.provider_ref or payment.id,
            refund.method,
            refund.amount,
            refund.currency,
            refund.provider_key,
            refund.requested_at,
        )
    except RefundDeclined as e:
        reason = e.reason
        return _record(ctx, refund, lambda r, now, policy: refunds.failed(r, reason, now, policy))
    except ProviderUnavailable as e:
        log.warning(
            "refund %s: the provider did not answer (%s); its retry deadline asks again", refund_id, e
        )
        return refund
    return _record(
        ctx,
        refund,
        lambda r, now, policy: refunds.accepted(r, receipt.reference, receipt.settles_at, now, policy),
    )


def check_settlement(ctx: Context, refund_id: str) -> Refund:
    """Ask the provider whether an accepted refund has arrived, and record it if it has (or failed).

    Still on its way, or the provider unreachable: nothing changes, and the daily check asks again.
    """
    with ctx.reading() as uow:
        refund = uow.refunds.load_refund(refund_id)
    if refund is None:
        raise not_found("refund", refund_id)
    if refund.state != RefundState.PROCESSING or refund.provider_ref is None:
        return refund
    try:
        status = ctx.payments.refund_status(refund.provider_ref, ctx.clock.now())
    except ProviderUnavailable as e:
        log.warning("refund %s: the provider did not answer (%s); the next check asks again", refund_id, e)
        return refund
    if status.state == "settled":
        return _record(ctx, refund, refunds.settled)
    if status.state == "failed":
        reason = status.reason or "the payment provider reported the refund failed"
        return _record(ctx, refund, lambda r, now, policy: refunds.failed(r, reason, now, policy))
    return refund


def report_failure(ctx: Context, refund_id: str, reason: str) -> Refund:
    """The provider reports a refund in flight failed (the sandbox's `/fail`): it is sent again later."""
    with ctx.reading() as uow:
        refund = uow.refunds.load_refund(refund_id)
    if refund is None:
        raise not_found("refund", refund_id)
    return _record(ctx, refund, lambda r, now, policy: refunds.failed(r, reason, now, policy), strict=True)


def _record(ctx: Context, asked: Refund, decide: Decide, *, strict: bool = False) -> Refund:
    """Record what the provider said about `asked`, unless another attempt recorded first.

    The order is locked before the refund, as every command and the scheduler do. With `strict`
    the decision is taken whatever the refund's state now (it refuses what does not apply).
    """
    now = ctx.clock.now()
    with ctx.uow() as uow:
        order = uow.orders.load_order(asked.order_id, lock=True)
        refund = uow.refunds.load_refund(asked.id, lock=True)
        assert order is not None and refund is not None
        if not strict and (refund.state != asked.state or refund.provider_key != asked.provider_key):
            return refund  # answered meanwhile (the retry deadline and the request raced)
        decision = decide(refund, now, ctx.policies.get(order.policy_key))
        uow.save([decision], now)
        return decision.subject
