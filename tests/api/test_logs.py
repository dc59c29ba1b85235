"""Structured logs (issue #11 item 6): JSON lines when stderr is not a terminal, and every record of a
request carries the request id its response carries (`X-Request-Id`, and a 500's problem+json)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from orderguard.app import orders
from orderguard.observability import logs
from tests.api.helpers import assert_problem
from tests.support import Api


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """What OrderGuard's JSON handler writes, at INFO, for the test's duration."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.RequestIdFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _records(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_every_record_of_a_request_carries_its_id(
    api: Api, lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    buyer = api.buyer()
    listing = orders.list_orders

    def listing_logged(*args: Any, **kwargs: Any) -> Any:
        logging.getLogger("orderguard.app").warning("listing orders", extra={"checked": True})
        return listing(*args, **kwargs)

    monkeypatch.setattr(orders, "list_orders", listing_logged)
    r = api.get("/v1/orders", buyer)
    rid = r.headers["x-request-id"]
    records = _records(lines)
    mine = [rec for rec in records if rec.get("request_id") == rid]
    # the use case's record (in a worker thread) and the access record, both with the id
    assert {rec["logger"] for rec in mine} >= {"orderguard.app", "orderguard.access"}, records
    app_record = next(rec for rec in mine if rec["logger"] == "orderguard.app")
    assert (app_record["message"], app_record["level"], app_record["checked"]) == (
        "listing orders",
        "warning",
        True,
    )
    access = next(rec for rec in mine if rec["logger"] == "orderguard.access")
    assert access["message"] == "GET /v1/orders 200"
    assert (access["route"], access["status"]) == ("/v1/orders", 200) and access["duration_ms"] >= 0
    other = api.get("/healthz").headers["x-request-id"]
    assert other != rid and any(rec.get("request_id") == other for rec in _records(lines))


def test_a_500_logs_its_trace_under_the_id_its_problem_shows(
    api: Api, lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    buyer = api.buyer()

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(orders, "list_orders", broken)
    with TestClient(api.client.app, raise_server_exceptions=False) as client:
        r = client.get("/v1/orders", headers=buyer.auth)
    body = assert_problem(r, 500, "internal_error")
    rid = body["request_id"]
    assert rid == r.headers["x-request-id"]
    [error] = [rec for rec in _records(lines) if rec["level"] == "error"]
    assert error["request_id"] == rid and "RuntimeError: boom" in error["exception"]
    assert any(rec["logger"] == "orderguard.access" and rec["status"] == 500 for rec in _records(lines))


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_json_lines_unless_stderr_is_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    record = logging.makeLogRecord(
        {"name": "orderguard.scheduler", "levelname": "INFO", "levelno": 20, "msg": "fired %d", "args": (3,)}
    )
    record.kinds = {"pay_by": 3}
    for stream, json_lines in ((io.StringIO(), True), (_Terminal(), False)):
        monkeypatch.setattr("sys.stderr", stream)
        config = logs.log_config()
        formatter_path = config["formatters"]["orderguard"]["()"]
        formatter = {
            f"{logs.__name__}.JsonFormatter": logs.JsonFormatter(),
            f"{logs.__name__}.TextFormatter": logs.TextFormatter(),
        }[formatter_path]
        text = formatter.format(record)
        if json_lines:
            parsed = json.loads(text)
            assert parsed["message"] == "fired 3" and parsed["kinds"] == {"pay_by": 3}
            assert parsed["level"] == "info" and parsed["logger"] == "orderguard.scheduler"
        else:
            assert text.endswith("fired 3 kinds={'pay_by': 3}") and not text.startswith("{")


def test_the_log_config_puts_uvicorns_lines_through_the_same_handler() -> None:
    config = logs.log_config(json_lines=True)
    assert config["root"]["handlers"] == ["stderr"]
    assert config["loggers"]["uvicorn.error"]["propagate"] is True
    assert config["loggers"]["uvicorn.access"]["propagate"] is False  # the API logs each request itself


def test_every_problem_carries_the_id_of_its_request(api: Api, lines: io.StringIO) -> None:
    buyer = api.buyer()
    answers = [
        api.get("/v1/orders", expect=401),
        api.get("/v1/orders/ord_missing", buyer, expect=404),
        api.get("/v1/orders", buyer, expect=422, limit=0),
        api.client.post("/v1/cart/items", content=b"x" * 70_000, headers=buyer.auth),  # the guard's 413
    ]
    for r in answers:
        assert r.headers["content-type"].startswith("application/problem+json"), r.text
        rid = r.headers["x-request-id"]
        assert r.json()["request_id"] == rid
        assert any(rec.get("request_id") == rid for rec in _records(lines)), "and its log records"


def _access(out: io.StringIO) -> dict[str, Any]:
    return next(rec for rec in reversed(_records(out)) if rec["logger"] == "orderguard.access")


def test_a_serving_process_s_records_skip_their_caller_and_read_the_same(
    api: Api, lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`lean_records` (what `orderguard serve` does): no stack walk for the caller's file and line,
    nor thread and process look-ups, on any record; the JSON lines keep every field they had."""
    for switch in ("_srcfile", "logThreads", "logProcesses", "logMultiprocessing"):
        monkeypatch.setattr(logging, switch, getattr(logging, switch))  # put back after the test
    buyer = api.buyer()
    api.get("/v1/orders", buyer)
    before = _access(lines)
    seen: list[logging.LogRecord] = []
    handle = logging.Logger.handle

    def spied(self: logging.Logger, record: logging.LogRecord) -> None:
        seen.append(record)
        handle(self, record)

    monkeypatch.setattr(logging.Logger, "handle", spied)

    logs.lean_records()
    r = api.get("/v1/orders", buyer)
    after = _access(lines)
    unknown = ("(unknown file)", 0, None, None)
    assert seen and all((rec.pathname, rec.lineno, rec.thread, rec.process) == unknown for rec in seen)
    assert after["request_id"] == r.headers["x-request-id"]
    assert set(after) == set(before) and after["message"] == before["message"]
