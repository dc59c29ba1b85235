"""The clock port. Nothing else in OrderGuard reads the system time.

`SystemClock` is production. `VirtualClock` is sandbox mode: time stands
still until `move_to` moves it, and it is kept in the database so that the
API and any number of worker processes share one virtual time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import Engine, event

from orderguard import on_loop
from orderguard.store.clock_repo import init_sandbox_clock, move_sandbox_clock_to, sandbox_clock_now
from orderguard.store.db import make_engine, reading, unit_of_work

# How far a sandbox's time may go from its start: ten calendar years (at most three leap days).
# Far enough for any lifecycle in the policy, and far from datetime's year 9999.
HORIZON = timedelta(days=10 * 365 + 3)


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that says what it is told; for tests and benchmarks in-process."""

    def __init__(self, at: datetime) -> None:
        self._at = at

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at


class VirtualClock:
    """Sandbox time, kept in the `sandbox_clock` row: one truth for every process.

    `now()` reads the row every time, so a process never acts on a time that another
    process has moved since (a cached time gave orders placed by a second API process
    the wrong pay-by). The reading is one primary-key query on a small connection pool
    of the clock's own: a use case that reads the time while it holds a connection of
    the main pool never waits for a second one from the same pool.
    """

    def __init__(self, engine: Engine, start: datetime | None = None) -> None:
        self._engine = engine
        first = start or datetime.now(UTC).replace(microsecond=0)  # kept only if no time is stored yet
        with unit_of_work(engine) as conn:
            _, self.started_at = init_sandbox_clock(conn, first)
        url = engine.url.render_as_string(hide_password=False)
        # Room for every function on the event loop at once (orderguard/on_loop.py), each reading
        # the time: one that found this pool empty would block the loop, and the readers with it.
        pool = {} if engine.dialect.name == "sqlite" else {"pool_size": 2, "max_overflow": on_loop.AT_ONCE}
        self._reader = make_engine(url, **pool)
        event.listen(engine, "engine_disposed", lambda _engine: self._reader.dispose())

    @property
    def horizon(self) -> datetime:
        """The latest time this sandbox may reach."""
        try:
            return self.started_at + HORIZON
        except OverflowError:  # a sandbox started near year 9999, before the horizon existed
            return datetime.max.replace(tzinfo=UTC)

    def now(self) -> datetime:
        with reading(self._reader) as conn:
            return sandbox_clock_now(conn)

    def move_to(self, at: datetime) -> datetime:
        """Move the shared time forward to `at`; never backwards: when another process has
        already moved it further, it stays. Returns the time after the move."""
        with unit_of_work(self._engine) as conn:
            return move_sandbox_clock_to(conn, at)
