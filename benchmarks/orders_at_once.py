"""Orders placed and paid on PostgreSQL by several buyers at once, as a served OrderGuard sees them.

`benchmarks.run.bench_orders` runs one buyer after another: each command waits for its own round
trips (5.5 an order, pay's two transactions on either side of the provider's call among them)
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

import threading
from collections.abc import Callable, Sequence
from functools import partial
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event

import psycopg

from benchmarks import ideal_schema_pg as ideal
from benchmarks import run as bench
from orderguard.app import cart, payments
from orderguard.app.context import Context, Principal

PROCESSES = 2
AT_ONCE = 2  # buyers in flight in each process


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


def _orderguard_journey(ctx: Context, buyer: Principal, offer_ids: list[str]) -> Callable[[], None]:
    def journey() -> None:
        for offer_id in offer_ids:
            cart.add_item(ctx, buyer, offer_id, 1, None)
        for order in cart.check_out(ctx, buyer, bench.ADDRESS):
            payments.pay(ctx, buyer, order.id, "card")

    return journey


def _orderguard_process(
    url: str, offer_ids: list[str], orders: int, ready: Event, gate: bench.Gate, results: Queue[bench.Timed]
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
        bench.timed_when_released(lambda: _journeys(timed, AT_ONCE), ready, gate, results)
    finally:
        ctx.engine.dispose()


def _ideal_process(
    dsn: str, first_buyer: int, orders: int, ready: Event, gate: bench.Gate, results: Queue[bench.Timed]
) -> None:
    stores = ideal.STORES
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
        journeys = on_own_connection(timed)
        bench.timed_when_released(lambda: _journeys(journeys, AT_ONCE), ready, gate, results)
    finally:
        for db in connections:
            db.close()


def _shares(orders: int) -> list[int]:
    """`orders` split between the PROCESSES, as evenly as can be."""
    return [orders // PROCESSES + (1 if i < orders % PROCESSES else 0) for i in range(PROCESSES)]


METRIC = f"orders, {PROCESSES}x{AT_ONCE} at once"
IDEAL_METRIC = f"ideal, {PROCESSES}x{AT_ONCE} at once"


def bench_orders_at_once(url: str, orders: int) -> bench.Result:
    """OrderGuard: `orders` orders placed and paid by PROCESSES x AT_ONCE buyers at a time."""
    ctx, _ = bench.new_context(url)
    try:
        offer_ids = bench.make_offers(ctx)
        released = bench.released_together(
            _orderguard_process, [(url, offer_ids, share) for share in _shares(orders)]
        )
        bench.check_paid(ctx, "PostgreSQL", orders + PROCESSES * AT_ONCE * 4)  # with the warm-up's
        return _result(METRIC, orders, released)
    finally:
        ctx.engine.dispose()


def bench_ideal_at_once(pg_url: str, orders: int) -> bench.Result:
    """The ideal schema's journey, by the same processes and threads."""
    with bench.postgres_url(pg_url, "ideal_at_once") as url:
        dsn = bench.libpq_dsn(url)
        with psycopg.connect(dsn, autocommit=True) as db:
            ideal.made_schema(db)
        released = bench.released_together(
            _ideal_process,
            [(dsn, i * (orders + bench.STORES_PER_CART), share) for i, share in enumerate(_shares(orders))],
        )
        with psycopg.connect(dsn, autocommit=True) as db:
            paid = ideal.paid_orders(db)
    if paid != orders:
        raise AssertionError(f"ideal schema at once: {paid} orders paid, not {orders}")
    return _result(IDEAL_METRIC, orders, released)


def _result(metric: str, orders: int, released: bench.Released) -> bench.Result:
    return bench.Result(
        "PostgreSQL",
        metric,
        orders,
        released.seconds,
        released.cpu_seconds,
        {"database_cpu": released.database_cpu_seconds},
    )
