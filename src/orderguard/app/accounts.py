"""Accounts and their bearer tokens (stored as SHA-256 digests, never in clear)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from orderguard.app.context import Context, Principal
from orderguard.domain.machine import Actor, Refusal, Refused
from orderguard.store.accounts_repo import account_by_token_hash, email_taken, insert_account
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
        if email and email_taken(conn, email):
            raise Refused(Refusal("email_taken", "an account with this email exists", 409))
        insert_account(conn, account_id, role, name, email, token_digest(token), ctx.clock.now())
    return NewAccount(account_id, role, name, token)


def authenticate(ctx: Context, token: str) -> Principal | None:
    with reading(ctx.engine) as conn:
        found = account_by_token_hash(conn, token_digest(token))
    if found is None:
        return None
    account_id, role = found
    return Principal(account_id, ROLES[role])
