"""Idempotency-Key reservations under a lease (issue #7, item 5), on a wall clock the test moves.

A reservation whose holder stops renewing it (its process died) is taken over once its lease
has passed; one that is renewed is not; and an attempt that lost its key can neither commit a
write nor store a response, so a request never takes effect twice.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from orderguard.app import accounts, catalogue
from orderguard.app.context import Context, Principal
from orderguard.app.idempotency import (
    IN_PROGRESS,
    KEY_REUSED,
    TAKEN_OVER,
    IdempotencyKeys,
    Replay,
    Reservation,
)
from orderguard.domain.machine import Actor, Refusal, Refused
from orderguard.providers.clock import FixedClock
from orderguard.store import tables as t
from orderguard.store.db import reading

T0 = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


@pytest.fixture
def wall() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def keys(ctx: Context, wall: FixedClock) -> IdempotencyKeys:
    return IdempotencyKeys(ctx.units, LEASE, wall)


@pytest.fixture
def seller(ctx: Context) -> Principal:
    return Principal(accounts.create_account(ctx, "seller", "Sam").id, Actor.SELLER)


def _reserved(found: Reservation | Replay | Refusal) -> Reservation:
    assert isinstance(found, Reservation), found
    return found


def _stores(ctx: Context) -> int:
    with reading(ctx.engine) as conn:
        return int(conn.execute(select(func.count()).select_from(t.stores)).scalar_one())


def test_a_key_in_progress_is_refused_until_its_lease_passes_then_taken_over(
    keys: IdempotencyKeys, wall: FixedClock
) -> None:
    first = _reserved(keys.reserve("acc_a", "k", "h1"))
    wall.set(T0 + LEASE)  # the last instant of the lease
    assert keys.reserve("acc_a", "k", "h1") == IN_PROGRESS
    assert keys.reserve("acc_a", "k", "other body") == KEY_REUSED
    assert _reserved(keys.reserve("acc_b", "k", "h1")).scope == "acc_b"  # another caller's key

    wall.set(T0 + LEASE + timedelta(milliseconds=1))
    second = _reserved(keys.reserve("acc_a", "k", "h1"))
    assert second.holder != first.holder
    assert keys.reserve("acc_a", "k", "h1") == IN_PROGRESS  # the new holder's lease is fresh


def test_a_renewed_lease_is_not_taken_over(keys: IdempotencyKeys, wall: FixedClock) -> None:
    held = _reserved(keys.reserve("acc_a", "k", "h"))
    for seconds in (20, 40, 60):
        wall.set(T0 + timedelta(seconds=seconds))
        assert keys.renew(held)
    wall.set(T0 + timedelta(seconds=60) + LEASE)
    assert keys.reserve("acc_a", "k", "h") == IN_PROGRESS
    wall.set(T0 + timedelta(seconds=61) + LEASE)
    assert isinstance(keys.reserve("acc_a", "k", "h"), Reservation)


def test_an_attempt_that_lost_its_key_writes_nothing_and_stores_nothing(
    ctx: Context, keys: IdempotencyKeys, wall: FixedClock, seller: Principal
) -> None:
    stalled = _reserved(keys.reserve(seller.id, "k", "h"))
    wall.set(T0 + LEASE + timedelta(seconds=1))
    retry = _reserved(keys.reserve(seller.id, "k", "h"))
    before = _stores(ctx)

    with keys.running(stalled), pytest.raises(Refused) as refused:
        catalogue.create_store(ctx, seller, "Stalled")
    assert refused.value.refusal == TAKEN_OVER
    assert _stores(ctx) == before  # its transaction was rolled back
    assert not keys.renew(stalled)
    assert not keys.remember(stalled, 201, "application/json", b'{"stalled": true}')
    keys.release(stalled)  # does not free the key the retry holds

    with keys.running(retry):
        catalogue.create_store(ctx, seller, "Retry")
    assert _stores(ctx) == before + 1
    assert keys.remember(retry, 201, "application/json", b'{"retry": true}')
    assert keys.reserve(seller.id, "k", "h") == Replay(201, "application/json", b'{"retry": true}')


def test_each_write_of_a_running_request_renews_its_lease(
    ctx: Context, keys: IdempotencyKeys, wall: FixedClock, seller: Principal
) -> None:
    held = _reserved(keys.reserve(seller.id, "k", "h"))
    wall.set(T0 + timedelta(seconds=25))
    with keys.running(held):
        catalogue.create_store(ctx, seller, "Slow")
    wall.set(T0 + timedelta(seconds=25) + LEASE)
    assert keys.reserve(seller.id, "k", "h") == IN_PROGRESS


def test_outside_running_writes_are_not_checked(
    ctx: Context, keys: IdempotencyKeys, wall: FixedClock, seller: Principal
) -> None:
    stalled = _reserved(keys.reserve(seller.id, "k", "h"))
    wall.set(T0 + LEASE + timedelta(seconds=1))
    _reserved(keys.reserve(seller.id, "k", "h"))
    with keys.running(stalled):
        pass
    catalogue.create_store(ctx, seller, "Unrelated")  # no key: the fence is gone


def test_a_released_key_runs_again(keys: IdempotencyKeys) -> None:
    held = _reserved(keys.reserve("acc_a", "k", "h"))
    keys.release(held)
    assert isinstance(keys.reserve("acc_a", "k", "h"), Reservation)


def test_a_key_left_in_progress_before_leases_existed_is_taken_over_at_once(
    ctx: Context, keys: IdempotencyKeys
) -> None:
    """Migration 0003 leaves such keys without holder or lease: they were stuck for good before."""
    with ctx.engine.begin() as conn:
        conn.execute(
            insert(t.idempotency_keys).values(account_id="acc_a", key="k", request_hash="h", created_at=T0)
        )
    assert isinstance(keys.reserve("acc_a", "k", "h"), Reservation)


@pytest.mark.postgres_only
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_of_many_retries_of_a_dead_request_exactly_one_takes_over(ctx: Context) -> None:
    wall = FixedClock(T0)
    keys = IdempotencyKeys(ctx.units, LEASE, wall)
    _reserved(keys.reserve("acc_a", "k", "h"))
    wall.set(T0 + LEASE + timedelta(seconds=1))
    threads, barrier = 20, threading.Barrier(20)
    outcomes: list[str] = []

    def retry() -> None:
        barrier.wait()
        found = keys.reserve("acc_a", "k", "h")
        outcomes.append("reserved" if isinstance(found, Reservation) else str(found))

    workers = [threading.Thread(target=retry) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert Counter(outcomes) == {"reserved": 1, str(IN_PROGRESS): threads - 1}


def test_invalid_keys_are_refused(keys: IdempotencyKeys) -> None:
    for key in ("", "k" * 256):
        found = keys.reserve("acc_a", key, "h")
        assert isinstance(found, Refusal) and found.code == "invalid_idempotency_key"
