"""The sandbox's virtual time: one row that every process shares."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from orderguard.store import tables as t

_c = t.sandbox_clock.c
_select_now = select(_c.now).where(_c.id == 1)


def init_sandbox_clock(conn: Connection, start: datetime) -> tuple[datetime, datetime]:
    """(now, started_at) as stored; when no time is stored yet, `start` for both, stored."""
    row = conn.execute(select(_c.now, _c.started_at).where(_c.id == 1)).first()
    if row is None:
        conn.execute(insert(t.sandbox_clock).values(id=1, now=start, started_at=start))
        return start, start
    return row.now, row.started_at


def sandbox_clock_now(conn: Connection) -> datetime:
    """The stored virtual time (the row exists once a VirtualClock was made)."""
    now: datetime = conn.execute(_select_now).scalar_one()
    return now


def move_sandbox_clock_to(conn: Connection, at: datetime) -> datetime:
    """Move the time to `at` unless it is already later (another process moved it); the time after."""
    conn.execute(update(t.sandbox_clock).where(_c.id == 1, _c.now < at).values(now=at))
    return sandbox_clock_now(conn)
