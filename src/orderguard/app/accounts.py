"""Accounts and their bearer tokens (stored as SHA-256 digests, never in clear)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import insert, select

from orderguard.app.context import Context, Principal
from orderguard.domain.machine import Actor, Refusal, Refused
from orderguard.store import tables as t
from orderguard.store.db import reading, unit_of_work
from orderguard.store.ids import new_id

ROLES = {"buyer": Actor.BUYER, "seller": Actor.SELLER, "admin": Actor.ADMIN}


@dataclass(frozen=True, slots=True)
class NewAccount:
    id: str
    role: str
    name: str
    token: str


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_account(ctx: Context, role: str, name: str, email: str | None = None) -> NewAccount:
    if role not in ROLES:
        raise Refused(Refusal("unknown_role", "role must be buyer, seller or admin", 422))
    token = f"og_{secrets.token_urlsafe(24)}"
    account_id = new_id("acc")
    with unit_of_work(ctx.engine) as conn:
        if email and conn.execute(select(t.accounts.c.id).where(t.accounts.c.email == email)).first():
            raise Refused(Refusal("email_taken", "an account with this email exists", 409))
        conn.execute(
            insert(t.accounts).values(
                id=account_id,
                role=role,
                name=name,
                email=email,
                token_hash=token_digest(token),
                created_at=ctx.clock.now(),
            )
        )
    return NewAccount(account_id, role, name, token)


def authenticate(ctx: Context, token: str) -> Principal | None:
    with reading(ctx.engine) as conn:
        row = conn.execute(
            select(t.accounts.c.id, t.accounts.c.role).where(t.accounts.c.token_hash == token_digest(token))
        ).first()
    return Principal(row.id, ROLES[row.role]) if row else None
