"""Event rows: the audit trail and every order's timeline."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, insert

from orderguard.domain.decision import Event
from orderguard.store import tables as t
from orderguard.store.bulk import insert_rows
from orderguard.store.driver import Statement

_insert_events = Statement(insert(t.events))


def write_events(conn: Connection, rows: Sequence[tuple[str, str, str, Event]]) -> None:
    """rows: (order_id, subject_type, subject_id, domain Event)."""
    if rows:
        insert_rows(
            conn,
            _insert_events,
            [
                {
                    "order_id": order_id,
                    "subject_type": subject_type,
                    "subject_id": subject_id,
                    "kind": e.kind,
                    "actor": str(e.actor),
                    "actor_id": e.actor_id,
                    "rule": e.rule,
                    "data": e.data,
                    "occurred_at": e.at,
                }
                for order_id, subject_type, subject_id, e in rows
            ],
        )
