"""Account rows and their bearer tokens (digests only)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from orderguard.app.ports import TokenHolder, TokenRow
from orderguard.store import tables as t
from orderguard.store.driver import Statement, read_later


def email_taken(conn: Connection, email: str) -> bool:
    return conn.execute(select(t.accounts.c.id).where(t.accounts.c.email == email)).first() is not None


def account_exists(conn: Connection, account_id: str) -> bool:
    return conn.execute(select(t.accounts.c.id).where(t.accounts.c.id == account_id)).first() is not None


def insert_account(
    conn: Connection, account_id: str, role: str, name: str, email: str | None, created_at: datetime
) -> None:
    conn.execute(
        insert(t.accounts).values(id=account_id, role=role, name=name, email=email, created_at=created_at)
    )


def insert_token(
    conn: Connection,
    token_id: str,
    account_id: str,
    digest: str,
    created_at: datetime,
    expires_at: datetime | None,
) -> None:
    conn.execute(
        insert(t.tokens).values(
            id=token_id, digest=digest, account_id=account_id, created_at=created_at, expires_at=expires_at
        )
    )


_k = t.tokens.c
# Every authenticated request runs it: built once.
_token_holder = Statement(
    select(t.accounts.c.id, t.accounts.c.role, _k.expires_at, _k.revoked_at)
    .select_from(t.tokens.join(t.accounts, t.accounts.c.id == _k.account_id))
    .where(_k.digest == bindparam("b_digest"))
)


def token_holder(conn: Connection, digest: str) -> TokenHolder | None:
    """Who holds the token with this digest (one lookup by the unique digest index)."""
    return _holder(_token_holder.rows(conn, {"b_digest": digest}))


def token_holder_later(conn: Connection, digest: str) -> Callable[[], TokenHolder | None]:
    """`token_holder`, sent with the unit's next statements (`driver.read_later`)."""
    return read_later(conn, ([(_token_holder, {"b_digest": digest})], _holder))


def _holder(rows: list[tuple[Any, ...]]) -> TokenHolder | None:
    return TokenHolder(*rows[0]) if rows else None


def account_tokens(conn: Connection, account_id: str) -> list[TokenRow]:
    rows = conn.execute(
        select(_k.id, _k.account_id, _k.created_at, _k.expires_at, _k.revoked_at)
        .where(_k.account_id == account_id)
        .order_by(_k.created_at, _k.id)
    )
    return [TokenRow(*row) for row in rows]


def token_by(conn: Connection, *, token_id: str | None = None, digest: str | None = None) -> TokenRow | None:
    where = _k.id == token_id if token_id is not None else _k.digest == digest
    row = conn.execute(
        select(_k.id, _k.account_id, _k.created_at, _k.expires_at, _k.revoked_at).where(where)
    ).first()
    return TokenRow(*row) if row else None


def revoke_tokens(
    conn: Connection, at: datetime, *, token_id: str | None = None, account_id: str | None = None
) -> int:
    """Revoke one token or every live token of an account; how many were revoked now."""
    where = _k.id == token_id if token_id is not None else _k.account_id == account_id
    return conn.execute(update(t.tokens).where(where, _k.revoked_at.is_(None)).values(revoked_at=at)).rowcount


def count_accounts(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(t.accounts)).scalar_one())
