"""store/uow.py, the SQL side of app/'s unit-of-work port, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orderguard.app.context import Context
from orderguard.app.ports import UniqueViolation, UnitOfWork
from orderguard.domain.machine import Refusal, Refused

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
