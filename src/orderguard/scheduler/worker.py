"""The scheduler: claims due deadlines in batches and fires them through app/."""

from __future__ import annotations

import logging
import threading

from orderguard.app.context import Context
from orderguard.app.deadlines import fire_due
from orderguard.providers.clock import VirtualClock

log = logging.getLogger("orderguard.scheduler")


def run(
    ctx: Context,
    *,
    poll_seconds: float = 1.0,
    batch: int = 500,
    until_idle: bool = False,
    stop: threading.Event | None = None,
) -> int:
    """Fire deadlines as they fall due until `stop` is set (or, with `until_idle`, none is due)."""
    stop = stop or threading.Event()
    total = 0
    while not stop.is_set():
        if isinstance(ctx.clock, VirtualClock):
            ctx.clock.refresh()
        try:
            report = fire_due(ctx, batch)
        except Exception:  # a bad round must not kill the worker; the rows stay armed
            log.exception("firing deadlines failed; retrying")
            stop.wait(poll_seconds)
            continue
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
