"""Disputes auto-escalated per second, in a due storm (issue #10).

On SQLite and PostgreSQL, in-process and single-threaded like the other benchmarks: N shipped
orders each have an open dispute that the seller has answered (by rejecting the buyer's first
proposal, so the 5-day seller-answer timer of R7.3 is cancelled and cannot resolve them first);
the clock passes the 7 days of negotiation (R7.4) and the scheduler fires the storm
(`fire_due(limit=500)` until idle). Each firing locks the order and the dispute, moves the
dispute to `escalated` by the system, writes its event and notifies both parties. Afterwards
every dispute must have escalated exactly once (one `negotiation_ended` event per dispute, every
escalation deadline fired, no other deadline fired or armed and due) and the ledger must
reconcile; the run raises otherwise.

The orders, payments, shipments, disputes and answers are made before the clock starts (not
timed), through the `app/` use cases, one call each.
"""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import func, select, text

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
from orderguard.app import cart, disputes, payments, shipping
from orderguard.app.context import Context, Principal
from orderguard.domain.machine import Actor
from orderguard.domain.shipping import s10_check_digit
from orderguard.store import tables as t
from orderguard.store.db import reading
from orderguard.store.ledger_repo import check

NEGOTIATION_ENDS = START + timedelta(days=7, seconds=1)  # the default policy's negotiation_days


def _tracking_code(serial: int) -> str:
    """A valid UPU S10 code (the postal carrier's format), one per parcel."""
    digits = f"{serial:08d}"
    return f"RR{digits}{s10_check_digit(digits)}US"


def open_answered_disputes(ctx: Context, n: int) -> list[str]:
    """Not timed: `n` paid and shipped orders, each disputed in full by its buyer, the buyer's
    request rejected by the seller; then fresh planner statistics on PostgreSQL (see
    `place_unpaid_orders` in benchmarks/run.py). Returns the dispute ids."""
    offer_ids = make_offers(ctx, handling_days=30)
    with reading(ctx.engine) as conn:
        seller_of_store = dict(conn.execute(select(t.stores.c.id, t.stores.c.seller_id)).all())
    made: list[str] = []
    for buyer, stores_in_cart in make_buyers(ctx, n):
        for offer_id in offer_ids[:stores_in_cart]:
            cart.add_item(ctx, buyer, offer_id, 1, None)
        for order in cart.check_out(ctx, buyer, ADDRESS):
            seller = Principal(seller_of_store[order.store_id], Actor.SELLER)
            payments.pay(ctx, buyer, order.id, "card")
            shipping.ship(ctx, seller, order.id, "postal", _tracking_code(len(made) + 1), None)
            view = disputes.open_dispute(
                ctx, buyer, order.id, "not_as_described", None, "full_refund", None, None, "Not as shown."
            )
            [request] = view.proposals
            disputes.answer_proposal(ctx, seller, request.id, accept=False)
            made.append(view.dispute.id)
    if ctx.engine.dialect.name == "postgresql":
        with ctx.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    return made


def bench_escalations(url: str, backend: str, n: int) -> Result:
    """Fire the 7-day escalation of `n` answered disputes at once: escalations per second."""
    ctx, fixed = new_context(url)
    try:
        open_answered_disputes(ctx, n)
        fixed.set(NEGOTIATION_ENDS)
        cpu = time.process_time()
        started = time.perf_counter()
        rounds = fire_until_idle(ctx)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
        check_escalated_once(ctx, backend, n)
        return Result(backend, "disputes escalated", n, elapsed, cpu, {"rounds": rounds})
    finally:
        ctx.engine.dispose()


def check_escalated_once(ctx: Context, backend: str, n: int) -> None:
    """Each dispute escalated by the system exactly once, and nothing else happened to it."""
    e, d, ds = t.events.c, t.deadlines.c, t.disputes.c
    events = count(ctx, select(func.count()).where(e.kind == "negotiation_ended"))
    distinct = count(
        ctx, select(func.count(func.distinct(e.subject_id))).where(e.kind == "negotiation_ended")
    )
    escalated = count(ctx, select(func.count()).where(ds.state == "escalated", ds.escalated_by == "system"))
    fired = count(ctx, select(func.count()).where(d.kind == "escalation", d.state == "fired"))
    other_fired = count(ctx, select(func.count()).where(d.state == "fired", d.kind != "escalation"))
    still_due = count(ctx, select(func.count()).where(d.state == "armed", d.due_at <= NEGOTIATION_ENDS))
    notified = count(ctx, select(func.count()).where(t.notifications.c.kind == "dispute_escalated"))
    if not events == distinct == escalated == fired == n or other_fired or still_due or notified != 2 * n:
        raise AssertionError(
            f"{backend}: {events} negotiation_ended events on {distinct} disputes, {escalated} disputes"
            f" escalated by the system, {fired} escalation deadlines fired, {other_fired} other deadlines"
            f" fired, {still_due} still due, {notified} parties notified; expected {n} of each, none"
            f" other and {2 * n} notifications (each dispute escalated exactly once)"
        )
    with reading(ctx.engine) as conn:
        _, problems = check(conn)
    if problems:
        raise AssertionError(f"{backend}: ledger check failed: {problems[:3]}")
