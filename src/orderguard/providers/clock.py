"""The clock port. Nothing else in OrderGuard reads the system time.

`SystemClock` is production. `VirtualClock` is sandbox mode: time stands
still until `advance` moves it, and it is kept in the database so that the
API and any number of worker processes share one virtual time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import Engine

from orderguard.store.clock_repo import init_sandbox_clock, sandbox_clock_now, set_sandbox_clock
from orderguard.store.db import reading, unit_of_work


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
    """Sandbox time, shared through the `sandbox_clock` row; it never goes backwards."""

    def __init__(self, engine: Engine, start: datetime | None = None) -> None:
        self._engine = engine
        first = start or datetime.now(UTC).replace(microsecond=0)  # kept only if no time is stored yet
        with unit_of_work(engine) as conn:
            self._now: datetime = init_sandbox_clock(conn, first)

    def now(self) -> datetime:
        return self._now

    def refresh(self) -> datetime:
        """Read the shared time again (another process may have moved it)."""
        with reading(self._engine) as conn:
            self._now = sandbox_clock_now(conn)
        return self._now

    def set(self, at: datetime) -> None:
        if at < self._now:
            raise ValueError("the virtual clock never goes backwards")
        with unit_of_work(self._engine) as conn:
            set_sandbox_clock(conn, at)
        self._now = at
