"""Messages on orders (R4.7): written one at a time under the order's lock, read oldest first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select

from orderguard.domain.messages import Message
from orderguard.store import tables as t

_m = t.messages.c


def insert_message(
    conn: Connection,
    order_id: str,
    author_id: str,
    author_role: str,
    body: str,
    created_at: datetime,
    dispute_id: str | None = None,
) -> Message:
    row = conn.execute(
        insert(t.messages)
        .values(
            order_id=order_id,
            author_id=author_id,
            author_role=author_role,
            body=body,
            created_at=created_at,
            dispute_id=dispute_id,
        )
        .returning(_m.id)
    ).one()
    return Message(row.id, order_id, author_id, author_role, body, created_at)


def messages_page(
    conn: Connection, order_id: str, after: int | None, limit: int, dispute_id: str | None = None
) -> list[Message]:
    """Up to `limit` of the order's messages (those of one of its disputes, with `dispute_id`),
    oldest first, after the message with id `after`."""
    query = select(_m.id, _m.order_id, _m.author_id, _m.author_role, _m.body, _m.created_at).where(
        _m.order_id == order_id
    )
    query = query.where(_m.dispute_id == dispute_id if dispute_id is not None else _m.dispute_id.is_(None))
    if after is not None:
        query = query.where(_m.id > after)
    return [Message(*row) for row in conn.execute(query.order_by(_m.id).limit(limit))]
