"""Idempotency keys: a request reserved per (account, key), then its response kept for replay."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, and_, delete, insert, select, update

from orderguard.store import tables as t


@dataclass(frozen=True, slots=True)
class StoredKey:
    request_hash: str
    status_code: int | None  # None while the first request is still running
    content_type: str | None
    body: str | None


def _key_is(account_id: str, key: str) -> ColumnElement[bool]:
    return and_(t.idempotency_keys.c.account_id == account_id, t.idempotency_keys.c.key == key)


def insert_key(conn: Connection, account_id: str, key: str, request_hash: str, created_at: datetime) -> None:
    """Reserve the key for a request; raises IntegrityError when the key is already there."""
    conn.execute(
        insert(t.idempotency_keys).values(
            account_id=account_id, key=key, request_hash=request_hash, created_at=created_at
        )
    )


def load_key(conn: Connection, account_id: str, key: str) -> StoredKey | None:
    row = conn.execute(select(t.idempotency_keys).where(_key_is(account_id, key))).first()
    if row is None:
        return None
    return StoredKey(row.request_hash, row.status_code, row.content_type, row.body)


def store_response(
    conn: Connection, account_id: str, key: str, status_code: int, content_type: str | None, body: str
) -> None:
    conn.execute(
        update(t.idempotency_keys)
        .where(_key_is(account_id, key))
        .values(status_code=status_code, content_type=content_type, body=body)
    )


def delete_key(conn: Connection, account_id: str, key: str) -> None:
    conn.execute(delete(t.idempotency_keys).where(_key_is(account_id, key)))
