"""OrderGuard benchmarks (not tests): orders placed and paid per second, deadline firings per second.

Run with `make bench`, `uv run python -m benchmarks.run [--orders N] [--firings N] [--pg-url URL]`
(and `--approvals`, `--seller-approvals`, `--escalations`: benchmarks/cancellations.py,
benchmarks/disputes.py) or `orderguard bench`. Everything runs in-process, single-threaded,
through the `app/` use cases, on a fresh SQLite file (WAL, synchronous=NORMAL, as in
production) and on a fresh PostgreSQL database created for the run and dropped after it. On
PostgreSQL the lone worker keeps ALONE_CONNECTIONS batches in flight (threads, as `orderguard
worker --connections` does; the default of one has its own line), and the firings are also run by
two worker processes sharing one database, as production workers do. See benchmarks/README.md.

How carts map to orders: every buyer's cart holds one item from each of 4 stores, so one
checkout places 4 orders (one per store, R3.2); each order is then paid by its own `pay`
call (card, captured at once), one transaction each. The timed journey per buyer is
4 x add_item + 1 x check_out + 4 x pay = 9 transactions for 4 orders.

On PostgreSQL the orders line also gives the round trips to the server per command, counted on
a few journeys of their own after the timed ones (benchmarks/round_trips.py), and the same
journey on an idealised schema in raw psycopg (benchmarks/ideal_schema_pg.py) is timed as a
bound, with OrderGuard's ratio to it. Both are also timed with several buyers at once, in two
processes, as a served OrderGuard meets them (benchmarks/orders_at_once.py).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import queue
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from benchmarks.cpu import cpus_allow, postgres_cpu_seconds
from orderguard.app import accounts, cart, catalogue, deadlines, payments
from orderguard.app.catalogue import OptionInput
from orderguard.app.context import Context, Principal
from orderguard.bootstrap import build_context
from orderguard.domain.orders import Address
from orderguard.observability.progress import progress
from orderguard.providers.clock import FixedClock
from orderguard.scheduler.worker import WorkerStats, prepare
from orderguard.scheduler.worker import run as run_worker
from orderguard.settings import Settings
from orderguard.store import tables as t
from orderguard.store.db import reading

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
STORES_PER_CART = 4  # one checkout places this many orders
STOCK = 2_000_000_000  # plenty: stock never runs out during a run
FIRE_LIMIT = 500
FIRING_WORKERS = 2  # worker processes of the concurrent firing benchmark (PostgreSQL only)
# Batches in flight in a worker process that runs alone on PostgreSQL, as README.md advises for one
# worker on 2 cores (`orderguard worker --connections 2`); each of FIRING_WORKERS keeps one, the
# default. The peers' procrastinate is likewise given its best concurrency (../shared/peers).
ALONE_CONNECTIONS = 2
WORKER_TIMEOUT = 600  # seconds: a worker that died fails the run instead of hanging it
T = TypeVar("T")
ADDRESS = Address("Bench Buyer", "1 Bench Street", "Testville", "10001", "US")


@dataclass
class Result:
    backend: str
    metric: str
    count: int
    seconds: float
    cpu_seconds: float  # CPU time of this process (the benchmark and OrderGuard; not the PostgreSQL server)
    detail: dict[str, float] = field(default_factory=dict)
    round_trips: dict[str, float] = field(default_factory=dict)  # PostgreSQL: per command, counted apart

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else float("inf")


# --- databases -----------------------------------------------------------------------------------


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="og_bench_") as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.db'}"


@contextmanager
def postgres_url(server_url: str, suffix: str, *, template: str | None = None) -> Iterator[str]:
    """A database of its own on `server_url`, dropped afterwards; with `template`, a file copy of
    that database (fast for a large one)."""
    name = f"og_bench_{os.getpid()}_{suffix}"
    copy = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def libpq_dsn(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as libpq (raw psycopg) takes it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def new_context(url: str, *, migrate: bool = True) -> tuple[Context, FixedClock]:
    clock = FixedClock(START)
    return build_context(Settings(database_url=url, sandbox=False), clock=clock, migrate=migrate), clock


# --- marketplace (not timed) -----------------------------------------------------------------------


def principal(ctx: Context, role: str, name: str) -> Principal:
    return Principal(accounts.create_account(ctx, role, name).id, accounts.ROLES[role])


def make_offers(ctx: Context, handling_days: int = 2) -> list[str]:
    """One offer of one product in each of STORES_PER_CART stores, each store its own seller."""
    offer_ids = []
    for i in range(STORES_PER_CART):
        seller = principal(ctx, "seller", f"Bench seller {i}")
        store_id = catalogue.create_store(ctx, seller, f"Bench store {i}")["id"]
        product_id = catalogue.create_product(ctx, seller, f"Bench product {i}", "benchmark")["id"]
        options = [OptionInput("postal", 100 + i, 15), OptionInput("cainiao", 250 + i, 9)]
        offer = catalogue.create_offer(
            ctx, seller, store_id, product_id, 999 + i, "USD", STOCK, handling_days, options
        )
        offer_ids.append(offer.id)
    return offer_ids


def make_buyers(ctx: Context, orders: int) -> list[tuple[Principal, int]]:
    """(buyer, how many stores in their cart): ceil(orders / 4) buyers, orders in total."""
    buyers = []
    for start in range(0, orders, STORES_PER_CART):
        buyers.append((principal(ctx, "buyer", f"Bench buyer {start}"), min(STORES_PER_CART, orders - start)))
    return buyers


def count(ctx: Context, query: object) -> int:
    with reading(ctx.engine) as conn:
        return int(conn.execute(query).scalar_one())  # type: ignore[call-overload]


# --- the two benchmarks ------------------------------------------------------------------------------


def bench_orders(url: str, backend: str, orders: int) -> Result:
    """Place and pay `orders` orders: add to cart, check out (4 orders), pay each order."""
    ctx, _ = new_context(url)
    try:
        offer_ids = make_offers(ctx)
        buyers = make_buyers(ctx, orders)
        spent = {"add_item": 0.0, "check_out": 0.0, "pay": 0.0}
        clock = time.perf_counter
        cpu = time.process_time()
        started = clock()
        for buyer, stores in buyers:
            t0 = clock()
            for offer_id in offer_ids[:stores]:
                cart.add_item(ctx, buyer, offer_id, 1, None)
            t1 = clock()
            placed = cart.check_out(ctx, buyer, ADDRESS)
            t2 = clock()
            for order in placed:
                payments.pay(ctx, buyer, order.id, "card")
            t3 = clock()
            spent["add_item"] += t1 - t0
            spent["check_out"] += t2 - t1
            spent["pay"] += t3 - t2
        elapsed = clock() - started
        cpu = time.process_time() - cpu
        check_paid(ctx, backend, orders)
        trips = count_round_trips(ctx, offer_ids) if ctx.engine.dialect.name == "postgresql" else {}
        return Result(backend, "orders placed+paid", orders, elapsed, cpu, spent, trips)
    finally:
        ctx.engine.dispose()


def check_paid(ctx: Context, backend: str, orders: int) -> None:
    """Exactly `orders` orders are awaiting shipment, each paid by one captured payment."""
    paid = count(ctx, select(func.count()).where(t.orders.c.state == "awaiting_shipment"))
    captured = count(ctx, select(func.count()).where(t.payments.c.state == "captured"))
    if paid != orders or captured != orders:
        raise AssertionError(f"{backend}: {paid} orders paid and {captured} payments, not {orders}")


COUNTED_BUYERS = 5  # journeys whose round trips are counted, after the timed ones and apart from them


def count_round_trips(ctx: Context, offer_ids: list[str]) -> dict[str, float]:
    """Round trips to PostgreSQL per command (and per order), on journeys of their own, not timed."""
    from benchmarks.round_trips import counting  # psycopg: PostgreSQL runs only

    made: dict[str, list[int]] = {"add_item": [], "check_out": [], "pay": []}
    with counting() as trips:
        for buyer, _ in make_buyers(ctx, COUNTED_BUYERS * STORES_PER_CART):
            for offer_id in offer_ids:
                trips.count = 0
                cart.add_item(ctx, buyer, offer_id, 1, None)
                made["add_item"].append(trips.count)
            trips.count = 0
            placed = cart.check_out(ctx, buyer, ADDRESS)
            made["check_out"].append(trips.count)
            for order in placed:
                trips.count = 0
                payments.pay(ctx, buyer, order.id, "card")
                made["pay"].append(trips.count)
    orders = len(made["pay"])
    per_command = {name: sum(counts) / len(counts) for name, counts in made.items()}
    per_command["per order"] = sum(sum(counts) for counts in made.values()) / orders
    return per_command


FIRING_AT = START + timedelta(days=21)  # pay-by is last cart addition + 20 days


def place_unpaid_orders(ctx: Context, orders: int) -> None:
    """Not timed: `orders` unpaid orders, then fresh planner statistics on PostgreSQL.

    New tables have none until autovacuum gets to them, and without them a prepared statement's
    generic plan can look deadlines up by id through the partial index of armed ones (ten times
    slower): the figure would depend on whether autovacuum happened to run during the setup.
    """
    offer_ids = make_offers(ctx)
    for buyer, stores in make_buyers(ctx, orders):
        for offer_id in offer_ids[:stores]:
            cart.add_item(ctx, buyer, offer_id, 1, None)
        cart.check_out(ctx, buyer, ADDRESS)
    if ctx.engine.dialect.name == "postgresql":
        with ctx.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))


def fire_until_idle(ctx: Context) -> int:
    """fire_due until a call claims nothing; returns the number of calls."""
    rounds = 0
    while True:
        rounds += 1
        if deadlines.fire_due(ctx, limit=FIRE_LIMIT).claimed == 0:
            return rounds


def drain_like_a_worker(ctx: Context, connections: int = 1) -> int:
    """What one `orderguard worker --until-idle` process does (scheduler.worker.run, batches of
    FIRE_LIMIT, `connections` batches in flight); returns the number of fire_due calls."""
    stats = WorkerStats()
    run_worker(ctx, batch=FIRE_LIMIT, until_idle=True, stats=stats, connections=connections)
    if stats.failed_rounds:
        raise AssertionError(f"{stats.failed_rounds} rounds failed")
    return stats.batches + connections  # each connection ends on a round that finds nothing due


def bench_firings(url: str, backend: str, firings: int, connections: int | None = None) -> Result:
    """Fire `firings` due pay-by deadlines (unpaid orders expire) as one worker process does, with
    `connections` batches in flight: by default ALONE_CONNECTIONS on PostgreSQL, one on SQLite."""
    if connections is None:
        connections = ALONE_CONNECTIONS if backend == "PostgreSQL" else 1
    ctx, fixed = new_context(url)
    try:
        place_unpaid_orders(ctx, firings)
        fixed.set(FIRING_AT)
        prepare()  # as a worker process does once, before its first round (the peers connect untimed too)
        cpu = time.process_time()
        started = time.perf_counter()
        rounds = drain_like_a_worker(ctx, connections)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
        check_fired_once(ctx, backend, firings)
        metric = "deadline firings" if connections == 1 else f"firings, {connections} connections"
        return Result(backend, metric, firings, elapsed, cpu, {"rounds": rounds, "connections": connections})
    finally:
        ctx.engine.dispose()


def _firing_worker(url: str, ready: Event, gate: Gate, results: Queue[Timed]) -> None:
    """One worker process; puts (started, finished, CPU seconds, fire_due calls) on `results`."""
    ctx, fixed = new_context(url, migrate=False)
    try:
        fixed.set(FIRING_AT)
        with ctx.engine.connect():  # the pool's first connection is not part of the timing
            pass
        prepare()  # nor what the process does once before its first round
        timed_when_released(lambda: drain_like_a_worker(ctx), ready, gate, results)
    finally:
        ctx.engine.dispose()


# (started, finished, CPU seconds, and what the timed work returned) of one process; perf_counter
# is CLOCK_MONOTONIC on Linux, comparable between processes.
Timed = tuple[float, float, float, Any]


@dataclass(frozen=True)
class Gate:
    """`released_together`'s two signals to its processes: `go`, the release; `measured`, its
    measures taken. A process keeps its connections until then, so that the PostgreSQL processes
    serving them are still there to be read."""

    go: Event
    measured: Event


def timed_when_released(work: Callable[[], T], ready: Event, gate: Gate, results: Queue[Timed]) -> T:
    """In a process of `released_together`: say it is ready, wait for the release, then do `work`,
    timed; its times and answer go on `results`. Returns once the measures are taken."""
    ready.set()
    gate.go.wait()
    cpu = time.process_time()
    started = time.perf_counter()
    answer = work()
    results.put((started, time.perf_counter(), time.process_time() - cpu, answer))
    gate.measured.wait(WORKER_TIMEOUT)
    return answer


@dataclass(frozen=True)
class Released:
    """What `released_together` measured: seconds from the first start to the last finish, the
    processes' CPU seconds together, what each one's work returned, and the CPU seconds of every
    PostgreSQL process of the machine from the release until the last result came in."""

    seconds: float
    cpu_seconds: float
    answers: list[Any]
    database_cpu_seconds: float


def released_together(target: Callable[..., None], arguments: list[tuple[Any, ...]]) -> Released:
    """A spawned process of `target(*args, ready, gate, results)` for each of `arguments`, released
    together once all are ready (each calls `timed_when_released`). A process that dies fails the
    run within a second, instead of at WORKER_TIMEOUT."""
    spawn = multiprocessing.get_context("spawn")  # fresh interpreters: no engine inherited by fork
    gate = Gate(spawn.Event(), spawn.Event())
    results: Queue[Timed] = spawn.Queue()
    readies = [spawn.Event() for _ in arguments]
    processes = [
        spawn.Process(target=target, args=(*args, ready, gate, results))
        for args, ready in zip(arguments, readies, strict=True)
    ]
    for process in processes:
        process.start()
    try:
        for ready, process in zip(readies, processes, strict=True):
            while not ready.wait(1):
                if not process.is_alive():
                    raise AssertionError(f"a benchmark process died before it was ready ({process.exitcode})")
        database = postgres_cpu_seconds()
        gate.go.set()
        done: list[Timed] = []
        deadline = time.monotonic() + WORKER_TIMEOUT
        while len(done) < len(processes):
            try:
                done.append(results.get(timeout=1))
            except queue.Empty:
                failed = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
                if failed or time.monotonic() > deadline:
                    raise AssertionError(f"benchmark processes failed ({failed}) or timed out") from None
        database = postgres_cpu_seconds() - database
    finally:
        gate.measured.set()
        for process in processes:
            process.join(timeout=WORKER_TIMEOUT)
    elapsed = max(finished for _, finished, _, _ in done) - min(started for started, _, _, _ in done)
    return Released(elapsed, sum(cpu for _, _, cpu, _ in done), [answer for *_, answer in done], database)


def bench_firings_concurrent(url: str, backend: str, firings: int) -> Result:
    """As bench_firings, by FIRING_WORKERS processes sharing the deadline table (SKIP LOCKED).

    Timed from the moment all workers are released until the last one finds nothing due.
    """
    ctx, _ = new_context(url)
    try:
        place_unpaid_orders(ctx, firings)
        released = released_together(_firing_worker, [(url,)] * FIRING_WORKERS)
        elapsed, cpu, rounds = released.seconds, released.cpu_seconds, released.answers
        check_fired_once(ctx, backend, firings)
        return Result(
            backend, f"firings, {FIRING_WORKERS} workers", firings, elapsed, cpu, {"rounds": sum(rounds)}
        )
    finally:
        ctx.engine.dispose()


def check_fired_once(ctx: Context, backend: str, firings: int) -> None:
    """Every firing did all of its work once: N pay_by_passed events on N distinct orders, N orders
    cancelled, N pay-by deadlines fired, N buyers notified, no goods left in carts, stock restored."""
    e = t.events.c
    events = count(ctx, select(func.count()).where(e.kind == "pay_by_passed"))
    orders_fired = count(ctx, select(func.count(func.distinct(e.order_id))).where(e.kind == "pay_by_passed"))
    cancelled = count(ctx, select(func.count()).where(t.orders.c.state == "cancelled"))
    d = t.deadlines.c
    fired_rows = count(ctx, select(func.count()).where(d.kind == "pay_by", d.state == "fired"))
    notified = count(ctx, select(func.count()).where(t.notifications.c.kind == "order_expired"))
    if not events == orders_fired == cancelled == fired_rows == notified == firings:
        raise AssertionError(
            f"{backend}: {events} pay_by_passed events on {orders_fired} orders, {cancelled} cancelled,"
            f" {fired_rows} deadlines fired, {notified} buyers notified; expected {firings} of each"
            " (each fired exactly once)"
        )
    in_carts = count(ctx, select(func.count()).select_from(t.cart_items))
    short = count(ctx, select(func.count()).where(t.offers.c.stock != STOCK))
    if in_carts or short:
        raise AssertionError(f"{backend}: {in_carts} cart items left, {short} offers not restocked")


# --- output ------------------------------------------------------------------------------------------------


def cpu_an_order(r: Result) -> str:
    """The CPU an order took, the benchmark's processes and PostgreSQL's together, and the rate this
    machine's CPUs allow at it (`benchmarks/cpu.py`): no number of buyers at once gets past it."""
    client = r.cpu_seconds / r.count
    database = r.detail.get("database_cpu", 0.0) / r.count
    allowed = cpus_allow(client + database)
    return (
        f"CPU an order: client {1000 * client:.2f} + PostgreSQL {1000 * database:.2f} ms,"
        f" so {os.cpu_count()} CPUs allow {allowed:,.0f}/s"
    )


def print_table(results: list[Result]) -> None:
    from benchmarks import orders_at_once as at_once  # it imports this module

    head = (
        f"{'backend':<11} {'benchmark':<22} {'count':>7} {'seconds':>8} {'per second':>11}"
        f" {'CPU s':>6} {'per CPU s':>10}  notes"
    )
    print()
    print(head)
    print("-" * len(head) + "-" * 40)
    for r in results:
        if r.metric == "orders, SQL alone":
            notes = (
                f"per order: {r.detail['statements']:.1f} statements, {r.detail['commits']:.2f} commits;"
                f" with synchronous=OFF {r.detail['sync_off_per_second']:,.0f}/s"
            )
        elif r.metric == "orders, ideal schema" and r.backend == "SQLite":
            notes = "raw sqlite3 on a minimal schema: a bound for any design"
        elif r.metric == "orders, ideal schema":
            notes = (
                f"raw psycopg, same minimal schema, {r.round_trips['per command']:.1f} round trip a"
                " command: a bound for any design"
            )
            placed = next(
                (o for o in results if o.backend == r.backend and o.metric == "orders placed+paid"), None
            )
            if placed:
                notes += f"; OrderGuard at {placed.per_second / r.per_second:.0%} of it"
        elif r.metric == at_once.METRIC:
            notes = (
                f"{at_once.PROCESSES} processes x {at_once.AT_ONCE} buyers at a time, the same journey"
                f" (benchmarks/orders_at_once.py); {cpu_an_order(r)}"
            )
        elif r.metric == at_once.IDEAL_METRIC:
            notes = "the ideal schema in raw psycopg, the same processes and buyers"
            placed = next((o for o in results if o.metric == at_once.METRIC), None)
            if placed:
                notes += f"; OrderGuard at {placed.per_second / r.per_second:.0%} of it"
            notes += f"; {cpu_an_order(r)}"
        elif r.metric.startswith("orders"):
            notes = "  ".join(f"{k} {v:.2f}s" for k, v in r.detail.items())
            if r.round_trips:
                notes += "; round trips: " + ", ".join(f"{k} {v:.1f}" for k, v in r.round_trips.items())
        elif "rounds" in r.detail:
            notes = f"{int(r.detail['rounds'])} fire_due calls of up to {FIRE_LIMIT}"
            if "firings" in r.metric:
                notes += " (as scheduler.worker.run drains)"
            if (connections := int(r.detail.get("connections", 1))) > 1:
                notes += f"; {connections} batches in flight (orderguard worker --connections {connections})"
        else:
            notes = "approve + refund sent to the provider after commit: 3 transactions each"
        per_cpu = r.count / r.cpu_seconds if r.cpu_seconds else float("inf")
        print(
            f"{r.backend:<11} {r.metric:<22} {r.count:>7} {r.seconds:>8.2f} {r.per_second:>11,.0f}"
            f" {r.cpu_seconds:>6.2f} {per_cpu:>10,.0f}  {notes}"
        )
    print(
        "seconds: wall clock; CPU s: CPU time of the benchmark process, or of the worker processes"
        " together (the PostgreSQL server is not in it)"
    )
    print()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def main(
    orders: int = 5000,
    firings: int = 20000,
    pg_url: str = DEFAULT_PG_URL,
    approvals: int = 10000,
    seller_approvals: int = 2000,
    escalations: int = 10000,
) -> list[Result]:
    print(
        f"OrderGuard benchmarks: {orders} orders placed+paid ({STORES_PER_CART} orders per checkout,"
        f" one pay call each), {firings} pay-by deadlines fired"
    )
    print(
        f"machine: {os.cpu_count()} CPUs, {cpu_model()}; single-threaded, in-process (and on PostgreSQL,"
        f" firings by {FIRING_WORKERS} worker processes, orders also by buyers at once)"
    )
    runs: list[tuple[str, Callable[[str, str, int], Result], int]] = [
        ("orders", bench_orders, orders),
        ("firings", bench_firings, firings),
    ]
    results: list[Result] = []
    # Progress on stderr (a terminal only; see orderguard/observability/progress.py): which run is
    # going and since when. Its refresh thread wakes 4 times a second; with stderr not a terminal, no bar.
    steps = 2 * len(runs) + 4 + (4 if approvals else 0) + (2 if escalations else 0)
    with progress("benchmarks", total=steps) as advance:
        for suffix, bench, n in runs:
            advance(0, description=f"SQLite: {suffix} ({n})")
            with sqlite_url() as url:
                results.append(bench(url, "SQLite", n))
                print(f"  done: {results[-1].backend} {results[-1].metric}", flush=True)
            advance(1, description=f"PostgreSQL: {suffix} ({n})")
            with postgres_url(pg_url, suffix) as url:
                results.append(bench(url, "PostgreSQL", n))
                print(f"  done: {results[-1].backend} {results[-1].metric}", flush=True)
            advance(1)
        from benchmarks.ideal_schema import bench_ideal_schema  # these import this module
        from benchmarks.ideal_schema_pg import bench_ideal_schema_pg
        from benchmarks.orders_at_once import bench_ideal_at_once, bench_orders_at_once
        from benchmarks.sql_floor import bench_orders_sql_floor

        advance(0, description=f"SQLite: orders, SQL alone and ideal schema ({orders})")
        results[2:2] = [bench_orders_sql_floor(orders), bench_ideal_schema(orders)]
        print("  done: SQLite orders, SQL alone and ideal schema", flush=True)
        advance(0, description=f"PostgreSQL: orders, ideal schema ({orders})")
        results[4:4] = [bench_ideal_schema_pg(pg_url, orders)]
        print("  done: PostgreSQL orders, ideal schema", flush=True)
        advance(1, description=f"PostgreSQL: orders by buyers at once, and the ideal schema so ({orders})")
        with postgres_url(pg_url, "orders_at_once") as url:
            results[5:5] = [bench_orders_at_once(url, orders), bench_ideal_at_once(pg_url, orders)]
        print("  done: PostgreSQL orders by buyers at once, and the ideal schema so", flush=True)
        advance(1, description=f"PostgreSQL: firings by {FIRING_WORKERS} workers ({firings})")
        with postgres_url(pg_url, "firings_workers") as url:
            results.append(bench_firings_concurrent(url, "PostgreSQL", firings))
            print(f"  done: {results[-1].backend} {results[-1].metric}", flush=True)
        advance(1, description=f"PostgreSQL: firings by one worker on one connection ({firings})")
        with postgres_url(pg_url, "firings_one_connection") as url:
            results.append(bench_firings(url, "PostgreSQL", firings, connections=1))
            print(f"  done: {results[-1].backend} {results[-1].metric} (one connection)", flush=True)
        advance(1)
        if approvals:
            from benchmarks.cancellations import bench_seller_approvals, bench_silent_approvals

            for suffix, bench, n in (
                ("approvals", bench_seller_approvals, seller_approvals),
                ("silence", bench_silent_approvals, approvals),
            ):
                advance(0, description=f"SQLite: {suffix} ({n})")
                with sqlite_url() as url:
                    results.append(bench(url, "SQLite", n))
                advance(1, description=f"PostgreSQL: {suffix} ({n})")
                with postgres_url(pg_url, suffix) as url:
                    results.append(bench(url, "PostgreSQL", n))
                advance(1)
                done = ", ".join(f"{r.backend} {r.per_second:,.0f}/s" for r in results[-2:])
                print(f"  done: {results[-1].metric} ({done})", flush=True)
        if escalations:
            from benchmarks.disputes import bench_escalations

            advance(0, description=f"SQLite: escalations ({escalations})")
            with sqlite_url() as url:
                results.append(bench_escalations(url, "SQLite", escalations))
                print(f"  done: SQLite {results[-1].metric}", flush=True)
            advance(1, description=f"PostgreSQL: escalations ({escalations})")
            with postgres_url(pg_url, "escalations") as url:
                results.append(bench_escalations(url, "PostgreSQL", escalations))
                print(f"  done: PostgreSQL {results[-1].metric}", flush=True)
            advance(1)
            done = ", ".join(f"{r.backend} {r.per_second:,.0f}/s" for r in results[-2:])
            print(f"  done: {results[-1].metric} ({done})", flush=True)
    print_table(results)
    return results


def _cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=5000, help="orders to place and pay")
    parser.add_argument("--firings", type=int, default=20000, help="due deadlines to fire")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="PostgreSQL server for the PostgreSQL run")
    parser.add_argument(
        "--approvals", type=int, default=10000, help="requests approved by silence, a due storm (0: skip)"
    )
    parser.add_argument("--seller-approvals", type=int, default=2000, help="requests approved by sellers")
    parser.add_argument(
        "--escalations",
        type=int,
        default=10000,
        help="disputes escalated after their 7 days, a due storm (0: skip)",
    )
    args = parser.parse_args()
    main(args.orders, args.firings, args.pg_url, args.approvals, args.seller_approvals, args.escalations)


if __name__ == "__main__":
    _cli()
