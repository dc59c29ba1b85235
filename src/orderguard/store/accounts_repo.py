"""Account rows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, insert, select

from orderguard.store import tables as t


def email_taken(conn: Connection, email: str) -> bool:
    return conn.execute(select(t.accounts.c.id).where(t.accounts.c.email == email)).first() is not None


def insert_account(
    conn: Connection,
    account_id: str,
    role: str,
    name: str,
    email: str | None,
    token_hash: str,
    created_at: datetime,
) -> None:
    conn.execute(
        insert(t.accounts).values(
            id=account_id,
            role=role,
            name=name,
            email=email,
            token_hash=token_hash,
            created_at=created_at,
        )
    )


def account_by_token_hash(conn: Connection, token_hash: str) -> tuple[str, str] | None:
    """(id, role) of the account with this token digest, if any."""
    row = conn.execute(
        select(t.accounts.c.id, t.accounts.c.role).where(t.accounts.c.token_hash == token_hash)
    ).first()
    return (row.id, row.role) if row else None


def count_accounts(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(t.accounts)).scalar_one())
