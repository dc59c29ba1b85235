"""Claiming due deadline rows and settling them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, func, select, update

from orderguard.store import tables as t


@dataclass(frozen=True, slots=True)
class DueDeadline:
    id: int
    subject_type: str
    subject_id: str
    order_id: str
    kind: str
    due_at: datetime


def claim_due(conn: Connection, now: datetime, limit: int) -> list[DueDeadline]:
    """The earliest armed deadlines due by `now`, locked; rows other workers hold are skipped."""
    d = t.deadlines.c
    rows = conn.execute(
        select(d.id, d.subject_type, d.subject_id, d.order_id, d.kind, d.due_at)
        .where(d.state == "armed", d.due_at <= now)
        .order_by(d.due_at, d.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [DueDeadline(*row) for row in rows]


def next_due_at(conn: Connection, until: datetime) -> datetime | None:
    d = t.deadlines.c
    return conn.execute(select(func.min(d.due_at)).where(d.state == "armed", d.due_at <= until)).scalar()


_settle = (
    update(t.deadlines)
    .where(t.deadlines.c.id == bindparam("b_id"), t.deadlines.c.state == "armed")
    .values(state=bindparam("b_state"), settled_at=bindparam("b_at"))
)


def settle(conn: Connection, outcomes: Sequence[tuple[int, str]], now: datetime) -> None:
    """outcomes: (deadline id, 'fired' | 'cancelled')."""
    if outcomes:
        conn.execute(_settle, [{"b_id": i, "b_state": s, "b_at": now} for i, s in outcomes])
