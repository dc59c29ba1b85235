"""Idempotency keys: reserve a key for a request, keep its lease alive, remember or release it.

A request with an `Idempotency-Key` first reserves (caller, key). The reservation is held by
that attempt (a random `holder`) under a lease, which the attempt renews while it runs. When it
ends, its response is remembered for replay, or, on a server error, the key is released so a
retry runs again. A retry finds one of:
- the stored response: replayed;
- another request under the same key: 422 `idempotency_key_reused`;
- an attempt whose lease is current: 409 `idempotency_request_in_progress`;
- an attempt whose lease has passed (its process died): the retry takes the key over and runs.

Never twice at once: every writing unit of work of a request runs under `running`, which renews
the lease inside that same transaction and refuses to commit when the attempt no longer holds
the key. An attempt that was only slow (not dead) when a retry took over therefore writes
nothing and answers 409, so at most one attempt's writes ever commit. What is not covered is a
crash after the command committed and before its response was stored: the retry then runs the
command again, and it meets the state the first left (e.g. 409 `order_already_paid`).

Leases are measured on the wall clock, also in sandbox mode: they are about processes being
alive, not about the virtual time of the rules. Processes sharing a database are assumed to
agree on the time to well within a lease.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from orderguard.app.context import Principal
from orderguard.app.ports import UnitOfWork, UnitsOfWork
from orderguard.domain.machine import Refusal, Refused
from orderguard.ids import new_id
from orderguard.providers.clock import Clock, SystemClock

DEFAULT_LEASE = timedelta(seconds=30)
MAX_KEY_LENGTH = 255

KEY_REUSED = Refusal("idempotency_key_reused", "this Idempotency-Key was used for another request", 422)
IN_PROGRESS = Refusal(
    "idempotency_request_in_progress", "the first request with this Idempotency-Key is still running", 409
)
TAKEN_OVER = Refusal(
    "idempotency_request_in_progress",
    "a retry with this Idempotency-Key took over while this attempt was stalled; this attempt wrote nothing",
    409,
)
INVALID_KEY = Refusal(
    "invalid_idempotency_key", f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters", 422
)


@dataclass(frozen=True, slots=True)
class Reservation:
    """The key is held by this attempt: run the request."""

    scope: str  # the caller the key belongs to
    key: str
    holder: str


@dataclass(frozen=True, slots=True)
class Replay:
    """The stored response of the first request with this key."""

    status_code: int
    content_type: str | None
    body: bytes


class IdempotencyKeys:
    def __init__(
        self, units: UnitsOfWork, lease: timedelta = DEFAULT_LEASE, clock: Clock | None = None
    ) -> None:
        """`units`: the units of work of the keys' database."""
        if lease <= timedelta(0):
            raise ValueError("an idempotency lease must be positive")
        self._units = units
        self._clock: Clock = clock or SystemClock()
        self.lease = lease
        # Three renewals per lease: one late or failed renewal does not lose it.
        self.renew_every = lease.total_seconds() / 3

    def reserve(self, scope: str, key: str, request_hash: str) -> Reservation | Replay | Refusal:
        """Hold the key for a new attempt, or say what to answer instead."""
        answer = self._reserve(lambda _uow: scope, key, request_hash)
        assert answer is not None, "a scope given is never missing"
        return answer

    def reserve_as(
        self, caller: Callable[[UnitOfWork], Principal | None], key: str, request_hash: str
    ) -> tuple[Principal, Reservation | Replay | Refusal] | None:
        """`reserve` for the caller that `caller` finds (by their token), looked up in the same
        transaction as the key: None, and nothing written, when it finds none."""
        found: list[Principal] = []

        def scope_of(uow: UnitOfWork) -> str | None:
            principal = caller(uow)
            if principal is None:
                return None
            found.append(principal)
            return principal.id

        answer = self._reserve(scope_of, key, request_hash)
        return None if answer is None else (found[0], answer)

    def _reserve(
        self, scope_of: Callable[[UnitOfWork], str | None], key: str, request_hash: str
    ) -> Reservation | Replay | Refusal | None:
        """The scope is looked up in the first transaction (None: no caller, nothing written)."""
        holder = new_id("att")
        scope: str | None = None
        for _ in range(3):  # the key may be released or taken over between our transactions
            now = self._clock.now()
            until = now + self.lease
            with self._units.writing() as uow:
                if scope is None:
                    scope = scope_of(uow)
                    if scope is None:
                        return None
                if not key or len(key) > MAX_KEY_LENGTH:  # a caller found first: 422, not 401
                    return INVALID_KEY
                inserted = uow.idempotency.insert_key(scope, key, request_hash, holder, now, until)
            if inserted():  # a new key, the usual case: its INSERT went with the COMMIT
                return Reservation(scope, key, holder)
            with self._units.writing() as uow:
                keys = uow.idempotency
                found = keys.load_key(scope, key)
                if found is None:
                    continue
                if found.request_hash != request_hash:
                    return KEY_REUSED
                if found.status_code is not None:
                    body = (found.body or "").encode()
                    return Replay(found.status_code, found.content_type, body)
                if found.lease_until is not None and found.lease_until >= now:
                    return IN_PROGRESS
                if keys.take_over(scope, key, request_hash, holder, now, until):
                    return Reservation(scope, key, holder)
        return IN_PROGRESS

    def renew(self, held: Reservation) -> bool:
        """Extend the lease; False once this attempt no longer holds the key."""
        with self._units.writing() as uow:
            until = self._clock.now() + self.lease
            return uow.idempotency.renew_lease(held.scope, held.key, held.holder, until)

    @contextmanager
    def running(self, held: Reservation) -> Iterator[None]:
        """Around the request: each of its writing units of work commits only while the key is held."""
        with self._units.checked_before_commit(self._fence(held)):
            yield

    def _fence(self, held: Reservation) -> Callable[[UnitOfWork], None]:
        def still_held(uow: UnitOfWork) -> None:
            until = self._clock.now() + self.lease
            if not uow.idempotency.renew_lease(held.scope, held.key, held.holder, until):
                raise Refused(TAKEN_OVER)

        return still_held

    def remember(self, held: Reservation, status_code: int, content_type: str | None, body: bytes) -> bool:
        """Store the response for replay; False when the key was taken over meanwhile."""
        with self._units.writing() as uow:
            stored = uow.idempotency.store_response(
                held.scope, held.key, held.holder, status_code, content_type, body.decode()
            )
        return stored()

    def release(self, held: Reservation) -> None:
        """Free the key (the request failed on our side) so that a retry runs again."""
        with self._units.writing() as uow:
            uow.idempotency.delete_key(held.scope, held.key, held.holder)
