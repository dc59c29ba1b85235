"""The sandbox's virtual time: one row that every process shares."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from orderguard.store import tables as t

_select_now = select(t.sandbox_clock.c.now).where(t.sandbox_clock.c.id == 1)


def init_sandbox_clock(conn: Connection, start: datetime) -> datetime:
    """The stored virtual time; when there is none yet, `start`, stored."""
    stored: datetime | None = conn.execute(_select_now).scalar()
    if stored is None:
        stored = start
        conn.execute(insert(t.sandbox_clock).values(id=1, now=stored))
    return stored


def sandbox_clock_now(conn: Connection) -> datetime:
    """The stored virtual time (the row exists once a VirtualClock was made)."""
    now: datetime = conn.execute(_select_now).scalar_one()
    return now


def set_sandbox_clock(conn: Connection, at: datetime) -> None:
    conn.execute(update(t.sandbox_clock).where(t.sandbox_clock.c.id == 1).values(now=at))
