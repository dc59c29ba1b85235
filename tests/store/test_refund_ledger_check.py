"""`orderguard ledger check` reconciles refunds with the ledger (R5.3, R9.2): refunds never exceed what
was captured, each left escrow, and `refunds:in_flight` holds exactly the unsettled ones."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import insert
from typer.testing import CliRunner

from orderguard.cli import app
from orderguard.domain import ledger
from orderguard.domain.refunds import Refund
from orderguard.store import tables as t
from orderguard.store.db import reading, unit_of_work
from orderguard.store.ledger_repo import LedgerProblem, check, write_ledger
from orderguard.store.refunds_repo import insert_refunds
from tests.refund_support import grant
from tests.support import Api


def _problems(api: Api) -> list[LedgerProblem]:
    with reading(api.ctx.engine) as conn:
        return check(conn)[1]


def _paid_order(api: Api) -> str:
    buyer = api.buyer()
    order = api.place(buyer, api.listing(price=10_00, handling_days=30))  # 10.00 + 2.00 shipping
    api.pay(buyer, order["id"])
    return str(order["id"])


def test_refunds_granted_settled_and_in_flight_reconcile(api: Api) -> None:
    order_id = _paid_order(api)
    settled = grant(api.ctx, order_id, 5_00)
    grant(api.ctx, order_id, 3_00)
    assert settled.expected_at is not None
    api.advance(days=7)  # the card window's longest: the first has settled
    assert _problems(api) == []


def test_a_refund_beyond_the_capture_is_found(api: Api) -> None:
    order_id = _paid_order(api)
    refund = grant(api.ctx, order_id, 12_00)
    extra = replace(refund, id="rfd_extra", amount=1)  # written around the domain, with its money
    with unit_of_work(api.ctx.engine) as conn:
        insert_refunds(conn, [extra])
        write_ledger(conn, [ledger.refund_granted(order_id, 1, "USD")], refund.created_at)
    kinds = {(p.kind, p.subject) for p in _problems(api)}
    assert ("refunds_exceed_captured", order_id) in kinds
    assert ("negative_escrow", ledger.escrow(order_id)) in kinds


def test_a_refund_without_its_postings_and_money_in_flight_without_a_refund_are_found(api: Api) -> None:
    order_id = _paid_order(api)
    refund = grant(api.ctx, order_id, 4_00)
    with unit_of_work(api.ctx.engine) as conn:
        insert_refunds(conn, [replace(refund, id="rfd_ghost", amount=1_00)])  # no ledger at all
    kinds = [(p.kind, p.subject) for p in _problems(api)]
    assert kinds == [("refunds_unposted", order_id), ("refunds_in_flight_mismatch", order_id)]

    other = _paid_order(api)
    with unit_of_work(api.ctx.engine) as conn:
        conn.execute(t.refunds.delete().where(t.refunds.c.id == "rfd_ghost"))
        write_ledger(conn, [ledger.refund_granted(other, 50, "USD")], refund.created_at)
    kinds = [(p.kind, p.subject) for p in _problems(api)]
    assert kinds == [("refunds_unposted", other), ("refunds_in_flight_mismatch", other)]


def test_a_settled_refund_still_counted_in_flight_is_found(api: Api) -> None:
    order_id = _paid_order(api)
    refund = grant(api.ctx, order_id, 4_00)
    with unit_of_work(api.ctx.engine) as conn:
        conn.execute(t.refunds.update().values(state="settled"))  # settled, but no money left the platform
    ((kind, subject, detail),) = [(p.kind, p.subject, p.detail) for p in _problems(api)]
    assert (kind, subject) == ("refunds_in_flight_mismatch", order_id)
    assert detail == "refunds:in_flight holds 4.00 USD, the unsettled refunds 0.00 USD"
    assert isinstance(refund, Refund)


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("ORDERGUARD_DATABASE_URL", db_url)
    return db_url


def test_the_ledger_check_command_fails_on_a_refund_violation(env: str, api: Api) -> None:
    order_id = _paid_order(api)
    grant(api.ctx, order_id, 2_00)
    runner = CliRunner()
    ok = runner.invoke(app, ["ledger", "check"])
    assert ok.exit_code == 0 and "refunds reconcile" in ok.output, ok.output
    with unit_of_work(api.ctx.engine) as conn:
        conn.execute(
            insert(t.postings),
            [
                {"txn_id": "txn_x", "kind": "refund", "order_id": None, "account": account, "amount": amount,
                 "currency": "USD", "created_at": api.ctx.clock.now() + timedelta(seconds=1)}
                for account, amount in (("escrow:order:nobody", 0), (ledger.REFUNDS_IN_FLIGHT, 7))
            ],
        )  # fmt: skip
    broken = runner.invoke(app, ["ledger", "check"])
    assert broken.exit_code == 1
    assert "refunds_in_flight_mismatch" in broken.output
