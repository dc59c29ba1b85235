"""Cancellation approvals per second, with their refunds executed (issue #9).

Two figures, on SQLite and PostgreSQL, in-process and single-threaded like the other benchmarks:

- **approved by the seller**: `cancellations.approve` on N open requests, one call each. Each call
  cancels the order, grants the refund in its transaction and, after the commit, sends the refund to
  the sandbox provider and records its answer in a second transaction (3 transactions per approval).
- **approved by silence**: the clock passes the 72 hours of N open requests and the scheduler fires
  them (`fire_due(limit=500)` until idle): the due storm of silent sellers. Each firing approves,
  cancels, refunds and fines (half the reasons are the seller's fault); the refunds are sent to the
  provider after each batch commits. Then every request is checked to have been approved exactly
  once, with one refund and (for a seller-fault reason) one fine, and the ledger to reconcile.

The orders, payments and requests are made before the clock starts (not timed).
"""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import func, select

from benchmarks.run import (
    ADDRESS,
    START,
    Result,
    count,
    fire_until_idle,
    make_buyers,
    make_offers,
    new_context,
)
from orderguard.app import cancellations, cart, payments
from orderguard.app.context import Context, Principal
from orderguard.domain.machine import Actor
from orderguard.store import tables as t
from orderguard.store.db import reading
from orderguard.store.ledger_repo import check

REASONS = ("no_longer_needed", "out_of_stock")  # alternately buyer's and seller's fault
SILENCE_ENDS = START + timedelta(hours=72, seconds=1)


def open_requests(ctx: Context, n: int) -> list[tuple[str, str]]:
    """Not timed: `n` paid orders, each with an open request for all of it; (request id, seller id)."""
    offer_ids = make_offers(ctx, handling_days=30)  # the ship-by time stays out of the 72 hours
    with reading(ctx.engine) as conn:
        seller_of_store = dict(conn.execute(select(t.stores.c.id, t.stores.c.seller_id)).all())
    made: list[tuple[str, str]] = []
    for buyer, stores_in_cart in make_buyers(ctx, n):
        for offer_id in offer_ids[:stores_in_cart]:
            cart.add_item(ctx, buyer, offer_id, 1, None)
        for order in cart.check_out(ctx, buyer, ADDRESS):
            payments.pay(ctx, buyer, order.id, "card")
            reason = REASONS[len(made) % 2]
            view = cancellations.request_cancellation(ctx, buyer, order.id, reason, None, "")
            made.append((view.request.id, seller_of_store[order.store_id]))
    return made


def bench_seller_approvals(url: str, backend: str, n: int) -> Result:
    ctx, _ = new_context(url)
    try:
        made = open_requests(ctx, n)
        cpu = time.process_time()
        started = time.perf_counter()
        for request_id, seller_id in made:
            cancellations.approve(ctx, Principal(seller_id, Actor.SELLER), request_id)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
        check_approved_once(ctx, backend, n, "approved")
        return Result(backend, "approvals by seller", n, elapsed, cpu)
    finally:
        ctx.engine.dispose()


def bench_silent_approvals(url: str, backend: str, n: int) -> Result:
    ctx, fixed = new_context(url)
    try:
        open_requests(ctx, n)
        fixed.set(SILENCE_ENDS)
        cpu = time.process_time()
        started = time.perf_counter()
        rounds = fire_until_idle(ctx)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
        check_approved_once(ctx, backend, n, "auto_approved")
        return Result(backend, "approvals by silence", n, elapsed, cpu, {"rounds": rounds})
    finally:
        ctx.engine.dispose()


def check_approved_once(ctx: Context, backend: str, n: int, event: str) -> None:
    """Each request approved once, with one refund sent to the provider and one fine per seller fault."""
    e = t.events.c
    approvals = count(ctx, select(func.count()).where(e.kind == event))
    distinct = count(ctx, select(func.count(func.distinct(e.subject_id))).where(e.kind == event))
    cancelled = count(ctx, select(func.count()).where(t.orders.c.state == "cancelled"))
    refunds = count(ctx, select(func.count()).where(t.refunds.c.state == "processing"))
    fines = count(ctx, select(func.count()).select_from(t.fines))
    if not approvals == distinct == cancelled == refunds == n or fines != n // 2:
        raise AssertionError(
            f"{backend}: {approvals} {event} events on {distinct} requests, {cancelled} orders cancelled,"
            f" {refunds} refunds accepted by the provider, {fines} fines; expected {n} of each and"
            f" {n // 2} fines"
        )
    with reading(ctx.engine) as conn:
        _, problems = check(conn)
    if problems:
        raise AssertionError(f"{backend}: ledger check failed: {problems[:3]}")
