"""Paying an order (R3.5): recorded first, the provider called after commit, its answer recorded.

`pay` writes the payment `initiated` and the order `payment_pending` in one transaction, then
calls the provider outside any transaction with the payment id as the idempotency key, then
records the answer in a second transaction (`execute`). If the process dies in between, or the
provider does not answer, the payment's `provider_retry` deadline runs `execute` again later;
whichever of them records first wins, and the other finds the payment already answered.

The answer is decided from the payment and order as the caller last saw them (as `pay` wrote them,
or as `execute` read them) and written only if neither changed meanwhile (`expect_unchanged`): on
PostgreSQL that transaction is one round trip, not two. When one did change (a retry and the
request raced), the rows are read again, locked, and the answer decided from them.
"""

from __future__ import annotations

from orderguard.app.access import not_found, require_role, visible_order
from orderguard.app.context import Context, Principal
from orderguard.app.ports import Stale, UnitOfWork
from orderguard.domain import payments
from orderguard.domain.machine import Actor, Refusal, Refused
from orderguard.domain.orders import Order
from orderguard.domain.payments import Payment, PaymentState, ProviderAnswer
from orderguard.domain.policy import Policy
from orderguard.ids import new_id
from orderguard.providers.payments import PaymentDeclined, ProviderUnavailable


def pay(ctx: Context, buyer: Principal, order_id: str, method: str) -> Payment:
    require_role(buyer, Actor.BUYER)
    now = ctx.clock.now()
    with ctx.uow() as uow:
        order, _ = visible_order(uow, buyer, uow.orders.load_order(order_id, lock=True), order_id)
        policy = ctx.policies.get(order.policy_key)
        decision = payments.initiate(new_id("pay"), order, buyer.id, method, now, policy)
        uow.save([decision], now)
    pending = next(d.subject for d in decision.also if isinstance(d.subject, Order))
    payment = _ask_provider(ctx, decision.subject, pending, policy)
    if payment.state == PaymentState.FAILED:
        raise Refused(Refusal("payment_declined", payment.failure_reason or "declined", 402))
    return payment


def execute(ctx: Context, payment_id: str) -> Payment:
    """Ask the provider about an initiated payment, outside any transaction, and record its answer.

    Idempotent: the provider is keyed by the payment id, and a payment already answered is left
    as it is. When the provider cannot be reached the payment stays initiated and its retry
    deadline will ask again.
    """
    with ctx.reading() as uow:
        payment = uow.payments.load_payment(payment_id)
        order = uow.orders.load_order(payment.order_id) if payment else None
    if payment is None or order is None:
        raise not_found("payment", payment_id)
    if payment.state != PaymentState.INITIATED:
        return payment
    return _ask_provider(ctx, payment, order, ctx.policies.get(order.policy_key))


def _ask_provider(ctx: Context, payment: Payment, order: Order, policy: Policy) -> Payment:
    try:
        if payments.captured_at_once(payment.method, policy):
            ref = ctx.payments.capture(payment.method, payment.amount, payment.currency, payment.id)
        else:
            ref = ctx.payments.start_transfer(payment.amount, payment.currency, payment.id)
        answer = ProviderAnswer(ref)
    except PaymentDeclined as e:
        answer = ProviderAnswer(None, declined=e.reason)
    except ProviderUnavailable as e:
        raise Refused(
            Refusal(
                "payment_provider_unavailable",
                f"the payment is recorded and will be completed when the provider answers ({e})",
                503,
            )
        ) from e
    return _record(ctx, payment, order, answer, policy)


def _record(ctx: Context, asked: Payment, order: Order, answer: ProviderAnswer, policy: Policy) -> Payment:
    """Record the provider's answer about `asked` (initiated) of `order`, unless another attempt
    recorded one first."""
    now = ctx.clock.now()
    try:
        with ctx.uow() as uow:
            uow.expect_unchanged([order, asked])  # orders before payments, as every unit locks them
            decision = payments.answered(asked, order, answer, now, policy)
            uow.save([decision], now)
        return decision.subject
    except Stale:
        pass  # decided again below, from the rows as they now are
    with ctx.uow() as uow:
        locked, payment = uow.payments.lock_with_order(asked.id, asked.order_id)
        assert locked is not None and payment is not None
        if payment.state != PaymentState.INITIATED:
            return payment  # answered meanwhile (the retry deadline and the request raced)
        decision = payments.answered(payment, locked, answer, now, ctx.policies.get(locked.policy_key))
        uow.save([decision], now)
        return decision.subject


def report_transfer(ctx: Context, payment_id: str, credited: bool, reason: str | None = None) -> Payment:
    """The provider says a pending transfer was credited, or that it failed."""
    now = ctx.clock.now()
    with ctx.uow() as uow:
        order = uow.orders.load_order(_order_of(uow, payment_id), lock=True)
        payment = uow.payments.load_payment(payment_id, lock=True)
        assert order is not None and payment is not None
        decision = payments.settle(
            payment,
            order,
            credited,
            reason or "the bank rejected the transfer",
            now,
            ctx.policies.get(order.policy_key),
        )
        uow.save([decision], now)
        return decision.subject


def _order_of(uow: UnitOfWork, payment_id: str) -> str:
    payment = uow.payments.load_payment(payment_id)
    if payment is None:
        raise not_found("payment", payment_id)
    return payment.order_id
