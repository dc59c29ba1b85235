"""Long CLI work shows its progress with Rich on stderr, never on stdout (issue #11 item 6): seeding
the demo, the ledger check, the benchmarks. On a stderr that is not a terminal nothing is drawn."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from orderguard.app.context import Context
from orderguard.cli import app as cli_app
from orderguard.demo_banner import seed_showing_progress
from orderguard.observability import progress

runner = CliRunner()


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """What a terminal on stderr would have been shown."""
    drawn = io.StringIO()
    monkeypatch.setattr(
        progress, "stderr_console", lambda: Console(file=drawn, force_terminal=True, width=120)
    )
    yield drawn


def test_a_progress_bar_is_drawn_on_a_terminal_and_nothing_elsewhere(terminal: io.StringIO) -> None:
    with progress.progress("counting", total=3) as advance:
        for i in range(3):
            advance(description=f"counting {i}")
    assert "counting" in terminal.getvalue()
    piped = io.StringIO()
    progress.stderr_console = lambda: Console(file=piped, force_terminal=False)  # type: ignore[assignment]
    with progress.progress("counting", total=3) as advance:
        advance()
    assert piped.getvalue() == ""


def test_seeding_the_demo_shows_its_progress(ctx: Context, terminal: io.StringIO) -> None:
    made = seed_showing_progress(ctx)
    assert {a.role for a in made} == {"admin", "buyer", "seller"}
    assert "seeding the demo marketplace" in terminal.getvalue()
    assert "24/24" in terminal.getvalue()  # a store at a time


def test_the_ledger_check_shows_its_progress_on_stderr_only(
    ctx: Context, db_url: str, terminal: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORDERGUARD_DATABASE_URL", db_url)
    result = runner.invoke(cli_app, ["ledger", "check"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ledger ok") and "checking the ledger" not in result.stdout
    drawn = terminal.getvalue()
    assert "checking the ledger" in drawn and "4/4" in drawn  # its four steps


def test_the_benchmarks_show_their_progress_and_print_only_results_on_stdout(
    terminal: io.StringIO, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from contextlib import nullcontext

    from benchmarks import (
        cancellations,
        disputes,
        ideal_schema,
        ideal_schema_pg,
        orders_at_once,
        run,
        sql_floor,
    )

    def stub(metric: str) -> Any:
        return lambda *args: run.Result(args[1] if len(args) > 1 else "SQLite", metric, 6, 0.1, 0.1, {})

    monkeypatch.setattr(run, "sqlite_url", lambda: nullcontext("sqlite:///unused"))
    monkeypatch.setattr(run, "postgres_url", lambda server, suffix: nullcontext("postgresql://unused"))
    monkeypatch.setattr(run, "bench_orders", stub("orders placed+paid"))
    monkeypatch.setattr(
        run,
        "bench_firings",
        lambda *a, connections=None: run.Result(
            a[1], "deadline firings", 6, 0.1, 0.1, {"rounds": 1, "connections": connections or 1}
        ),
    )
    monkeypatch.setattr(
        orders_at_once,
        "bench_orders_at_once",
        lambda url, n: run.Result("PostgreSQL", orders_at_once.METRIC, n, 0.1, 0.1),
    )
    monkeypatch.setattr(
        orders_at_once,
        "bench_ideal_at_once",
        lambda url, n: run.Result("PostgreSQL", orders_at_once.IDEAL_METRIC, n, 0.1, 0.1),
    )
    monkeypatch.setattr(
        run,
        "bench_firings_concurrent",
        lambda *a: run.Result(a[1], "firings, 2 workers", 6, 0.1, 0.1, {"rounds": 2}),
    )
    monkeypatch.setattr(
        sql_floor,
        "bench_orders_sql_floor",
        lambda n: run.Result(
            "SQLite",
            "orders, SQL alone",
            n,
            0.1,
            0.1,
            {"statements": 1, "commits": 1, "sync_off_per_second": 1},
        ),
    )
    monkeypatch.setattr(
        ideal_schema,
        "bench_ideal_schema",
        lambda n: run.Result("SQLite", "orders, ideal schema", n, 0.1, 0.1),
    )
    monkeypatch.setattr(
        ideal_schema_pg,
        "bench_ideal_schema_pg",
        lambda url, n: run.Result(
            "PostgreSQL", "orders, ideal schema", n, 0.1, 0.1, round_trips={"per command": 1}
        ),
    )
    monkeypatch.setattr(cancellations, "bench_seller_approvals", stub("seller approvals"))
    monkeypatch.setattr(cancellations, "bench_silent_approvals", stub("approvals by silence"))
    monkeypatch.setattr(disputes, "bench_escalations", stub("disputes escalated"))

    shown: list[str] = []
    done: list[float] = []

    @contextmanager
    def recorded(description: str, total: float | None = None) -> Iterator[Any]:
        with progress.progress(description, total) as advance:  # drawn as well

            def step(steps: float = 1, description: str | None = None) -> None:
                done.append(steps)
                if description:
                    shown.append(description)
                advance(steps, description)

            yield step
        assert sum(done) == total, "the bar ends full"

    monkeypatch.setattr(run, "progress", recorded)
    results = run.main(orders=6, firings=6, approvals=6, seller_approvals=6, escalations=6)
    assert len(results) == 17
    assert shown[0] == "SQLite: orders (6)" and shown[-1] == "PostgreSQL: escalations (6)"
    assert "PostgreSQL: firings by 2 workers (6)" in shown
    assert "PostgreSQL: orders by buyers at once, and the ideal schema so (6)" in shown
    assert "PostgreSQL: firings by one worker on one connection (6)" in shown
    assert "benchmarks" in terminal.getvalue()
    out = capsys.readouterr().out
    assert "per second" in out and "SQLite: orders (6)" not in out  # the table; the bar stays on stderr
