"""Sandbox mode: virtual time that fires every deadline it passes, in due order."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from orderguard.app.context import Context
from orderguard.app.deadlines import fire_due
from orderguard.domain.machine import Refusal, Refused
from orderguard.providers.clock import HORIZON, VirtualClock

_advance_lock = threading.Lock()


def virtual_clock(ctx: Context) -> VirtualClock:
    if not ctx.sandbox or not isinstance(ctx.clock, VirtualClock):
        raise Refused(Refusal("sandbox_only", "this exists only in sandbox mode", 404))
    return ctx.clock


def advance(ctx: Context, by: timedelta) -> tuple[datetime, int]:
    """Move virtual time forward by `by`; every deadline passed fires at its own due time.

    The clock steps to each due time in turn, so events carry the time the
    deadline fell due, and deadlines armed by a firing that fall due before
    the target fire too. Returns (new now, deadlines fired).

    Time stops at the sandbox's horizon (`HORIZON` after its start): a move past it is
    refused whole, with `clock_horizon_reached`, and nothing fires.
    """
    clock = virtual_clock(ctx)
    if by < timedelta(0):
        raise Refused(Refusal("clock_backwards", "virtual time only moves forward", 422))
    with _advance_lock:
        start = clock.now()
        if by > clock.horizon - start:
            raise Refused(
                Refusal(
                    "clock_horizon_reached",
                    f"the sandbox clock stops at {clock.horizon.isoformat()}, "
                    f"{HORIZON.days} days after the sandbox started; it is {start.isoformat()}",
                    409,
                )
            )
        target = start + by
        fired = 0
        idle_rounds = 0
        while True:
            with ctx.reading() as uow:
                due = uow.deadlines.next_due_at(target)
            if due is None:
                break
            clock.move_to(due)
            report = fire_due(ctx)
            fired += report.fired
            if report.claimed == 0:  # due rows held by another worker: let it finish
                idle_rounds += 1
                if idle_rounds > 500:
                    raise Refused(Refusal("scheduler_busy", "deadlines stay locked by another worker", 503))
                time.sleep(0.01)
            else:
                idle_rounds = 0
        now = clock.move_to(target)
    return now, fired
