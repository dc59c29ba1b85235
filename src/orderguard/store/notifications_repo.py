"""Reading an account's notifications (they are written with the decisions, by orders_repo.notify)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from orderguard.store import tables as t


def notifications_of(conn: Connection, account_id: str, limit: int) -> list[dict[str, Any]]:
    """The account's latest notifications, newest first."""
    rows = conn.execute(
        select(t.notifications)
        .where(t.notifications.c.account_id == account_id)
        .order_by(t.notifications.c.id.desc())
        .limit(limit)
    )
    return [
        {"id": r.id, "kind": r.kind, "order_id": r.order_id, "text": r.text, "created_at": r.created_at}
        for r in rows
    ]
