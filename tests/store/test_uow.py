"""store/uow.py, the SQL side of app/'s unit-of-work port, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orderguard.app.context import Context
from orderguard.app.ports import UniqueViolation, UnitOfWork
from orderguard.domain.machine import Refusal, Refused
from orderguard.store.deadlines_repo import arm_deadlines

AT = datetime(2026, 3, 1, tzinfo=UTC)


def _account_count(ctx: Context) -> int:
    with ctx.reading() as uow:
        return uow.accounts.count_accounts()


def test_a_writing_unit_commits_when_its_block_ends(ctx: Context) -> None:
    with ctx.uow() as uow:
        uow.accounts.insert_account("acc_1", "buyer", "Ann", None, AT)
    with ctx.reading() as uow:
        assert uow.accounts.account_exists("acc_1")


def test_a_writing_unit_rolls_back_when_its_block_raises(ctx: Context) -> None:
    with pytest.raises(Refused), ctx.uow() as uow:
        uow.accounts.insert_account("acc_1", "buyer", "Ann", None, AT)
        raise Refused(Refusal("nope", "refused after a write", 409))
    assert _account_count(ctx) == 0


def test_a_unique_key_met_is_a_unique_violation_and_writes_nothing(ctx: Context) -> None:
    with ctx.uow() as uow:
        uow.accounts.insert_account("acc_1", "buyer", "Ann", "ann@example.com", AT)
    with pytest.raises(UniqueViolation), ctx.uow() as uow:
        uow.accounts.insert_account("acc_2", "buyer", "Other Ann", None, AT)
        uow.accounts.insert_account("acc_3", "buyer", "Ann again", "ann@example.com", AT)
    assert _account_count(ctx) == 1


def test_the_before_commit_check_runs_in_every_writing_unit_and_may_refuse_it(ctx: Context) -> None:
    seen: list[bool] = []

    def check(uow: UnitOfWork) -> None:
        seen.append(uow.accounts.account_exists("acc_1"))  # sees the unit's own writes
        if len(seen) == 2:
            raise Refused(Refusal("fenced", "no longer allowed to commit", 409))

    with ctx.units.checked_before_commit(check):
        with ctx.uow() as uow:
            uow.accounts.insert_account("acc_1", "buyer", "Ann", None, AT)
        with pytest.raises(Refused), ctx.uow() as uow:
            uow.accounts.insert_account("acc_2", "buyer", "Bob", None, AT)
        with ctx.reading() as uow:  # reading units are not checked
            assert uow.accounts.count_accounts() == 1
    with ctx.uow() as uow:  # outside the block, no check
        uow.accounts.insert_account("acc_3", "buyer", "Cy", None, AT)
    assert seen == [True, True]
    assert _account_count(ctx) == 2


def test_the_reading_units_of_a_shared_block_are_one_transaction_ended_with_the_block(ctx: Context) -> None:
    with ctx.units.reads_shared():
        with ctx.reading() as first:
            assert first.accounts.count_accounts() == 0
        with ctx.reading() as second:
            assert second is first
        assert ctx.engine.pool.checkedout() == 1  # held between the units of the block
    assert ctx.engine.pool.checkedout() == 0
    with ctx.reading() as a, ctx.reading() as b:  # outside a block, each unit is its own
        assert a is not b


def test_a_write_in_a_shared_block_ends_its_snapshot_so_later_reads_see_it(ctx: Context) -> None:
    with ctx.units.reads_shared():
        with ctx.reading() as before:
            assert before.accounts.count_accounts() == 0
        with ctx.uow() as uow:
            uow.accounts.insert_account("acc_1", "buyer", "Ann", None, AT)
        with ctx.reading() as after:
            assert after is not before
            assert after.accounts.count_accounts() == 1
    assert ctx.engine.pool.checkedout() == 0


def test_a_write_inside_a_shared_reading_unit_leaves_that_unit_usable(ctx: Context) -> None:
    with ctx.units.reads_shared(), ctx.reading() as reader:
        reader.accounts.count_accounts()
        with ctx.uow() as uow:
            uow.accounts.insert_account("acc_1", "buyer", "Ann", None, AT)
            assert ctx.engine.pool.checkedout() == 2  # the reader's connection is still its own
        assert reader.accounts.count_accounts() in (0, 1)  # a snapshot (SQLite) or read committed
        with ctx.reading() as again:
            assert again is reader
    assert ctx.engine.pool.checkedout() == 0


def test_a_shared_block_that_raises_gives_its_connection_back(ctx: Context) -> None:
    with pytest.raises(Refused), ctx.units.reads_shared():
        with ctx.reading() as uow:
            uow.accounts.count_accounts()
        raise Refused(Refusal("nope", "refused after a read", 404))
    assert ctx.engine.pool.checkedout() == 0
    with ctx.uow() as uow:  # the database is not left locked
        uow.accounts.insert_account("acc_1", "buyer", "Ann", None, AT)


def test_a_subject_holds_at_most_one_armed_deadline_of_a_kind(ctx: Context) -> None:
    """Migration 0016: what lets a firing settle its deadline without cancelling others of its kind."""
    pay_by = [("order", "ord_1", "ord_1", "pay_by", AT)]
    with ctx.uow() as uow:
        arm_deadlines(uow.conn, pay_by, AT)
    with pytest.raises(UniqueViolation), ctx.uow() as uow:
        arm_deadlines(uow.conn, pay_by, AT)
    with ctx.uow() as uow:  # once settled it no longer counts: the kind can be armed again
        (fired,) = uow.deadlines.claim_due(AT, 10)
        uow.deadlines.settle([(fired.id, "fired")], AT)
        arm_deadlines(uow.conn, [*pay_by, ("order", "ord_1", "ord_1", "ship_by", AT)], AT)
    with ctx.reading() as uow:
        assert sorted(uow.deadlines.armed_deadline_dues("ord_1")) == [
            ("order", "pay_by", AT),
            ("order", "ship_by", AT),
        ]
