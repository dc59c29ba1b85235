"""A PostgreSQL connection is opened with a bounded wait (store/db.py), unless the URL sets its own,
and with the session settings of `PG_SESSION_OPTIONS`."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from orderguard.store.db import CONNECT_TIMEOUT_SECONDS, PG_SESSION_OPTIONS, make_engine
from orderguard.store.pg_wire import LoopConnection


def _connect_params(url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    engine = make_engine(url)
    seen: dict[str, Any] = {}
    connect = LoopConnection.connect

    def recorded(*args: Any, **params: Any) -> LoopConnection:
        seen.update(params)
        return connect(*args, **params)

    monkeypatch.setattr(LoopConnection, "connect", recorded)  # what the engine connects with
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
            assert isinstance(conn.connection.driver_connection, LoopConnection)
    finally:
        engine.dispose()
    return seen


def test_a_connection_waits_at_most_the_timeout(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    params = _connect_params(pg_url, monkeypatch)
    assert params["connect_timeout"] == str(CONNECT_TIMEOUT_SECONDS)
    assert params["options"] == PG_SESSION_OPTIONS


def test_the_urls_own_timeout_is_kept(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sep = "&" if "?" in pg_url else "?"
    assert _connect_params(f"{pg_url}{sep}connect_timeout=2", monkeypatch)["connect_timeout"] == "2"


def test_a_small_table_is_read_by_its_index(pg_url: str) -> None:
    """With PostgreSQL's default random_page_cost (4) the planner scans a table of a few pages whole,
    comparing every row, rather than use the index on the key the read asks for; the sessions'
    random_page_cost (1.1) makes it use the index, as it does once the table is large."""
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW random_page_cost")).scalar_one() == "1.1"
            assert conn.execute(text("SHOW timezone")).scalar_one() == "UTC"
            conn.execute(text("CREATE TEMP TABLE lines (id text PRIMARY KEY, order_id text, title text)"))
            conn.execute(text("CREATE INDEX ix_lines_order_id ON lines (order_id)"))
            conn.execute(
                text(
                    "INSERT INTO lines SELECT 'lin_' || n, 'ord_' || n, repeat('a phone case ', 5)"
                    " FROM generate_series(1, 200) AS n"
                )
            )
            conn.execute(text("ANALYZE lines"))
            query = text("EXPLAIN SELECT id, title FROM lines WHERE order_id = 'ord_7'")
            assert "Index Scan using ix_lines_order_id" in conn.execute(query).scalars().first()
            conn.execute(text("SET random_page_cost = 4"))
            assert "Seq Scan on lines" in conn.execute(query).scalars().first()
            conn.rollback()
    finally:
        engine.dispose()
