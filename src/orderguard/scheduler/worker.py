"""The scheduler: claims due deadlines in batches and fires them through app/."""

from __future__ import annotations

import logging
import threading

from orderguard.app.context import Context
from orderguard.app.deadlines import fire_due

log = logging.getLogger("orderguard.scheduler")


def run(
    ctx: Context,
    *,
    poll_seconds: float = 1.0,
    batch: int = 500,
    until_idle: bool = False,
    stop: threading.Event | None = None,
) -> int:
    """Fire deadlines as they fall due until `stop` is set (or, with `until_idle`, none is due).

    Every database access of a round, the sandbox clock's reading included, is inside
    the `try`: a database outage costs rounds, never the worker.
    """
    stop = stop or threading.Event()
    total = 0
    failures = 0
    while not stop.is_set():
        try:
            report = fire_due(ctx, batch)
        except Exception as e:  # a bad round must not kill the worker; the rows stay armed
            if failures == 0:
                log.exception("firing deadlines failed; retrying")
            else:  # an outage: one line a round, not a trace a second
                log.warning("firing deadlines failed again (%d): %s", failures + 1, _first_line(e))
            failures += 1
            stop.wait(poll_seconds)
            continue
        if failures:
            log.info("firing deadlines works again after %d failed rounds", failures)
            failures = 0
        total += report.fired
        if report.claimed == 0:
            if until_idle:
                break
            stop.wait(poll_seconds)
    return total


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
