"""Orders placed and paid on PostgreSQL by several buyers at once, as a served OrderGuard sees them.

`benchmarks.run.bench_orders` runs one buyer after another: each command waits for its own round
trips (6.5 an order, pay's two transactions on either side of the provider's call among them)
before the next begins, so its rate is bounded by the client's CPU plus those waits, whatever the
server could do meanwhile. A marketplace's buyers do not queue behind each other: here
`PROCESSES` processes (as `orderguard serve --workers 2`), each with `AT_ONCE` buyers in threads,
run the same journey (4 x add to cart, 1 checkout of 4 orders, 4 x pay; `run.py` says more) through
the same `app/` use cases, on one database, against the same 4 offers (whose stock rows every
checkout locks). While one buyer waits on the server another's Python runs, and the server
commits several transactions in one WAL flush when they arrive together (durability as
configured: `synchronous_commit` is not touched).

The bound is measured the same way in the same run: the ideal schema's journey in raw psycopg
(`ideal_schema_pg.py`), one connection per buyer thread, the same processes and threads.

Each process first runs one journey per thread untimed (compiling its statements and preparing
them on its connections, as a served process has long done before its thousandth order), then
waits for the others; the run is timed from their release until the last buyer is done
(CLOCK_MONOTONIC, comparable between processes). Every order must end paid.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
from collections.abc import Callable, Sequence
from functools import partial
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from typing import Any

import psycopg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from benchmarks import ideal_schema_pg as ideal
from benchmarks import run as bench
from orderguard.app import cart, payments
from orderguard.app.context import Context, Principal
from orderguard.store import tables as t

PROCESSES = 2
AT_ONCE = 2  # buyers in flight in each process
Timing = tuple[float, float, float]  # started, finished (perf_counter), CPU seconds of the process


def _journeys(journeys: Sequence[Callable[[], None]], at_once: int) -> None:
    """Run `journeys` in `at_once` threads, each taking every at_once-th one in order."""
    failures: list[BaseException] = []

    def take(share: Sequence[Callable[[], None]]) -> None:
        try:
            for journey in share:
                journey()
        except BaseException as e:  # reported by the caller: a thread's error must fail the run
            failures.append(e)

    threads = [threading.Thread(target=take, args=(journeys[i::at_once],)) for i in range(at_once)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


def _timed_when_released(
    journeys: Sequence[Callable[[], None]], ready: Event, go: Event, results: Queue[Timing]
) -> None:
    """Say this process is ready, wait for the release, then run `journeys` AT_ONCE at a time, timed."""
    ready.set()
    go.wait()
    cpu = time.process_time()
    started = time.perf_counter()  # CLOCK_MONOTONIC on Linux: comparable between processes
    _journeys(journeys, AT_ONCE)
    results.put((started, time.perf_counter(), time.process_time() - cpu))


def _orderguard_journey(ctx: Context, buyer: Principal, offer_ids: list[str]) -> Callable[[], None]:
    def journey() -> None:
        for offer_id in offer_ids:
            cart.add_item(ctx, buyer, offer_id, 1, None)
        for order in cart.check_out(ctx, buyer, bench.ADDRESS):
            payments.pay(ctx, buyer, order.id, "card")

    return journey


def _orderguard_process(
    url: str, offer_ids: list[str], orders: int, ready: Event, go: Event, results: Queue[Timing]
) -> None:
    ctx, _ = bench.new_context(url, migrate=False)
    try:
        warm = [
            _orderguard_journey(ctx, buyer, offer_ids) for buyer, _ in bench.make_buyers(ctx, AT_ONCE * 4)
        ]
        _journeys(warm, AT_ONCE)
        timed = [
            _orderguard_journey(ctx, buyer, offer_ids[:stores])
            for buyer, stores in bench.make_buyers(ctx, orders)
        ]
        _timed_when_released(timed, ready, go, results)
    finally:
        ctx.engine.dispose()


def _ideal_process(
    dsn: str, first_buyer: int, orders: int, ready: Event, go: Event, results: Queue[Timing]
) -> None:
    stores = list(range(1, bench.STORES_PER_CART + 1))
    connections = [psycopg.connect(dsn, autocommit=True) for _ in range(AT_ONCE)]
    try:
        # Warm-up buyers are negative; each thread keeps one connection (psycopg prepares on the 5th use).
        def on_own_connection(journeys: list[tuple[int, list[int]]]) -> list[Callable[[], None]]:
            return [
                partial(ideal._journey, connections[i % AT_ONCE], buyer, offers)
                for i, (buyer, offers) in enumerate(journeys)
            ]

        warm_buyers = [-(first_buyer + 1) * 1000 - i for i in range(AT_ONCE * 5)]
        _journeys(on_own_connection([(b, stores) for b in warm_buyers]), AT_ONCE)
        timed = [
            (first_buyer + start, stores[: min(bench.STORES_PER_CART, orders - start)])
            for start in range(0, orders, bench.STORES_PER_CART)
        ]
        _timed_when_released(on_own_connection(timed), ready, go, results)
    finally:
        for db in connections:
            db.close()


def _run_processes(
    target: Callable[..., None], args_of: Callable[[int, int], tuple[Any, ...]], orders: int
) -> Timing:
    """Start PROCESSES processes of `target(*args_of(index, their orders), ready, go, results)`,
    release them together once all are ready; (first start, last finish, CPU of all)."""
    spawn = multiprocessing.get_context("spawn")  # fresh interpreters: no engine inherited by fork
    go = spawn.Event()
    results: Queue[Timing] = spawn.Queue()
    shares = [orders // PROCESSES + (1 if i < orders % PROCESSES else 0) for i in range(PROCESSES)]
    readies = [spawn.Event() for _ in shares]
    processes = [
        spawn.Process(target=target, args=(*args_of(i, share), ready, go, results))
        for i, (share, ready) in enumerate(zip(shares, readies, strict=True))
    ]
    for process in processes:
        process.start()
    try:
        for ready, process in zip(readies, processes, strict=True):
            while not ready.wait(1):
                if not process.is_alive():
                    raise AssertionError(f"a benchmark process died before it was ready ({process.exitcode})")
        go.set()
        done: list[Timing] = []
        deadline = time.monotonic() + bench.WORKER_TIMEOUT
        while len(done) < len(processes):
            try:
                done.append(results.get(timeout=1))
            except queue.Empty:
                failed = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
                if failed or time.monotonic() > deadline:
                    raise AssertionError(f"benchmark processes failed ({failed}) or timed out") from None
    finally:
        for process in processes:
            process.join(timeout=bench.WORKER_TIMEOUT)
    return (
        min(started for started, _, _ in done),
        max(finished for _, finished, _ in done),
        sum(cpu for _, _, cpu in done),
    )


METRIC = f"orders, {PROCESSES}x{AT_ONCE} at once"
IDEAL_METRIC = f"ideal, {PROCESSES}x{AT_ONCE} at once"


def bench_orders_at_once(url: str, orders: int) -> bench.Result:
    """OrderGuard: `orders` orders placed and paid by PROCESSES x AT_ONCE buyers at a time."""
    ctx, _ = bench.new_context(url)
    try:
        offer_ids = bench.make_offers(ctx)
        started, finished, cpu = _run_processes(
            _orderguard_process, lambda _i, share: (url, offer_ids, share), orders
        )
        warm = PROCESSES * AT_ONCE * 4
        paid = bench.count(ctx, select(func.count()).where(t.orders.c.state == "awaiting_shipment"))
        captured = bench.count(ctx, select(func.count()).where(t.payments.c.state == "captured"))
        if paid != orders + warm or captured != orders + warm:
            raise AssertionError(
                f"{paid} orders paid and {captured} payments, not {orders} (+{warm} warm-up)"
            )
        return bench.Result("PostgreSQL", METRIC, orders, finished - started, cpu)
    finally:
        ctx.engine.dispose()


def bench_ideal_at_once(pg_url: str, orders: int) -> bench.Result:
    """The ideal schema's journey, by the same processes and threads."""
    with bench.postgres_url(pg_url, "ideal_at_once") as url:
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn, autocommit=True) as db:
            db.execute(ideal.SCHEMA)
            db.cursor().executemany(
                "INSERT INTO offers VALUES (%s, %s)",
                [(s, bench.STOCK) for s in range(1, bench.STORES_PER_CART + 1)],
            )
        started, finished, cpu = _run_processes(
            _ideal_process, lambda i, share: (dsn, i * (orders + bench.STORES_PER_CART), share), orders
        )
        with psycopg.connect(dsn, autocommit=True) as db:
            row = db.execute("SELECT count(*) FROM orders WHERE state = 'awaiting_shipment' AND buyer >= 0")
            paid = row.fetchone()[0]  # type: ignore[index]
    if paid != orders:
        raise AssertionError(f"ideal schema at once: {paid} orders paid, not {orders}")
    return bench.Result("PostgreSQL", IDEAL_METRIC, orders, finished - started, cpu)
