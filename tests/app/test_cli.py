"""The operator's commands: ledger check, policy show and diagram, accounts create."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert
from typer.testing import CliRunner

from orderguard.app.context import Context
from orderguard.cli import app
from orderguard.store import tables as t
from orderguard.store.db import unit_of_work

runner = CliRunner()


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("ORDERGUARD_DATABASE_URL", db_url)
    return db_url


def test_ledger_check_passes_on_a_balanced_ledger_and_fails_on_a_broken_one(env: str, ctx: Context) -> None:
    ok = runner.invoke(app, ["ledger", "check"])
    assert ok.exit_code == 0, ok.output
    assert "ledger ok" in ok.output
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with unit_of_work(ctx.engine) as conn:
        conn.execute(
            insert(t.postings),
            [
                {
                    "txn_id": "txn_broken",
                    "kind": "capture",
                    "order_id": "ord_x",
                    "account": "escrow:order:ord_x",
                    "amount": -500,
                    "currency": "USD",
                    "created_at": now,
                },
                {
                    "txn_id": "txn_broken",
                    "kind": "capture",
                    "order_id": "ord_x",
                    "account": "external:payments",
                    "amount": 400,
                    "currency": "USD",
                    "created_at": now,
                },
            ],
        )
    broken = runner.invoke(app, ["ledger", "check"])
    assert broken.exit_code == 1
    assert "unbalanced_transaction" in broken.output and "negative_escrow" in broken.output


def test_policy_show_prints_the_version_and_every_number() -> None:
    out = runner.invoke(app, ["policy", "show"])
    assert out.exit_code == 0
    assert "2026.11-default@" in out.output and "unpaid_expiry_days = 20" in out.output


def test_policy_diagram_draws_the_transition_tables() -> None:
    order = runner.invoke(app, ["policy", "diagram"]).output
    assert order.startswith("stateDiagram-v2")
    assert "awaiting_payment --> cancelled: pay_by_passed (system, R3.3)" in order
    shipment = runner.invoke(app, ["policy", "diagram", "shipment"]).output
    assert "returning --> returned: delivered_to_sender" in shipment


def test_accounts_create_prints_a_token_once(env: str, ctx: Context) -> None:
    out = runner.invoke(app, ["accounts", "create", "--role", "admin", "--name", "Root"])
    assert out.exit_code == 0, out.output
    assert "token: og_" in out.output
    bad = runner.invoke(app, ["accounts", "create", "--role", "wizard", "--name", "X"])
    assert bad.exit_code == 2 and "unknown_role" in bad.output
