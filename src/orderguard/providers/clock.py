"""The clock port. Nothing else in OrderGuard reads the system time.

`SystemClock` is production. `VirtualClock` is sandbox mode: time stands
still until `advance` moves it, and it is kept in the database so that the
API and any number of worker processes share one virtual time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import Engine, insert, select, update

from orderguard.store import tables as t
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
        with unit_of_work(engine) as conn:
            stored = conn.execute(select(t.sandbox_clock.c.now).where(t.sandbox_clock.c.id == 1)).scalar()
            if stored is None:
                stored = start or datetime.now(UTC).replace(microsecond=0)
                conn.execute(insert(t.sandbox_clock).values(id=1, now=stored))
        self._now: datetime = stored

    def now(self) -> datetime:
        return self._now

    def refresh(self) -> datetime:
        """Read the shared time again (another process may have moved it)."""
        with reading(self._engine) as conn:
            self._now = conn.execute(
                select(t.sandbox_clock.c.now).where(t.sandbox_clock.c.id == 1)
            ).scalar_one()
        return self._now

    def set(self, at: datetime) -> None:
        if at < self._now:
            raise ValueError("the virtual clock never goes backwards")
        with unit_of_work(self._engine) as conn:
            conn.execute(update(t.sandbox_clock).where(t.sandbox_clock.c.id == 1).values(now=at))
        self._now = at
