"""The due storm on PostgreSQL (issue #12, items 4 and 5): what armed deadlines cost, and lateness.

    uv run python -m benchmarks.due_storm growth [--due 10000] [--armed 10000 1000000] [--repeats 3]
    uv run python -m benchmarks.due_storm lateness [--deadlines 20000] [--window 20] [--poll 0.1]

`growth`: `--due` unpaid orders whose pay-by has passed are drained by one worker process
(`benchmarks.run.drain_like_a_worker`, i.e. `scheduler.worker.run` as `orderguard worker
--until-idle` runs it), beside 10k and then 1M other deadlines that are armed but not due (bulk
inserted with `INSERT ... SELECT generate_series`; they are never claimed, so only their presence
counts). Each count is run `--repeats` times, alternating, each on a fresh copy of the same
database, in a fresh worker process whose peak RSS is its memory figure. Printed: firings/s and
peak RSS per count (median of the repeats), and the change from the first count to the last; the
goal is under 10 % for both.

`lateness`: a production-mode OrderGuard serves the HTTP write mix of benchmarks/http_edge.py
(wrk, `benchmarks/wrk/write_mix.lua`) while an `orderguard worker` process fires a storm of
`--deadlines` pay-by deadlines falling due over `--window` seconds. The orders are placed through
the use cases beforehand; then their pay-by times and deadlines are moved together (one UPDATE
each) so that the storm begins a few seconds after the server, the worker and the load are up.
Lateness is `settled_at - due_at` of each storm deadline (the time its batch records as the firing's
time, by the system clock); its batch commits within the batch's seconds after that, and the
largest batch time from the worker's log is printed beside it, with the longest time between two
batches (the worker waiting for the next deadline, or stalled). Goal: p99 < 1 s.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from benchmarks.http_edge import (
    CHECKOUT_BODY,
    WRITE,
    RunSpec,
    machine_line,
    run_wrk,
    serve_orderguard,
    write_data_file,
)
from benchmarks.run import (
    ADDRESS,
    DEFAULT_PG_URL,
    FIRING_AT,
    WORKER_TIMEOUT,
    check_fired_once,
    drain_like_a_worker,
    make_buyers,
    make_offers,
    new_context,
    place_unpaid_orders,
    postgres_url,
)
from orderguard.app import accounts, cart
from orderguard.app.context import Principal
from orderguard.bootstrap import build_context
from orderguard.scheduler.worker import prepare
from orderguard.settings import Settings

NOT_DUE_FROM = FIRING_AT + timedelta(days=365)  # the armed-but-not-due deadlines fall due after this


# --- databases ----------------------------------------------------------------------------------------


def database_copy(server_url: str, template_url: str, suffix: str) -> AbstractContextManager[str]:
    """A fresh database copied from the one at `template_url`."""
    return postgres_url(server_url, suffix, template=make_url(template_url).database)


def arm_not_due(url: str, count: int) -> None:
    """`count` armed pay-by deadlines of orders that do not exist, due a year after the storm, one a
    second, then fresh planner statistics (as the worker would find them in production)."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(
                text(
                    "INSERT INTO deadlines"
                    " (subject_type, subject_id, order_id, kind, due_at, state, created_at)"
                    " SELECT 'order', 'ord_armed' || g, 'ord_armed' || g, 'pay_by',"
                    " :start + g * interval '1 second', 'armed', :start"
                    " FROM generate_series(1, :count) AS g"
                ),
                {"start": NOT_DUE_FROM, "count": count},
            )
            conn.execute(text("VACUUM ANALYZE"))
    finally:
        engine.dispose()


# --- growth ---------------------------------------------------------------------------------------------


@dataclass
class Drained:
    armed: int
    seconds: float
    firings: int
    peak_rss_mb: float
    cpu_seconds: float  # the worker process's, while it drained (steadier than the wall clock)

    @property
    def cpu_us_per_firing(self) -> float:
        return 1e6 * self.cpu_seconds / self.firings

    @property
    def per_second(self) -> float:
        return self.firings / self.seconds


def _growth_worker(url: str, results: Queue[tuple[float, float, float]]) -> None:
    """One worker process: drains what is due; puts (seconds, peak RSS in MB, CPU seconds)."""
    ctx, fixed = new_context(url, migrate=False)
    try:
        fixed.set(FIRING_AT)
        with ctx.engine.connect():  # the pool's first connection is not timed
            pass
        prepare()  # nor what the process does once before its first round
        started, cpu = time.perf_counter(), time.process_time()
        drain_like_a_worker(ctx)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        results.put((seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, cpu))
    finally:
        ctx.engine.dispose()


def drain_in_a_process(url: str) -> tuple[float, float, float]:
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter: its memory is the worker's own
    results: Queue[tuple[float, float, float]] = spawn.Queue()
    process = spawn.Process(target=_growth_worker, args=(url, results))
    process.start()
    try:
        return results.get(timeout=WORKER_TIMEOUT)
    finally:
        process.join(30)


def growth(pg_url: str, due: int, armed: Sequence[int], repeats: int) -> list[Drained]:
    print(f"due storm beside armed deadlines: {due} due, {' / '.join(f'{a:,}' for a in armed)} armed not due")
    print(f"machine: {machine_line()}", flush=True)
    runs: list[Drained] = []
    with postgres_url(pg_url, "storm_due") as base_url:
        started = time.perf_counter()
        ctx, _ = new_context(base_url)
        try:
            place_unpaid_orders(ctx, due)
        finally:
            ctx.engine.dispose()
        print(f"  {due} unpaid orders placed in {time.perf_counter() - started:.0f} s", flush=True)
        with _templates(pg_url, base_url, armed) as templates:
            for repeat in range(repeats):
                for count, template in templates.items():
                    with database_copy(pg_url, template, f"r{repeat}") as url:
                        seconds, rss, cpu = drain_in_a_process(url)
                        ctx, _ = new_context(url, migrate=False)
                        try:
                            check_fired_once(ctx, "PostgreSQL", due)
                        finally:
                            ctx.engine.dispose()
                    runs.append(Drained(count, seconds, due, rss, cpu))
                    print(
                        f"  {count:>9,} armed: {due / seconds:,.0f} firings/s,"
                        f" {runs[-1].cpu_us_per_firing:.0f} µs of worker CPU a firing, peak RSS {rss:.1f} MB",
                        flush=True,
                    )
    print_growth(runs, armed)
    return runs


@contextmanager
def _templates(pg_url: str, base_url: str, armed: Sequence[int]) -> Iterator[dict[int, str]]:
    """For each count, a database: the base one plus that many armed deadlines not due."""
    with ExitStack() as stack:
        made: dict[int, str] = {}
        for count in armed:
            made[count] = url = stack.enter_context(database_copy(pg_url, base_url, f"a{count}"))
            started = time.perf_counter()
            arm_not_due(url, count)
            print(
                f"  {count:,} armed deadlines inserted in {time.perf_counter() - started:.1f} s", flush=True
            )
        yield made


def print_growth(runs: Sequence[Drained], armed: Sequence[int]) -> None:
    print()
    print(
        f"{'armed not due':>13}  {'firings/s':>9}  {'CPU µs/firing':>13}  {'peak RSS MB':>11}"
        "  each run (firings/s)"
    )
    medians: dict[int, tuple[float, float, float]] = {}
    for count in armed:
        mine = [r for r in runs if r.armed == count]
        rate = statistics.median(r.per_second for r in mine)
        cpu = statistics.median(r.cpu_us_per_firing for r in mine)
        rss = statistics.median(r.peak_rss_mb for r in mine)
        medians[count] = (rate, cpu, rss)
        each = " ".join(f"{r.per_second:,.0f}" for r in mine)
        print(f"{count:>13,}  {rate:>9,.0f}  {cpu:>13.0f}  {rss:>11.1f}  {each}")
    print("(medians of the runs)")
    first, last = medians[armed[0]], medians[armed[-1]]
    change = [100 * (b - a) / a for a, b in zip(first, last, strict=True)]
    within = abs(change[0]) < 10 and abs(change[2]) < 10
    print(
        f"from {armed[0]:,} to {armed[-1]:,} armed: firing rate {change[0]:+.1f} %, worker CPU a firing"
        f" {change[1]:+.1f} %, worker memory {change[2]:+.1f} % ({'within' if within else 'NOT within'}"
        " the 10 % goal for rate and memory)"
    )


# --- lateness -----------------------------------------------------------------------------------------


def place_storm(url: str, deadlines: int) -> list[str]:
    """`deadlines` unpaid orders (one pay-by deadline each) placed through the use cases, four buyers
    at a time; returns the buyers' account ids (to tell the storm's orders from the write mix's)."""
    ctx = build_context(Settings(database_url=url, sandbox=False))
    try:
        offer_ids = make_offers(ctx)

        def buyer_checks_out(buyer_and_stores: tuple[Principal, int]) -> str:
            buyer, stores = buyer_and_stores
            for offer_id in offer_ids[:stores]:
                cart.add_item(ctx, buyer, offer_id, 1, None)
            cart.check_out(ctx, buyer, ADDRESS)
            return buyer.id

        with ThreadPoolExecutor(4) as pool:
            return list(pool.map(buyer_checks_out, make_buyers(ctx, deadlines)))
    finally:
        ctx.engine.dispose()


def write_mix_data(url: str, connections: int, tmp: Path) -> Path:
    """The Lua data file of the write mix: a buyer a connection, one offer in each of four stores."""
    ctx = build_context(Settings(database_url=url, sandbox=False))
    try:
        offers = make_offers(ctx)
        buyers = [accounts.create_account(ctx, "buyer", f"Writer {i}").token for i in range(connections)]
    finally:
        ctx.engine.dispose()
    mix = {"buyers": buyers, "offers": offers, "checkout_body": CHECKOUT_BODY}
    return write_data_file(tmp / "data-lateness.lua", {WRITE: mix})


STORM_SQL = {
    "orders": "UPDATE orders SET pay_by_at = :start + (pay_by_at - :first) * :squeeze"
    " WHERE buyer_id = ANY(:buyers) AND state = 'awaiting_payment'",
    "deadlines": "UPDATE deadlines SET due_at = o.pay_by_at FROM orders o"
    " WHERE deadlines.order_id = o.id AND deadlines.kind = 'pay_by' AND deadlines.state = 'armed'"
    " AND o.buyer_id = ANY(:buyers)",
}


def move_storm(url: str, buyers: list[str], start: datetime, window: float) -> None:
    """The storm's pay-by times (and their deadlines with them) spread evenly over `window` seconds
    from `start`, in the order they were placed in."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            first, last = conn.execute(
                text("SELECT min(pay_by_at), max(pay_by_at) FROM orders WHERE buyer_id = ANY(:buyers)"),
                {"buyers": buyers},
            ).one()
            squeeze = window / max((last - first).total_seconds(), 1e-6)
            params = {"buyers": buyers, "start": start, "first": first, "squeeze": squeeze}
            conn.execute(text(STORM_SQL["orders"]), params)
            conn.execute(text(STORM_SQL["deadlines"]), params)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    finally:
        engine.dispose()


LATENESS_SQL = """
SELECT count(*),
       percentile_cont(ARRAY[0.5, 0.9, 0.99])
           WITHIN GROUP (ORDER BY extract(epoch FROM d.settled_at - d.due_at)),
       max(extract(epoch FROM d.settled_at - d.due_at)),
       count(*) FILTER (WHERE d.state = 'armed')
FROM deadlines d JOIN orders o ON o.id = d.order_id
WHERE d.kind = 'pay_by' AND o.buyer_id = ANY(:buyers) AND d.state IN ('fired', 'armed')
"""


@dataclass
class Lateness:
    fired: int
    p50: float
    p90: float
    p99: float
    max: float
    max_batch_seconds: float
    max_gap_seconds: float  # longest time between two batches of the storm (the worker idle or stalled)
    write_requests: int
    write_per_second: float
    write_non_2xx: int


def lateness(
    pg_url: str, deadlines: int, window: float, poll: float, connections: int, lead: float
) -> Lateness:
    print(
        f"firing lateness: {deadlines} pay-by deadlines due over {window:g} s, `orderguard worker --poll"
        f" {poll:g}`, while the API serves the write mix on {connections} connections"
    )
    print(f"machine: {machine_line()}", flush=True)
    with (
        tempfile.TemporaryDirectory(prefix="og_lateness_") as tmp_name,
        postgres_url(pg_url, "lateness") as url,
    ):
        tmp = Path(tmp_name)
        started = time.perf_counter()
        buyers = place_storm(url, deadlines)
        data = write_mix_data(url, connections, tmp)
        print(f"  {deadlines} unpaid orders placed in {time.perf_counter() - started:.0f} s", flush=True)
        storm_start = datetime.now(UTC) + timedelta(seconds=lead + 15)  # the server and worker start first
        move_storm(url, buyers, storm_start, window)
        worker_log = tmp / "worker.log"
        with (
            serve_orderguard(url, tmp / "files", tmp / "server.log", 1, sandbox=False) as server,
            _worker(url, poll, worker_log),
        ):
            until_start = (storm_start - datetime.now(UTC)).total_seconds() - lead
            if until_start > 0:
                time.sleep(until_start)
            load_seconds = int(lead + window + 5)
            report = run_wrk(
                server,
                WRITE,
                data,
                RunSpec(load_seconds, 0, connections, connections),
                f"lateness-{time.time_ns()}",
            )
            _wait_fired(url, buyers, deadlines)
        figures = _lateness_figures(url, buyers)
        batches = [json.loads(line) for line in worker_log.read_text().splitlines() if line.startswith("{")]
        fired_batches = [b for b in batches if "claimed" in b]
        max_batch = max((b.get("seconds", 0.0) for b in fired_batches), default=0.0)
        max_gap = largest_gap(fired_batches)
    fired, p50, p90, p99, worst = figures
    ok = {k: v for k, v in report["counts"].items() if k.split()[-1].startswith("2")}
    result = Lateness(
        fired,
        p50,
        p90,
        p99,
        worst,
        max_batch,
        max_gap,
        int(report["requests"]),
        report["requests"] / (report["duration_us"] / 1e6),
        int(report["requests"]) - sum(int(v) for v in ok.values()),
    )
    print(
        f"\nlateness of {fired} firings: p50 {p50:.3f} s, p90 {p90:.3f} s, p99 {p99:.3f} s, max {worst:.3f} s"
        f" (each commits within its batch's time after that: at most {max_batch:.3f} s; longest time"
        f" between two batches {max_gap:.3f} s);"
        f" goal p99 < 1 s: {'met' if p99 < 1 else 'NOT met'}"
    )
    print(
        f"write mix meanwhile: {result.write_requests} requests, {result.write_per_second:,.0f}/s,"
        f" {result.write_non_2xx} not 2xx; counts {report['counts']}"
    )
    print(f"machine at the end: {machine_line()}")
    return result


def largest_gap(batches: Sequence[dict[str, Any]]) -> float:
    """The longest time from the end of one logged batch to the start of the next (the log's `time`
    is when a batch ended, `seconds` how long it took): waits for the next poll or deadline, or
    stalls of the worker, as opposed to batches that take long."""
    ends = [datetime.fromisoformat(b["time"]).timestamp() for b in batches]
    starts = [end - b["seconds"] for end, b in zip(ends, batches, strict=True)]
    return max((start - end for end, start in zip(ends, starts[1:], strict=False)), default=0.0)


@contextmanager
def _worker(url: str, poll: float, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    from benchmarks.http_edge import _clean_env, _stop, _venv_script

    env = _clean_env() | {"ORDERGUARD_DATABASE_URL": url}
    with log.open("ab") as out:
        process = subprocess.Popen(
            [_venv_script("orderguard"), "worker", "--poll", str(poll)],
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        _stop(process)


def _wait_fired(url: str, buyers: list[str], deadlines: int, timeout: float = 300) -> None:
    engine = create_engine(url)
    try:
        give_up = time.monotonic() + timeout
        while True:
            with engine.connect() as conn:
                fired = conn.execute(
                    text(
                        "SELECT count(*) FROM deadlines d JOIN orders o ON o.id = d.order_id"
                        " WHERE d.kind = 'pay_by' AND d.state = 'fired' AND o.buyer_id = ANY(:buyers)"
                    ),
                    {"buyers": buyers},
                ).scalar_one()
            if fired >= deadlines:
                return
            if time.monotonic() > give_up:
                raise AssertionError(f"only {fired} of {deadlines} storm deadlines fired in time")
            time.sleep(0.5)
    finally:
        engine.dispose()


def _lateness_figures(url: str, buyers: list[str]) -> tuple[int, float, float, float, float]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            count, (p50, p90, p99), worst, armed = conn.execute(text(LATENESS_SQL), {"buyers": buyers}).one()
            events = conn.execute(
                text(
                    "SELECT count(*), count(DISTINCT e.order_id)"
                    " FROM events e JOIN orders o ON o.id = e.order_id"
                    " WHERE e.kind = 'pay_by_passed' AND o.buyer_id = ANY(:buyers)"
                ),
                {"buyers": buyers},
            ).one()
    finally:
        engine.dispose()
    if armed or events[0] != events[1] or events[0] != count - armed:
        raise AssertionError(f"{armed} storm deadlines left armed; {events[0]} events on {events[1]} orders")
    return int(count), float(p50), float(p90), float(p99), float(worst)


# --- command line -------------------------------------------------------------------------------------


def _cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--pg-url", default=DEFAULT_PG_URL, help="PostgreSQL server (databases are made on it)"
    )
    sub = parser.add_subparsers(dest="what", required=True)
    g = sub.add_parser("growth", help="firing rate and worker memory beside armed deadlines not due")
    g.add_argument("--due", type=int, default=10000, help="deadlines due, fired by one worker process")
    g.add_argument("--armed", type=int, nargs="+", default=[10_000, 1_000_000], help="armed, not due")
    g.add_argument("--repeats", type=int, default=3)
    lt = sub.add_parser("lateness", help="p99 firing lateness while the API serves the write mix")
    lt.add_argument("--deadlines", type=int, default=20000)
    lt.add_argument("--window", type=float, default=20.0, help="seconds over which the storm falls due")
    lt.add_argument("--poll", type=float, default=0.1, help="the worker's --poll")
    lt.add_argument("--connections", type=int, default=16, help="wrk connections (one buyer each)")
    lt.add_argument("--lead", type=float, default=3.0, help="seconds of load before the storm begins")
    args = parser.parse_args()
    if args.what == "growth":
        growth(args.pg_url, args.due, args.armed, args.repeats)
    else:
        lateness(args.pg_url, args.deadlines, args.window, args.poll, args.connections, args.lead)


if __name__ == "__main__":
    _cli()
