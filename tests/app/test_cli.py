"""The operator's commands: ledger check, policy show and diagram, accounts create."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

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
    pay_by = "pay_by_passed: 20 days after the last cart addition (system, R3.3)"
    assert f"awaiting_payment --> cancelled: {pay_by}" in order
    payment = runner.invoke(app, ["policy", "diagram", "payment"]).output
    assert "pending --> failed: transfer_expired: 5 days after the transfer started (system, R3.5)" in payment
    shipment = runner.invoke(app, ["policy", "diagram", "shipment"]).output
    assert "returning --> returned: delivered_to_sender" in shipment


def test_accounts_create_prints_a_token_once(env: str, ctx: Context) -> None:
    out = runner.invoke(app, ["accounts", "create", "--role", "admin", "--name", "Root"])
    assert out.exit_code == 0, out.output
    assert "token: og_" in out.output
    bad = runner.invoke(app, ["accounts", "create", "--role", "wizard", "--name", "X"])
    assert bad.exit_code == 2 and "unknown_role" in bad.output


def _line(output: str, prefix: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(prefix))


def test_accounts_token_tokens_and_revoke(env: str, ctx: Context) -> None:
    from orderguard.app.accounts import authenticate

    made = runner.invoke(
        app, ["accounts", "create", "--role", "buyer", "--name", "Ann", "--expires-in", "30"]
    )
    assert made.exit_code == 0, made.output
    account_id = _line(made.output, "buyer ").split()[1]
    first = _line(made.output, "token: ").removeprefix("token: ")

    issued = runner.invoke(app, ["accounts", "token", account_id, "--expires-in", "7"])
    assert issued.exit_code == 0, issued.output
    assert "expires 2026-01-12 09:00 UTC" in issued.output  # 7 days of the virtual clock
    second = _line(issued.output, "token: ").removeprefix("token: ")
    second_id = issued.output.split()[0]
    forever = runner.invoke(app, ["accounts", "token", account_id])
    assert "never expires" in forever.output
    third = _line(forever.output, "token: ").removeprefix("token: ")
    assert all(authenticate(ctx, token) for token in (first, second, third))

    listed = runner.invoke(app, ["accounts", "tokens", account_id])
    assert listed.exit_code == 0, listed.output
    assert listed.output.count("tok_") == 3 and second_id in listed.output
    assert first not in listed.output and second not in listed.output  # ids only, never the tokens

    by_token = runner.invoke(app, ["accounts", "revoke", first])
    assert by_token.exit_code == 0 and "revoked at 2026-01-05 09:00 UTC" in by_token.output
    by_id = runner.invoke(app, ["accounts", "revoke", second_id])
    assert by_id.exit_code == 0, by_id.output
    assert authenticate(ctx, first) is None and authenticate(ctx, second) is None
    assert authenticate(ctx, third) is not None
    every = runner.invoke(app, ["accounts", "revoke", "--account", account_id])
    assert every.exit_code == 0 and f"revoked 1 token(s) of {account_id}" in every.output
    assert authenticate(ctx, third) is None


def test_accounts_token_commands_refuse_what_does_not_exist(env: str, ctx: Context) -> None:
    unknown = runner.invoke(app, ["accounts", "revoke", "tok_nope"])
    assert unknown.exit_code == 2 and "unknown_token" in unknown.output
    nobody = runner.invoke(app, ["accounts", "token", "acc_nobody"])
    assert nobody.exit_code == 2 and "unknown_account" in nobody.output
    neither = runner.invoke(app, ["accounts", "revoke"])
    assert neither.exit_code == 2 and "name one token" in neither.output
    too_long = runner.invoke(app, ["accounts", "token", "acc_x", "--expires-in", "5000"])
    assert too_long.exit_code == 2  # Typer's own range check


def test_policy_diagram_draws_the_refund_lifecycle() -> None:
    refund = runner.invoke(app, ["policy", "diagram", "refund"]).output
    assert refund.startswith("stateDiagram-v2")
    assert "pending --> processing: accepted (system, R5.1)" in refund
    assert "processing --> processing: settlement_checked: the expected arrival date, then daily" in refund
    assert "failed --> pending: retried: the last call to the payment provider, after 60 seconds" in refund


def test_worker_connections_reach_the_loop_on_postgresql_and_are_refused_on_sqlite(
    env: str, ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orderguard.scheduler import worker

    asked: list[int] = []

    def work(_ctx: Context, **kwargs: Any) -> worker.WorkerStats:
        asked.append(kwargs["connections"])
        return worker.WorkerStats()

    monkeypatch.setattr(worker, "work", work)
    monkeypatch.setenv("ORDERGUARD_SANDBOX", "true" if ctx.sandbox else "false")
    result = runner.invoke(app, ["worker", "--until-idle", "--connections", "3"])
    if env.startswith("postgresql"):
        assert result.exit_code == 0, result.output
        assert asked == [3]
    else:
        assert result.exit_code == 2 and "more than one needs PostgreSQL" in result.stderr
        assert asked == []
    assert runner.invoke(app, ["worker", "--until-idle"]).exit_code == 0
    assert asked[-1] == 1
