"""A PostgreSQL connection is opened with a bounded wait (store/db.py), unless the URL sets its own."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, text

from orderguard.store.db import CONNECT_TIMEOUT_SECONDS, make_engine
from orderguard.store.pg_wire import LoopConnection


def _connect_params(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    seen: dict[str, Any] = {}

    @event.listens_for(engine, "do_connect", insert=True)  # before the one that connects (pg_session)
    def _record(_dialect: Any, _record: Any, _args: Any, params: dict[str, Any]) -> None:
        seen.update(params)

    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
            assert isinstance(conn.connection.driver_connection, LoopConnection)
    finally:
        engine.dispose()
    return seen


def test_a_connection_waits_at_most_the_timeout(pg_url: str) -> None:
    params = _connect_params(pg_url)
    assert params["connect_timeout"] == str(CONNECT_TIMEOUT_SECONDS)
    assert params["options"] == "-c timezone=UTC"


def test_the_urls_own_timeout_is_kept(pg_url: str) -> None:
    sep = "&" if "?" in pg_url else "?"
    assert _connect_params(f"{pg_url}{sep}connect_timeout=2")["connect_timeout"] == "2"
