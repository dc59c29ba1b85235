"""Accounts and their bearer tokens (stored as SHA-256 digests, never in clear).

An account may hold several tokens. A token may expire (judged by the clock port, so
virtual time expires sandbox tokens) and may be revoked; either way it stops
authenticating at once.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from orderguard.app.context import Context, Principal
from orderguard.app.ports import TokenHolder, TokenRow, UniqueViolation, UnitOfWork
from orderguard.domain.machine import Actor, Refusal, Refused
from orderguard.ids import new_id
from orderguard.providers.clock import Clock

ROLES = {"buyer": Actor.BUYER, "seller": Actor.SELLER, "admin": Actor.ADMIN}
TOKEN_PREFIX = "og_"
MAX_TOKEN_LIFETIME = timedelta(days=3650)


@dataclass(frozen=True, slots=True)
class NewAccount:
    id: str
    role: str
    name: str
    token: str


@dataclass(frozen=True, slots=True)
class NewToken:
    id: str
    account_id: str
    token: str
    expires_at: datetime | None


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _expiry(now: datetime, expires_in: timedelta | None) -> datetime | None:
    if expires_in is None:
        return None
    if not timedelta(0) < expires_in <= MAX_TOKEN_LIFETIME:
        raise Refused(Refusal("invalid_token_lifetime", "a token lives from 1 day to 3650 days", 422))
    return now + expires_in


def create_account(
    ctx: Context, role: str, name: str, email: str | None = None, *, expires_in: timedelta | None = None
) -> NewAccount:
    """A new account and its first token.

    Two creations with one email at once: one wins, the other gets the same 409
    `email_taken` as a creation that comes after (the unique index decides the race).
    """
    if role not in ROLES:
        raise Refused(Refusal("unknown_role", "role must be buyer, seller or admin", 422))
    token = f"{TOKEN_PREFIX}{secrets.token_urlsafe(24)}"
    account_id = new_id("acc")
    taken = Refused(Refusal("email_taken", "an account with this email exists", 409))
    now = ctx.clock.now()
    expires_at = _expiry(now, expires_in)
    try:
        with ctx.uow() as uow:
            if email and uow.accounts.email_taken(email):
                raise taken
            uow.accounts.insert_account(account_id, role, name, email, now)
            uow.accounts.insert_token(new_id("tok"), account_id, token_digest(token), now, expires_at)
    except UniqueViolation:
        if email:
            with ctx.reading() as uow:
                if uow.accounts.email_taken(email):
                    raise taken from None
        raise
    return NewAccount(account_id, role, name, token)


def issue_token(ctx: Context, account_id: str, *, expires_in: timedelta | None = None) -> NewToken:
    """Another token for an existing account; its other tokens keep working."""
    token = f"{TOKEN_PREFIX}{secrets.token_urlsafe(24)}"
    token_id = new_id("tok")
    now = ctx.clock.now()
    expires_at = _expiry(now, expires_in)
    with ctx.uow() as uow:
        if not uow.accounts.account_exists(account_id):
            raise Refused(Refusal("unknown_account", f"no account {account_id}", 404))
        uow.accounts.insert_token(token_id, account_id, token_digest(token), now, expires_at)
    return NewToken(token_id, account_id, token, expires_at)


def list_tokens(ctx: Context, account_id: str) -> list[TokenRow]:
    with ctx.reading() as uow:
        if not uow.accounts.account_exists(account_id):
            raise Refused(Refusal("unknown_account", f"no account {account_id}", 404))
        return uow.accounts.account_tokens(account_id)


def revoke_token(ctx: Context, token_or_id: str) -> TokenRow:
    """Revoke one token, named by its id (tok_…) or by the token itself (og_…).

    Revoking a revoked token changes nothing: the row keeps its first revocation time.
    """
    now = ctx.clock.now()
    with ctx.uow() as uow:
        if token_or_id.startswith(TOKEN_PREFIX):
            found = uow.accounts.token_by(digest=token_digest(token_or_id))
        else:
            found = uow.accounts.token_by(token_id=token_or_id)
        if found is None:
            raise Refused(Refusal("unknown_token", "no such token", 404))
        uow.accounts.revoke_tokens(now, token_id=found.id)
        row = uow.accounts.token_by(token_id=found.id)
    assert row is not None
    return row


def revoke_all_tokens(ctx: Context, account_id: str) -> int:
    """Revoke every live token of an account; how many were live."""
    now = ctx.clock.now()
    with ctx.uow() as uow:
        if not uow.accounts.account_exists(account_id):
            raise Refused(Refusal("unknown_account", f"no account {account_id}", 404))
        return uow.accounts.revoke_tokens(now, account_id=account_id)


def authenticate(ctx: Context, token: str) -> Principal | None:
    """The holder of a live token; None for an unknown, expired or revoked one.

    One query by the token's unique digest; the clock is read only for a token that expires.
    """
    with ctx.reading() as uow:
        holder = uow.accounts.token_holder(token_digest(token))
    return _live(holder, ctx.clock)


RECENT_CALLERS_MAX = 10_000  # tokens remembered per process; when full, all are forgotten


class CallerChanged(Exception):
    """A request planned with a token's recent caller found, by its own lookup, that the token no
    longer names that caller (revoked, expired, unknown): whatever it did must be done again."""


@dataclass(frozen=True, slots=True)
class CallerAhead:
    """The caller a read-only request plans with, and `confirmed()`: whether this request's own
    lookup of the token found that same live caller. Answer the request only when it did."""

    principal: Principal | None
    confirmed: Callable[[], bool]

    @classmethod
    def settled(cls, principal: Principal | None) -> CallerAhead:
        """A caller this request has already looked up: nothing left to confirm."""
        return cls(principal, lambda: True)


def authenticate_ahead(ctx: Context, token: str) -> CallerAhead:
    """`authenticate` for a read-only request, within `ctx.units.reads_shared()`, without a round trip
    of its own: a token this process has looked up before is taken to name the same caller, and
    this request's lookup travels with its first reads (`Accounts.token_holder_later`).

    The answer may be given only if `confirmed()`: otherwise (the token was revoked or expired
    since, or its account changed) start again with `authenticate`. A write in the block waits for
    the confirmation first (`UnitsOfWork.confirm_before_writing`, raising `CallerChanged`), so
    nothing is ever done, nor shown, for a caller that this request's lookup did not find.
    A token not seen before is looked up at once, as `authenticate` does.
    """
    digest = token_digest(token)
    recent = ctx.recent_callers.get(digest)
    if recent is None:
        found = authenticate(ctx, token)
        if found is not None:
            _remember(ctx.recent_callers, digest, found)
        return CallerAhead.settled(found)
    with ctx.reading() as uow:
        holder = uow.accounts.token_holder_later(digest)

    @functools.cache  # asked by the route and by a write in the request: one answer
    def confirmed() -> bool:
        same = _live(holder(), ctx.clock) == recent
        if not same:
            ctx.recent_callers.pop(digest, None)
        return same

    def before_writing() -> None:
        if not confirmed():
            raise CallerChanged("the token no longer names the caller this request was planned with")

    ctx.units.confirm_before_writing(before_writing)
    return CallerAhead(recent, confirmed)


def _remember(recent: dict[str, Principal], digest: str, caller: Principal) -> None:
    if len(recent) >= RECENT_CALLERS_MAX:
        recent.clear()  # one lookup each brings them back; no eviction order to keep across threads
    recent[digest] = caller


def token_caller(token: str, clock: Clock) -> Callable[[UnitOfWork], Principal | None]:
    """`authenticate` within a unit of work the caller already has open (e.g. the one reserving
    the request's Idempotency-Key): the same lookup and the same answers, one transaction fewer."""

    def caller(uow: UnitOfWork) -> Principal | None:
        return _live(uow.accounts.token_holder(token_digest(token)), clock)

    return caller


def _live(holder: TokenHolder | None, clock: Clock) -> Principal | None:
    if holder is None or holder.revoked_at is not None:
        return None
    if holder.expires_at is not None and holder.expires_at <= clock.now():
        return None
    return Principal(holder.account_id, ROLES[holder.role])
