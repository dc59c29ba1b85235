"""The scheduler: claims due deadlines in batches and fires them through app/.

`run` is the loop, shared by `orderguard worker` and the scheduler thread of `orderguard serve`. It
logs (logger `orderguard.scheduler`) each batch that claimed anything, with the kinds fired and how
many, each failed round and the retry, and the recovery. `work` is `orderguard worker` itself: it
logs its start, stops on SIGTERM or SIGINT once the batch in hand is committed, and hands back what
it did (`WorkerStats.summary()`), which the command prints before exiting 0.

A round that finds nothing due waits the poll interval, or less on the system clock: until the
next armed deadline falls due, when one does within the interval (`fire_due`'s look-ahead), so a
deadline is not left waiting up to a whole interval after its time.

With `connections` > 1 (PostgreSQL) a worker keeps that many batches in flight: threads, each on
its own connection, sharing the table through `SKIP LOCKED` as worker processes do, so that one
computes while another waits on the server. Each batch is still its own transaction; the threads
share nothing but the stop signal and the stats. `orderguard worker --connections N` sets it. The
default stays one: on the 2-core machine of the benchmarks, two connections fire a quarter faster
in a worker that runs alone, and a little slower in each of two workers (benchmarks/README.md,
issue #12 items 4 and 5).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from types import FrameType

from orderguard.app.context import Context
from orderguard.app.deadlines import FireReport, fire_due
from orderguard.heap import settle_for_serving

log = logging.getLogger("orderguard.scheduler")


@dataclass
class WorkerStats:
    """What a worker did since it started."""

    started: float = field(default_factory=time.monotonic)
    batches: int = 0  # rounds that claimed deadlines
    fired: int = 0
    stale: int = 0
    failed_rounds: int = 0
    kinds: Counter[str] = field(default_factory=Counter)  # fired, by kind
    stopped_by: str | None = None  # the signal's name, or "idle" with --until-idle
    ended: float | None = None  # when it stopped: the summary logged and the one printed say the same
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, report: FireReport) -> None:
        with self._lock:  # the firing threads of one worker share it
            self.batches += 1
            self.fired += report.fired
            self.stale += report.stale
            self.kinds.update(report.fired_kinds)

    def failed(self) -> None:
        with self._lock:
            self.failed_rounds += 1

    def summary(self) -> str:
        why = {None: "stopped", "idle": "stopped: nothing is due"}.get(
            self.stopped_by, f"stopped by {self.stopped_by}"
        )
        return (
            f"worker {why} after {(self.ended or time.monotonic()) - self.started:.1f} s: fired {self.fired} "
            f"deadlines in {self.batches} batches{_kinds(self.kinds)}; {self.stale} stale, "
            f"{self.failed_rounds} rounds failed"
        )


def _kinds(kinds: Counter[str] | dict[str, int]) -> str:
    return f" ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))})" if kinds else ""


def run(
    ctx: Context,
    *,
    poll_seconds: float = 1.0,
    batch: int = 500,
    until_idle: bool = False,
    stop: threading.Event | None = None,
    stats: WorkerStats | None = None,
    connections: int = 1,
) -> int:
    """Fire deadlines as they fall due until `stop` is set (or, with `until_idle`, none is due);
    returns how many fired. With `connections` > 1, that many threads do so side by side, each
    batch on its own connection (see the module's docstring).

    Every database access of a round, the sandbox clock's reading included, is inside
    the `try`: a database outage costs rounds, never the worker.
    """
    stop = stop or threading.Event()
    stats = stats if stats is not None else WorkerStats()
    prepare()
    if connections > 1:
        fired: list[int] = []
        threads = [
            threading.Thread(
                target=lambda: fired.append(_loop(ctx, poll_seconds, batch, until_idle, stop, stats)),
                name=f"orderguard-firing-{i}",
            )
            for i in range(connections)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return sum(fired)
    return _loop(ctx, poll_seconds, batch, until_idle, stop, stats)


def prepare() -> None:
    """What a process that fires does once, before its first round: the heap settled for a long run,
    and the metrics loaded (fire_due imports them late, so that processes that never fire don't)."""
    settle_for_serving()
    import orderguard.observability.metrics  # noqa: F401


def _loop(
    ctx: Context,
    poll_seconds: float,
    batch: int,
    until_idle: bool,
    stop: threading.Event,
    stats: WorkerStats,
) -> int:
    """One thread's rounds (see `run`)."""
    total = 0
    failures = 0
    # The sandbox's clock stands still between advances, and --until-idle never waits: only a
    # worker on the system clock wakes for the next deadline within its poll interval.
    look_ahead = 0.0 if ctx.sandbox or until_idle else poll_seconds
    while not stop.is_set():
        try:
            report = fire_due(ctx, batch, look_ahead=look_ahead)
        except Exception as e:  # a bad round must not kill the worker; the rows stay armed
            failures += 1
            stats.failed()
            extra = {"failures": failures, "retry_in_seconds": poll_seconds}
            if failures == 1:
                log.exception("firing deadlines failed; retrying in %g s", poll_seconds, extra=extra)
            else:  # an outage: one line a round, not a trace a second
                log.warning(
                    "firing deadlines failed again (%d): %s; retrying in %g s",
                    failures,
                    _first_line(e),
                    poll_seconds,
                    extra=extra,
                )
            stop.wait(poll_seconds)
            continue
        if failures:
            log.info(
                "firing deadlines works again after %d failed rounds", failures, extra={"failures": failures}
            )
            failures = 0
        total += report.fired
        if report.claimed:
            stats.add(report)
            log.info(
                "fired %d deadlines%s in %.3f s; %d stale, %d left for the next round",
                report.fired,
                _kinds(report.fired_kinds),
                report.seconds,
                report.stale,
                report.claimed - report.fired - report.stale,
                extra={
                    "claimed": report.claimed,
                    "fired": report.fired,
                    "kinds": report.fired_kinds,
                    "stale": report.stale,
                    "seconds": round(report.seconds, 4),
                },
            )
        if report.claimed == 0:
            if until_idle:
                stats.stopped_by = stats.stopped_by or "idle"
                break
            stop.wait(idle_wait(report, poll_seconds))
    return total


WAKE_MARGIN = 0.001  # seconds after a deadline's due time that a worker wakes for it


def idle_wait(report: FireReport, poll_seconds: float) -> float:
    """How long a round that claimed nothing waits: until the next deadline falls due (and a
    millisecond), or the poll interval when none does within it or one is due but held by
    another worker (it will be fired or released by then)."""
    due_in = report.next_due_in
    if due_in is None or due_in <= 0:
        return poll_seconds
    return min(poll_seconds, due_in + WAKE_MARGIN)


def work(
    ctx: Context,
    *,
    poll_seconds: float = 1.0,
    batch: int = 500,
    until_idle: bool = False,
    connections: int = 1,
) -> WorkerStats:
    """`orderguard worker`: run until SIGTERM or SIGINT (or, with `until_idle`, until nothing is due).

    A signal lets the batch in hand commit, then stops the loop; a second one is handled as the
    process would have without us (SIGINT interrupts, SIGTERM terminates)."""
    stats = WorkerStats()
    stop = threading.Event()
    previous: dict[signal.Signals, object] = {}

    def stopping(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        stats.stopped_by = name
        log.info("%s received: stopping once the batch in hand is committed", name, extra={"signal": name})
        for sig, handler in previous.items():  # a second signal is not ignored
            signal.signal(sig, handler)  # type: ignore[arg-type]
        stop.set()

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, stopping)
    database = ctx.engine.url.render_as_string(hide_password=True) if ctx.engine is not None else "?"
    log.info(
        "worker started: batches of up to %d, polling every %g s, %s mode, database %s, %d connection%s",
        batch,
        poll_seconds,
        "sandbox" if ctx.sandbox else "production",
        database,
        connections,
        "" if connections == 1 else "s",
        extra={
            "batch": batch,
            "poll_seconds": poll_seconds,
            "sandbox": ctx.sandbox,
            "connections": connections,
        },
    )
    try:
        run(
            ctx,
            poll_seconds=poll_seconds,
            batch=batch,
            until_idle=until_idle,
            stop=stop,
            stats=stats,
            connections=connections,
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
    stats.ended = time.monotonic()
    log.info(
        "%s",
        stats.summary(),
        extra={
            "fired": stats.fired,
            "batches": stats.batches,
            "kinds": dict(stats.kinds),
            "stale": stats.stale,
            "failed_rounds": stats.failed_rounds,
        },
    )
    return stats


def start_in_background(ctx: Context, poll_seconds: float = 1.0) -> threading.Event:
    stop = threading.Event()
    threading.Thread(
        target=run,
        args=(ctx,),
        kwargs={"poll_seconds": poll_seconds, "stop": stop},
        name="orderguard-scheduler",
        daemon=True,
    ).start()
    return stop


def _first_line(e: BaseException) -> str:
    return next(iter(str(e).splitlines()), type(e).__name__)
