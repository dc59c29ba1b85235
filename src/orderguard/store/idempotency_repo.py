"""Idempotency keys: a request reserved per (account, key) under a lease, then its response kept for replay.

Every change to a key in progress names its holder, so an attempt whose lease was taken over
can neither renew it, store its response nor release the key of the attempt that took over.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, bindparam, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from orderguard.app.ports import StoredKey
from orderguard.store import tables as t
from orderguard.store.driver import Statement

_k = t.idempotency_keys.c
# Every POST with a key runs three of these (reserve, the fence in the command's unit, the stored
# answer): built once.
_key_is: ColumnElement[bool] = and_(_k.account_id == bindparam("b_account"), _k.key == bindparam("b_key"))
_held_by = and_(_key_is, _k.holder == bindparam("b_holder"), _k.status_code.is_(None))


def _insert_statement(insert: Any) -> Any:
    return insert(t.idempotency_keys).on_conflict_do_nothing()


_insert = Statement(_insert_statement(sqlite.insert), postgresql=_insert_statement(postgresql.insert))
_load = Statement(
    select(_k.request_hash, _k.status_code, _k.content_type, _k.body, _k.holder, _k.lease_until).where(
        _key_is
    )
)
_take_over = Statement(
    update(t.idempotency_keys)
    .where(
        _key_is,
        _k.request_hash == bindparam("b_hash"),
        _k.status_code.is_(None),
        or_(_k.lease_until.is_(None), _k.lease_until < bindparam("b_now")),
    )
    .values(holder=bindparam("b_new_holder"), lease_until=bindparam("b_until"))
)
_renew = Statement(update(t.idempotency_keys).where(_held_by).values(lease_until=bindparam("b_until")))
_store = Statement(
    update(t.idempotency_keys)
    .where(_held_by)
    .values(
        status_code=bindparam("b_status"),
        content_type=bindparam("b_content_type"),
        body=bindparam("b_body"),
        holder=None,
        lease_until=None,
    )
)
_delete = Statement(delete(t.idempotency_keys).where(_held_by))


def insert_key(
    conn: Connection,
    account_id: str,
    key: str,
    request_hash: str,
    holder: str,
    created_at: datetime,
    lease_until: datetime,
) -> Callable[[], bool]:
    """Reserve a new key for `holder`; whether it was new (False: the key is there already, nothing
    is written) is known once the unit has committed: the INSERT travels with the COMMIT."""
    values = {
        "account_id": account_id,
        "key": key,
        "request_hash": request_hash,
        "created_at": created_at,
        "holder": holder,
        "lease_until": lease_until,
    }
    return _changes_one_row(_insert, conn, values)


def load_key(conn: Connection, account_id: str, key: str) -> StoredKey | None:
    rows = _load.rows(conn, {"b_account": account_id, "b_key": key})
    return StoredKey(*rows[0]) if rows else None


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
    params = {
        "b_account": account_id,
        "b_key": key,
        "b_hash": request_hash,
        "b_now": now,
        "b_new_holder": holder,
        "b_until": lease_until,
    }
    return _take_over.run(conn, params) == 1


def renew_lease(conn: Connection, account_id: str, key: str, holder: str, lease_until: datetime) -> bool:
    """Extend the lease; False when `holder` no longer holds the key."""
    params = {"b_account": account_id, "b_key": key, "b_holder": holder, "b_until": lease_until}
    return _renew.run(conn, params) == 1


def store_response(
    conn: Connection,
    account_id: str,
    key: str,
    holder: str,
    status_code: int,
    content_type: str | None,
    body: str,
) -> Callable[[], bool]:
    """Keep the response for replay; whether it was kept (False: `holder` no longer holds the key)
    is known once the unit has committed: the UPDATE travels with the COMMIT."""
    params = {
        "b_account": account_id,
        "b_key": key,
        "b_holder": holder,
        "b_status": status_code,
        "b_content_type": content_type,
        "b_body": body,
    }
    return _changes_one_row(_store, conn, params)


def _changes_one_row(statement: Statement, conn: Connection, params: dict[str, Any]) -> Callable[[], bool]:
    """Send the write with the unit's next exchange; whether it changed a row, once it has gone."""
    counted = statement.send_counted(conn, params)
    return lambda: counted.rowcount == 1


def delete_key(conn: Connection, account_id: str, key: str, holder: str) -> None:
    """Free the key for a retry, if `holder` still holds it."""
    _delete.send(conn, {"b_account": account_id, "b_key": key, "b_holder": holder})
