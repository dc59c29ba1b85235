"""`orderguard worker` says what it does (issue #11 item 6): its start, each batch with the kinds it
fired and how many, each failed round and its retry; on SIGTERM or SIGINT it lets the batch in hand
commit, prints a summary and exits 0. Tested with a real process, its stderr a pipe (so JSON lines)."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from orderguard import heap
from orderguard.app import accounts, cart, catalogue
from orderguard.app.catalogue import OptionInput
from orderguard.app.context import Context, Principal
from orderguard.app.deadlines import FireReport
from orderguard.bootstrap import build_context
from orderguard.domain.machine import Actor
from orderguard.domain.orders import Address
from orderguard.providers.clock import FixedClock
from orderguard.scheduler import worker
from orderguard.settings import Settings

PAST = datetime(2020, 1, 1, 12, 0, tzinfo=UTC)  # pay-by (20 days later) is long due by the real clock
ADDRESS = Address(name="Ann Buyer", line1="1 Main St", city="Warsaw", postal_code="00-001", country="PL")


@pytest.fixture
def past_ctx(db_url: str) -> Iterator[Context]:
    ctx = build_context(Settings(database_url=db_url, sandbox=False), clock=FixedClock(PAST), migrate=False)
    yield ctx
    ctx.engine.dispose()


def _unpaid_orders(ctx: Context, n: int) -> None:
    seller = Principal(accounts.create_account(ctx, "seller", "Sam").id, Actor.SELLER)
    store_id = catalogue.create_store(ctx, seller, "Sam's")["id"]
    product_id = catalogue.create_product(ctx, seller, "Phone case", "")["id"]
    offer = catalogue.create_offer(
        ctx, seller, store_id, product_id, 5_00, "USD", 100, 2, [OptionInput("postal", 1_00, 20)]
    )
    for i in range(n):
        buyer = Principal(accounts.create_account(ctx, "buyer", f"Buyer {i}").id, Actor.BUYER)
        cart.add_item(ctx, buyer, offer.id, 1, None)
        cart.check_out(ctx, buyer, ADDRESS)


def _lines(stream: Any, into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)
    into.put("")  # the end


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("stop_with", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_worker_logs_its_batches_and_prints_a_summary_when_stopped(
    past_ctx: Context, db_url: str, stop_with: signal.Signals
) -> None:
    _unpaid_orders(past_ctx, 3)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORDERGUARD_", "PROMETHEUS_"))}
    env["ORDERGUARD_DATABASE_URL"] = db_url
    proc = subprocess.Popen(
        [sys.executable, "-m", "orderguard.cli", "worker", "--poll", "0.2", "--batch", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    errors: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stderr, errors), daemon=True).start()
    records: list[dict[str, Any]] = []
    try:
        give_up = time.monotonic() + 60
        while sum(r.get("fired", 0) for r in records if "claimed" in r) < 3:
            assert time.monotonic() < give_up, f"the worker fired nothing in time: {records}"
            assert proc.poll() is None, f"the worker ended: {records}"
            with contextlib.suppress(queue.Empty):
                records.append(json.loads(errors.get(timeout=1)))
        proc.send_signal(stop_with)
        proc.wait(timeout=30)
        assert proc.stdout is not None
        out = proc.stdout.read()  # a line: no pipe fills up before the end
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    while True:  # the reader thread drains what was left on stderr, up to its end
        line = errors.get(timeout=10)
        if line == "":
            break
        records.append(json.loads(line))

    assert proc.returncode == 0, (out, records)
    name = stop_with.name
    assert out.count("\n") == 1 and f"worker stopped by {name}" in out, out
    assert "fired 3 deadlines in 2 batches (pay_by 3); 0 stale, 0 rounds failed" in out, out

    messages = [r["message"] for r in records]
    assert messages[0].startswith("worker started: batches of up to 2, polling every 0.2 s, production mode")
    batches = [r for r in records if "claimed" in r]
    assert [(b["fired"], b["kinds"]) for b in batches] == [(2, {"pay_by": 2}), (1, {"pay_by": 1})]
    assert all(
        b["message"].startswith(f"fired {b['fired']} deadlines (pay_by {b['fired']}) in ") for b in batches
    )
    assert f"{name} received: stopping once the batch in hand is committed" in messages, messages
    assert records[-1]["message"] == out.strip() and records[-1]["fired"] == 3
    assert all(r["logger"] == "orderguard.scheduler" and r["level"] == "info" for r in records)


def test_failed_rounds_are_logged_with_their_retry_and_the_recovery(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    stop = threading.Event()
    rounds = iter(
        [
            ConnectionRefusedError("the database went away\nand more lines"),
            ConnectionRefusedError("still away"),
            FireReport(3, 2, {"pay_by": 1, "ship_by": 1}, stale=1, seconds=0.01),
            FireReport(0, 0),
        ]
    )

    look_aheads: list[float] = []

    def fire(ctx: Any, limit: int, *, look_ahead: float = 0.0) -> FireReport:
        look_aheads.append(look_ahead)
        step = next(rounds)
        if isinstance(step, Exception):
            raise step
        if step.claimed == 0:
            stop.set()
        return step

    monkeypatch.setattr(worker, "fire_due", fire)
    stats = worker.WorkerStats()
    with caplog.at_level("INFO", logger="orderguard.scheduler"):
        production = SimpleNamespace(sandbox=False)
        fired = worker.run(production, poll_seconds=0.01, stop=stop, stats=stats)  # type: ignore[arg-type]
    assert look_aheads == [0.01] * 4  # each round asks when the next deadline falls due within its poll
    assert fired == 2
    first, again, recovered, batch = caplog.records
    assert first.getMessage() == "firing deadlines failed; retrying in 0.01 s" and first.exc_info
    assert again.getMessage() == "firing deadlines failed again (2): still away; retrying in 0.01 s"
    assert again.levelname == "WARNING"
    assert recovered.getMessage() == "firing deadlines works again after 2 failed rounds"
    assert batch.getMessage().startswith(
        "fired 2 deadlines (pay_by 1, ship_by 1) in 0.010 s; 1 stale, 0 left"
    )
    assert (stats.batches, stats.fired, stats.stale, stats.failed_rounds) == (1, 2, 1, 2)
    assert dict(stats.kinds) == {"pay_by": 1, "ship_by": 1}


def test_an_idle_round_waits_until_the_next_deadline_falls_due_or_its_poll() -> None:
    assert worker.idle_wait(FireReport(0, 0), 0.5) == 0.5  # none due within the poll
    assert worker.idle_wait(FireReport(0, 0, next_due_in=0.2), 0.5) == pytest.approx(0.2 + worker.WAKE_MARGIN)
    assert worker.idle_wait(FireReport(0, 0, next_due_in=0.0), 0.5) == 0.5  # due, held by another worker
    assert worker.idle_wait(FireReport(0, 0, next_due_in=-1.0), 0.5) == 0.5


@pytest.mark.parametrize(("sandbox", "until_idle"), [(True, False), (False, True)])
def test_only_a_worker_on_the_system_clock_looks_ahead(
    monkeypatch: pytest.MonkeyPatch, sandbox: bool, until_idle: bool
) -> None:
    asked: list[float] = []
    stop = threading.Event()

    def fire(ctx: Any, limit: int, *, look_ahead: float = 0.0) -> FireReport:
        asked.append(look_ahead)
        stop.set()
        return FireReport(0, 0)

    monkeypatch.setattr(worker, "fire_due", fire)
    ctx = SimpleNamespace(sandbox=sandbox)
    worker.run(ctx, poll_seconds=0.01, stop=stop, until_idle=until_idle)  # type: ignore[arg-type]
    assert asked == [0.0]  # the sandbox's clock stands still; --until-idle never waits


def test_the_first_run_of_a_process_freezes_the_heap_of_its_start_up_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    freezes: list[None] = []
    monkeypatch.setattr(heap, "_settled", threading.Lock())  # as in a fresh process
    monkeypatch.setattr(heap.gc, "freeze", lambda: freezes.append(None))
    monkeypatch.setattr(heap.gc, "set_threshold", lambda *thresholds: None)
    stop = threading.Event()
    stop.set()
    for _ in range(2):
        worker.run(SimpleNamespace(sandbox=True), stop=stop)  # type: ignore[arg-type]
    assert len(freezes) == 1


def test_the_summary_logged_and_the_one_printed_give_the_same_time() -> None:
    """Both are made once the worker has stopped, a moment apart: they read its stopping time, so a
    tenth of a second passing between them changes neither (CI once saw 0.0 s logged, 0.1 s printed)."""
    stats = worker.WorkerStats(started=time.monotonic() - 0.049)
    stats.ended = stats.started + 0.049
    logged = stats.summary()
    time.sleep(0.02)
    assert stats.summary() == logged and " after 0.0 s:" in logged
