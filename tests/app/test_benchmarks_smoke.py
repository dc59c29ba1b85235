"""`make bench` keeps working: each SQLite benchmark runs on a few orders and checks its own work; the
HTTP-edge harness serves OrderGuard and the bare app under wrk for a few seconds."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from benchmarks.cancellations import bench_seller_approvals, bench_silent_approvals
from benchmarks.disputes import bench_escalations
from benchmarks.http_edge import LOADS, WRITE, Figure, lua_literal, main, print_machine_bound, top_frames
from benchmarks.ideal_schema import bench_ideal_schema
from benchmarks.run import bench_firings, bench_orders, print_table, sqlite_url
from benchmarks.sql_floor import bench_orders_sql_floor


def test_orders_benchmark_places_and_pays_every_order() -> None:
    with sqlite_url() as url:
        result = bench_orders(url, "SQLite", 6)  # raises unless 6 orders are paid and 6 captured
    assert result.count == 6
    assert set(result.detail) == {"add_item", "check_out", "pay"}


def test_sql_floor_replays_the_transactions_of_each_command() -> None:
    result = bench_orders_sql_floor(8)  # 2 buyers: 8 add_item, 2 check_out, 8 pay
    # one transaction a command, but two a payment: recorded before the provider, answered after it
    assert result.detail["commits"] == (8 + 2 + 2 * 8) / 8
    assert result.detail["statements"] > 10


def test_firings_benchmark_fires_every_deadline_once() -> None:
    with sqlite_url() as url:
        result = bench_firings(url, "SQLite", 10)  # raises unless each of the 10 fired exactly once
    assert result.count == 10


def test_ideal_schema_journey_pays_every_order() -> None:
    assert bench_ideal_schema(8).count == 8  # raises unless all 8 orders end awaiting shipment


def test_approval_benchmarks_approve_each_request_once_with_its_refund() -> None:
    with sqlite_url() as url:
        by_seller = bench_seller_approvals(url, "SQLite", 6)  # raises unless each once, ledger clean
    with sqlite_url() as url:
        by_silence = bench_silent_approvals(url, "SQLite", 6)
    assert by_seller.count == by_silence.count == 6
    print_table([by_seller, by_silence])  # every kind of result has its notes


def test_escalation_storm_escalates_each_dispute_once() -> None:
    with sqlite_url() as url:
        result = bench_escalations(url, "SQLite", 6)  # raises unless each escalated once, ledger clean
    assert result.count == 6 and result.detail["rounds"] == 2  # one batch, then one that finds none
    print_table([result])


def test_top_frames_counts_a_frame_once_a_stack() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        collapsed = Path(tmp) / "stacks.txt"
        collapsed.write_text("main (a.py);work (b.py);work (b.py) 3\nmain (a.py);idle (c.py) 1\n")
        assert dict(top_frames(collapsed)) == {"main (a.py)": 100.0, "work (b.py)": 75.0, "idle (c.py)": 25.0}


def test_lua_data_file_quotes_strings() -> None:
    assert lua_literal({"a": ['x"y', 2]}) == '{["a"] = {"x\\"y", 2}}'
    with pytest.raises(ValueError):
        lua_literal("é")


@pytest.mark.slow
def test_http_edge_benchmark_runs_every_load_on_sqlite_beside_the_bare_app() -> None:
    """`make bench-http` in miniature: a served OrderGuard and the bare app, under wrk, 2 s a load."""
    if shutil.which("wrk") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("wrk is missing under CI=true: .ci/run installs it (apt-get install -y wrk)")
        pytest.skip("wrk is not installed: `make bench-http` installs it (apt-get install -y wrk)")
    figures, problems = main(backends=["sqlite"], seconds=2, warmup=0, connections=4, workers_variant=0)
    assert problems == []  # every read 2xx, every write 201, no socket error, no timeout
    assert sorted((f.system, f.load) for f in figures) == sorted(
        (system, load) for system in ("OrderGuard", "bare FastAPI", "bare FastAPI") for load in LOADS
    )  # the bare app twice: after the database and at the end, the faster its yardstick
    mix = next(f for f in figures if f.system == "OrderGuard" and f.load == WRITE)
    assert mix.counts.get("add 201", 0) > 0
    assert mix.counts.get("pay 201", 0) > 0  # cycles went through: checkout parsed, orders paid
    assert all(f.requests > 0 and f.p99_ms > 0 and f.server_cpu_s > 0 for f in figures)
    assert all(f.wrk_cpu_s > 0 and f.database_cpu_s == 0 for f in figures)  # no PostgreSQL in SQLite's


def _served(workers: int, requests: int, server: float, database: float, wrk: float) -> Figure:
    return Figure(
        "OrderGuard", "PostgreSQL", "orders_list", workers, requests, 10.0, 1.0, 1.0, 1.0, 1.0, 0, 0, 0, 0,
        server_cpu_s=server, database_cpu_s=database, wrk_cpu_s=wrk,
    )  # fmt: skip


def test_the_machine_bound_is_the_cpus_over_one_workers_cpu_a_request(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    # One worker: 4,000 lists in 10 s, 2.0 + 0.5 + 0.1 ms of CPU each: 2 CPUs allow 769 a second.
    alone = _served(1, 4_000, server=8.0, database=2.0, wrk=0.4)
    assert alone.machine_ms_per_request == pytest.approx(2.6)
    print_machine_bound([alone, _served(2, 6_000, server=13.0, database=3.0, wrk=0.6)])
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("orders_list"))
    assert row.split() == [
        "orders_list", "PostgreSQL", "400", "2.00", "0.50", "0.10", "2.60",
        "|", "769", "(1.92x)", "|", "600", "(1.50x,", "2", "wk)",
    ]  # fmt: skip


def test_orders_at_once_pays_every_order_on_postgresql(pg_url: str) -> None:
    from benchmarks.orders_at_once import AT_ONCE, PROCESSES, bench_ideal_at_once, bench_orders_at_once
    from benchmarks.run import postgres_url

    orders = PROCESSES * AT_ONCE * 4 + 3  # each buyer thread more than one journey, one cart short
    # Each raises unless every order ends paid (and OrderGuard's payments captured), warm-up apart;
    # in databases of their own, beside the session's (whose counts they would read).
    with postgres_url(pg_url, "smoke_at_once") as url:
        placed = bench_orders_at_once(url, orders)
    ideal = bench_ideal_at_once(pg_url, orders)
    assert placed.count == ideal.count == orders
    # PostgreSQL's CPU over the released runs is read, for the rate the machine's CPUs allow. Server
    # processes that end meanwhile (the benchmarks' own, or other tests') are still counted, through
    # the postmaster, so no reading goes back by more than the moment before the postmaster's wait.
    used = [placed.detail["database_cpu"], ideal.detail["database_cpu"]]
    assert sum(used) > 0 and min(used) > -0.02  # clock ticks of 10 ms: 19 ideal orders may take none


def test_a_lone_worker_fires_each_deadline_once_with_two_connections_on_postgresql(pg_url: str) -> None:
    from benchmarks.run import ALONE_CONNECTIONS, postgres_url

    with postgres_url(pg_url, "smoke_firings") as url:
        result = bench_firings(url, "PostgreSQL", 1200)  # raises unless each fired exactly once
    assert result.detail["connections"] == ALONE_CONNECTIONS > 1
    assert result.count == 1200  # three batches of 500: the connections take turns


def test_pg_read_cost_measures_each_read_with_both_session_settings(pg_url: str) -> None:
    from benchmarks.pg_read_cost import SETTINGS
    from benchmarks.pg_read_cost import main as read_cost

    figures = read_cost(pg_url, times=8, rounds=1)  # raises unless each read finds the seeded pages
    assert set(figures) == {
        (read, name) for read in ("order page", "orders list", "offers") for name in SETTINGS
    }
    assert all(len(runs) == 1 and runs[0][0] > 0 for runs in figures.values())


def test_a_closed_connections_server_cpu_stays_in_postgresqls_sum(pg_dsn: str) -> None:
    import psycopg
    from benchmarks.cpu import postgres_cpu_seconds

    with psycopg.connect(pg_dsn) as db:  # its server process spends about 0.2 s, then ends
        db.execute("SELECT count(*) FROM generate_series(1, 5000000)").fetchone()
        before = postgres_cpu_seconds()
    time.sleep(0.2)  # the postmaster waits for it, and takes its CPU time as a child's
    assert postgres_cpu_seconds() >= before - 0.02
