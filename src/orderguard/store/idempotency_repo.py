"""Idempotency keys: a request reserved per (account, key) under a lease, then its response kept for replay.

Every change to a key in progress names its holder, so an attempt whose lease was taken over
can neither renew it, store its response nor release the key of the attempt that took over.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Connection, and_, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from orderguard.app.ports import StoredKey
from orderguard.store import tables as t

_k = t.idempotency_keys.c


def _key_is(account_id: str, key: str) -> ColumnElement[bool]:
    return and_(_k.account_id == account_id, _k.key == key)


def _held_by(account_id: str, key: str, holder: str) -> ColumnElement[bool]:
    return and_(_key_is(account_id, key), _k.holder == holder, _k.status_code.is_(None))


def insert_key(
    conn: Connection,
    account_id: str,
    key: str,
    request_hash: str,
    holder: str,
    created_at: datetime,
    lease_until: datetime,
) -> bool:
    """Reserve a new key for `holder`; False when the key is already there (nothing is written)."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    values = {
        "account_id": account_id,
        "key": key,
        "request_hash": request_hash,
        "created_at": created_at,
        "holder": holder,
        "lease_until": lease_until,
    }
    statement = insert(t.idempotency_keys).values(values).on_conflict_do_nothing().returning(_k.key)
    return conn.execute(statement).first() is not None


def load_key(conn: Connection, account_id: str, key: str) -> StoredKey | None:
    row = conn.execute(select(t.idempotency_keys).where(_key_is(account_id, key))).first()
    if row is None:
        return None
    return StoredKey(
        row.request_hash, row.status_code, row.content_type, row.body, row.holder, row.lease_until
    )


def take_over(
    conn: Connection,
    account_id: str,
    key: str,
    request_hash: str,
    holder: str,
    now: datetime,
    lease_until: datetime,
) -> bool:
    """Hand a key in progress whose lease has passed to `holder`; False when it is not (any more) so."""
    lapsed = or_(_k.lease_until.is_(None), _k.lease_until < now)
    result = conn.execute(
        update(t.idempotency_keys)
        .where(_key_is(account_id, key), _k.request_hash == request_hash, _k.status_code.is_(None), lapsed)
        .values(holder=holder, lease_until=lease_until)
    )
    return result.rowcount == 1


def renew_lease(conn: Connection, account_id: str, key: str, holder: str, lease_until: datetime) -> bool:
    """Extend the lease; False when `holder` no longer holds the key."""
    result = conn.execute(
        update(t.idempotency_keys).where(_held_by(account_id, key, holder)).values(lease_until=lease_until)
    )
    return result.rowcount == 1


def store_response(
    conn: Connection,
    account_id: str,
    key: str,
    holder: str,
    status_code: int,
    content_type: str | None,
    body: str,
) -> bool:
    """Keep the response for replay; False when `holder` no longer holds the key."""
    result = conn.execute(
        update(t.idempotency_keys)
        .where(_held_by(account_id, key, holder))
        .values(status_code=status_code, content_type=content_type, body=body, holder=None, lease_until=None)
    )
    return result.rowcount == 1


def delete_key(conn: Connection, account_id: str, key: str, holder: str) -> None:
    """Free the key for a retry, if `holder` still holds it."""
    conn.execute(delete(t.idempotency_keys).where(_held_by(account_id, key, holder)))
