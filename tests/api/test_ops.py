"""An operator's probes and metrics (issue #11 items 5 and 6): `/healthz` is liveness, `/readyz`
readiness, `/metrics` Prometheus's text format from prometheus_client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert
from typer.testing import CliRunner

from orderguard.api.app_factory import create_app
from orderguard.bootstrap import build_context
from orderguard.cli import app as cli_app
from orderguard.providers.clock import VirtualClock
from orderguard.settings import Settings
from orderguard.store import tables as t
from orderguard.store.db import make_engine, unit_of_work
from orderguard.store.migrate import alembic_config
from tests.api.helpers import assert_problem
from tests.conftest import START
from tests.support import Api


def samples(api: Api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample /metrics answers, by (name, sorted labels)."""
    r = api.get("/metrics")
    assert r.headers["content-type"].startswith("text/plain")
    assert r.headers["cache-control"] == "no-store"
    out = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


class Broken:
    """Units of work over a database that does not answer."""

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise ConnectionRefusedError("connection to server at 10.0.0.9, port 5432 failed")

        return fail


@contextmanager
def database_down(api: Api) -> Iterator[None]:
    units = api.ctx.units
    api.ctx.units = Broken()  # type: ignore[assignment]
    try:
        yield
    finally:
        api.ctx.units = units


# --- liveness and readiness ----------------------------------------------------------------------


def test_healthz_is_liveness_and_asks_the_database_nothing(api: Api) -> None:
    with database_down(api):
        body = api.get("/healthz").json()
    assert body["ok"] is True and body["sandbox"] is True and body["policy"].startswith("2026.11-default@")


def test_readyz_says_ready_when_the_database_answers_at_the_latest_schema(api: Api) -> None:
    r = api.get("/readyz")
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["ready"] is True and body["schema_revisions"] == ["0016"]


def test_readyz_is_503_while_the_database_does_not_answer(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    with database_down(api):
        r = api.get("/readyz", expect=503)
    body = assert_problem(r, 503, "database_unreachable")
    assert "10.0.0.9" not in r.text, "the reason is logged, not told"
    assert r.headers["retry-after"] == "5" and r.headers["cache-control"] == "no-store"
    assert any("10.0.0.9" in rec.getMessage() for rec in caplog.records), "the operator sees why"
    assert body["detail"] == "the database cannot be reached"
    assert api.get("/readyz").json()["ready"] is True  # and ready again once it answers


def test_readyz_is_503_until_the_schema_is_migrated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    # A process starts over a database at the head (it refuses any other: bootstrap.py); then the
    # database is taken back to 0009 under it, as a restore of an older backup would.
    ctx = build_context(Settings(database_url=url, sandbox=True), migrate=True, start=START)
    engine = make_engine(url)
    config = alembic_config(url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0009")
    engine.dispose()
    try:
        with TestClient(create_app(ctx)) as client:
            r = client.get("/readyz")
            body = assert_problem(r, 503, "schema_not_at_head")
            assert "0009" in body["detail"] and "0016" in body["detail"]
            assert "run `orderguard migrate`" in body["detail"]
            assert client.get("/healthz").status_code == 200  # alive, just not ready
    finally:
        ctx.engine.dispose()


# --- metrics -------------------------------------------------------------------------------------------


def test_requests_are_counted_and_timed_by_route_template(api: Api) -> None:
    buyer = api.buyer()
    before = samples(api)
    api.get("/v1/orders/ord_one", buyer, expect=404)
    api.get("/v1/orders/ord_two", buyer, expect=404)
    api.get("/v1/orders", buyer)
    api.get("/no/such/page", expect=404)
    too_large = api.client.post(
        "/v1/orders/ord_x/messages",
        content=b"x" * 70_000,
        headers={**buyer.auth, "content-type": "application/json"},
    )
    assert too_large.status_code == 413  # answered by the request guard, before any route ran
    after = samples(api)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    total = "orderguard_http_requests_total"
    assert delta(total, method="GET", route="/v1/orders/{order_id}", status="404") == 2
    assert delta(total, method="GET", route="/v1/orders", status="200") == 1
    assert delta(total, method="GET", route="<unmatched>", status="404") == 1
    assert delta(total, method="POST", route="/v1/orders/{order_id}/messages", status="413") == 1
    assert not any("ord_one" in str(labels) for _, labels in after), "never the raw path"
    count = "orderguard_http_request_duration_seconds_count"
    assert delta(count, method="GET", route="/v1/orders/{order_id}") == 2
    bucket = "orderguard_http_request_duration_seconds_bucket"
    assert delta(bucket, method="GET", route="/v1/orders/{order_id}", le="+Inf") == 2


def test_a_500_is_counted_as_a_500(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from orderguard.app import orders

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    buyer = api.buyer()
    before = samples(api)
    monkeypatch.setattr(orders, "list_orders", broken)
    with TestClient(api.client.app, raise_server_exceptions=False) as client:
        assert client.get("/v1/orders", headers=buyer.auth).status_code == 500
    monkeypatch.undo()
    name = "orderguard_http_requests_total"
    labels = {"method": "GET", "route": "/v1/orders", "status": "500"}
    assert value(samples(api), name, **labels) - value(before, name, **labels) == 1


def test_deadlines_armed_due_and_fired_per_kind_with_their_lateness_in_virtual_time(api: Api) -> None:
    buyer, listing = api.buyer(), api.listing()
    before = samples(api)
    api.place(buyer, listing)  # arms its pay-by deadline, 20 days on
    armed = samples(api)
    assert (
        value(armed, "orderguard_deadlines_armed_total", kind="pay_by")
        - value(before, "orderguard_deadlines_armed_total", kind="pay_by")
        == 1
    )
    assert value(armed, "orderguard_deadlines_due", kind="pay_by") == 0

    clock = api.ctx.clock
    assert isinstance(clock, VirtualClock)
    clock.move_to(clock.now() + timedelta(days=21))  # due, and nothing has fired it yet
    assert value(samples(api), "orderguard_deadlines_due", kind="pay_by") == 1

    api.advance(minutes=1)  # fires it, at the virtual time it is reached
    after = samples(api)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(armed, name, **labels)

    assert value(after, "orderguard_deadlines_due", kind="pay_by") == 0
    assert delta("orderguard_deadlines_fired_total", kind="pay_by") == 1
    assert delta("orderguard_deadline_lateness_seconds_count", kind="pay_by") == 1
    # fired a day after it fell due, by the virtual clock: the lateness is that day, not wall time
    assert delta("orderguard_deadline_lateness_seconds_sum", kind="pay_by") == pytest.approx(86400, abs=61)
    assert delta("orderguard_deadline_batch_duration_seconds_count") >= 1


def test_the_last_ledger_check_is_reported_whichever_process_ran_it(
    api: Api, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not any(name.startswith("orderguard_ledger_check") for name, _ in samples(api))
    monkeypatch.setenv("ORDERGUARD_DATABASE_URL", db_url)
    buyer, listing = api.buyer(), api.listing()
    api.pay(buyer, api.place(buyer, listing)["id"])
    assert CliRunner().invoke(cli_app, ["ledger", "check"]).exit_code == 0
    found = samples(api)
    assert value(found, "orderguard_ledger_check_ok") == 1
    assert value(found, "orderguard_ledger_check_transactions") == 1
    assert value(found, "orderguard_ledger_check_timestamp_seconds") > START.timestamp()
    assert value(found, "orderguard_database_up") == 1

    with unit_of_work(api.ctx.engine) as conn:
        conn.execute(
            insert(t.postings).values(
                txn_id="txn_broken",
                kind="capture",
                order_id="ord_x",
                account="escrow:order:ord_x",
                amount=-5,
                currency="USD",
                created_at=START,
            )
        )
    assert CliRunner().invoke(cli_app, ["ledger", "check"]).exit_code == 1
    found = samples(api)
    assert value(found, "orderguard_ledger_check_ok") == 0
    assert value(found, "orderguard_ledger_check_problems", kind="unbalanced_transaction") == 1
    assert value(found, "orderguard_ledger_check_problems", kind="negative_escrow") == 1


def test_metrics_answer_while_the_database_does_not(api: Api) -> None:
    with database_down(api):
        found = samples(api)
    assert value(found, "orderguard_database_up") == 0
    assert any(name == "orderguard_http_requests_total" for name, _ in found)


def test_the_metrics_document_their_names(api: Api) -> None:
    text = api.get("/metrics").text
    for name in (
        "orderguard_http_requests_total",
        "orderguard_http_request_duration_seconds",
        "orderguard_deadlines_armed_total",
        "orderguard_deadlines_fired_total",
        "orderguard_deadline_lateness_seconds",
        "orderguard_deadline_batch_duration_seconds",
        "orderguard_deadlines_due",
        "orderguard_database_up",
    ):
        assert re.search(rf"^# HELP {name} \S", text, re.MULTILINE), name
