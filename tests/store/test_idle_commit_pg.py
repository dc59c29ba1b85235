"""The PostgreSQL dialect asks psycopg to COMMIT or ROLLBACK only a connection with a transaction
open (store/pg_session.py, `_skip_when_idle`): a unit's COMMIT has already gone with its last
statements, and the pool's reset meets an idle connection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from psycopg import Connection as PsycopgConnection
from sqlalchemy import Engine, text

from orderguard.store.db import make_engine, unit_of_work


@contextmanager
def _probe(url: str, schema: str) -> Iterator[Engine]:
    """An engine, and a table `probe` in `schema`, a schema of its own, dropped after: the session's
    database is shared, and its public schema is compared with the tables module
    (tests/store/test_migrations.py)."""
    engine = make_engine(url)
    with engine.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
        conn.execute(text(f"CREATE TABLE {schema}.probe (n int)"))
        conn.commit()
    try:
        yield engine
    finally:
        with engine.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            conn.commit()
        engine.dispose()


def _driver_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    commit, rollback = PsycopgConnection.commit, PsycopgConnection.rollback

    def counted_commit(self: PsycopgConnection[Any]) -> None:
        calls.append("commit")
        commit(self)

    def counted_rollback(self: PsycopgConnection[Any]) -> None:
        calls.append("rollback")
        rollback(self)

    monkeypatch.setattr(PsycopgConnection, "commit", counted_commit)
    monkeypatch.setattr(PsycopgConnection, "rollback", counted_rollback)
    return calls


def test_a_unit_commits_its_writes_without_a_second_commit(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _probe(pg_url, "idle_probe_unit") as engine:
        calls = _driver_calls(monkeypatch)
        with unit_of_work(engine) as conn:
            conn.execute(text("INSERT INTO idle_probe_unit.probe VALUES (1)"))
        assert calls == []  # COMMIT went in the unit's last exchange; the pool's reset found it idle
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM idle_probe_unit.probe")).scalar_one() == 1


def test_an_open_transaction_is_still_committed_or_rolled_back_by_psycopg(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _probe(pg_url, "idle_probe_open") as engine:
        calls = _driver_calls(monkeypatch)
        with engine.connect() as conn:
            fairy = conn.connection
            driver = fairy.driver_connection
            assert driver is not None
            driver.execute("BEGIN")  # a transaction the session did not open: the dialect must end it
            driver.execute("INSERT INTO idle_probe_open.probe VALUES (1)")
            engine.dialect.do_rollback(fairy)
            driver.execute("BEGIN")
            driver.execute("INSERT INTO idle_probe_open.probe VALUES (2)")
            engine.dialect.do_commit(fairy)
        assert calls == ["rollback", "commit"]
        with engine.connect() as conn:
            assert conn.execute(text("SELECT array_agg(n) FROM idle_probe_open.probe")).scalar_one() == [2]
