"""A PostgreSQL connection is opened with a bounded wait (store/db.py), unless the URL sets its own."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from orderguard.store.db import CONNECT_TIMEOUT_SECONDS, make_engine
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
    assert params["options"] == "-c timezone=UTC"


def test_the_urls_own_timeout_is_kept(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sep = "&" if "?" in pg_url else "?"
    assert _connect_params(f"{pg_url}{sep}connect_timeout=2", monkeypatch)["connect_timeout"] == "2"
