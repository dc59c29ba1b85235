"""Claiming due deadline rows and settling them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, func, insert, select, update

from orderguard.app.ports import DueDeadline
from orderguard.domain.frozen import constructor
from orderguard.store import tables as t
from orderguard.store.bulk import insert_rows
from orderguard.store.driver import Statement, in_list

_d = t.deadlines.c
_claim_due = Statement(  # built once: building a statement costs more than running it
    select(_d.id, _d.subject_type, _d.subject_id, _d.order_id, _d.kind, _d.due_at)
    .where(_d.state == "armed", _d.due_at <= bindparam("b_now"))
    .order_by(_d.due_at, _d.id)
    .limit(bindparam("b_limit"))
    .with_for_update(skip_locked=True)
)


_new_due = constructor(DueDeadline)


def claim_due(conn: Connection, now: datetime, limit: int) -> list[DueDeadline]:
    """The earliest armed deadlines due by `now`, locked; rows other workers hold are skipped."""
    rows = _claim_due.rows(conn, {"b_now": now, "b_limit": limit})
    return [_new_due(*row) for row in rows]


def next_due_at(conn: Connection, until: datetime) -> datetime | None:
    d = t.deadlines.c
    return conn.execute(select(func.min(d.due_at)).where(d.state == "armed", d.due_at <= until)).scalar()


def due_counts(conn: Connection, now: datetime) -> dict[str, int]:
    """Armed deadlines due by `now`, per kind: read on the partial index of armed ones by due time, so
    the cost follows the backlog, not the number armed."""
    d = t.deadlines.c
    rows = conn.execute(
        select(d.kind, func.count()).where(d.state == "armed", d.due_at <= now).group_by(d.kind)
    )
    return {kind: int(n) for kind, n in rows}


_settle = Statement.per_dialect(
    lambda array: (
        update(t.deadlines)
        .where(in_list(t.deadlines.c.id, "b_ids", array=array), t.deadlines.c.state == "armed")
        .values(state=bindparam("b_state"), settled_at=bindparam("b_at"))
    )
)


def settle(conn: Connection, outcomes: Sequence[tuple[int, str]], now: datetime) -> None:
    """outcomes: (deadline id, 'fired' | 'cancelled'); one statement per outcome, not per deadline.

    On PostgreSQL the statements are queued (`send`): they go to the server with the batch's next
    statement that is answered, in the same order, instead of costing a round trip of their own."""
    by_state: dict[str, list[int]] = {}
    for deadline_id, state in outcomes:
        by_state.setdefault(state, []).append(deadline_id)
    for state, ids in sorted(by_state.items()):
        _settle.send(conn, {"b_ids": sorted(ids), "b_state": state, "b_at": now})


_insert_deadlines = Statement(insert(t.deadlines))
_cancel_deadlines = Statement.per_dialect(
    lambda array: (
        update(t.deadlines)
        .where(
            in_list(t.deadlines.c.subject_id, "b_subjects", array=array),
            t.deadlines.c.kind == bindparam("b_kind"),
            t.deadlines.c.state == "armed",
        )
        .values(state="cancelled", settled_at=bindparam("b_now"))
    )
)


def cancel_deadlines(conn: Connection, pairs: Sequence[tuple[str, str]], now: datetime) -> None:
    """pairs: (subject_id, kind) whose armed deadlines no longer apply."""
    by_kind: dict[str, set[str]] = defaultdict(set)
    for subject_id, kind in pairs:
        by_kind[kind].add(subject_id)
    for kind, subjects in sorted(by_kind.items()):
        _cancel_deadlines.send(conn, {"b_subjects": sorted(subjects), "b_kind": kind, "b_now": now})


def arm_deadlines(
    conn: Connection, rows: Sequence[tuple[str, str, str, str, datetime]], now: datetime
) -> None:
    """rows: (subject_type, subject_id, order_id, kind, due_at)."""
    if rows:
        insert_rows(
            conn,
            _insert_deadlines,
            [
                {
                    "subject_type": st,
                    "subject_id": sid,
                    "order_id": oid,
                    "kind": kind,
                    "due_at": due,
                    "state": "armed",
                    "created_at": now,
                }
                for st, sid, oid, kind, due in rows
            ],
        )
