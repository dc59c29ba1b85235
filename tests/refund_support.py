"""Granting a refund on a paid order as a deciding use case will (the cancellation approval, the
missed ship-by time, a dispute's verdict...): lock the order, refund to its captured payment at most
its escrow, write the decision, then make its calls to the provider after the commit."""

from __future__ import annotations

from collections.abc import Sequence

from orderguard.app.context import Context
from orderguard.app.effects import run_after_commit
from orderguard.domain import refunds
from orderguard.domain.refunds import Refund, RefundLine
from orderguard.ids import new_id


def grant(
    ctx: Context,
    order_id: str,
    amount: int | None = None,
    *,
    lines: Sequence[RefundLine] = (),
    reason: str = "out_of_stock",
    cause_type: str = "cancellation_request",
    cause_id: str | None = None,
    execute: bool = True,
) -> Refund:
    """A refund of `amount` (default: all the escrow still holds) on the paid order.

    With `execute=False` the process "dies" after the commit: the provider is not called, and only
    the refund's retry deadline will send it.
    """
    now = ctx.clock.now()
    with ctx.uow() as uow:
        order = uow.orders.load_order(order_id, lock=True)
        assert order is not None
        payment = uow.payments.captured_payment(order_id)
        assert payment is not None, f"order {order_id} is not paid"
        refundable = uow.ledger.order_money(order_id, order.currency).in_escrow
        decision = refunds.grant(
            new_id("rfd"),
            order,
            payment,
            lines,
            refundable if amount is None else amount,
            reason,
            cause_type,
            cause_id,
            refundable,
            now,
            ctx.policies.get(order.policy_key),
        )
        uow.save([decision], now)
    if execute:
        run_after_commit(ctx, decision.after_commit)
    with ctx.reading() as uow:
        refund = uow.refunds.load_refund(decision.subject.id)
    assert refund is not None
    return refund
