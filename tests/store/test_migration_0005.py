"""Migration 0005 on databases that already hold data: tokens move, the mode is labelled.

Each test starts from an empty database of its own (a new SQLite file, a new PostgreSQL
database), migrates it to 0002, writes what an older OrderGuard wrote, then upgrades.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, MetaData, bindparam, inspect, select, text

from orderguard.app.accounts import authenticate, token_digest
from orderguard.bootstrap import ModeRefused, build_context
from orderguard.domain.machine import Actor
from orderguard.settings import Settings
from orderguard.store import tables as t
from orderguard.store.db import make_engine
from orderguard.store.migrate import upgrade
from orderguard.store.types import UTCDateTime
from tests.store.conftest import migrate_to

THEN = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _old_rows(engine: Engine, *, sandbox_clock: bool) -> str:
    """What OrderGuard 0002 wrote: an account with its token digest, its store, a policy; the token."""
    token = "og_old_token"
    at = bindparam("at", THEN, type_=UTCDateTime())
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO accounts (id, role, name, email, token_hash, created_at) "
                "VALUES ('acc_0123456789abcdef0123', 'seller', 'Sam', 'sam@example.com', :h, :at)"
            ).bindparams(at),
            {"h": token_digest(token)},
        )
        conn.execute(
            text(
                "INSERT INTO stores (id, seller_id, name, created_at) "
                "VALUES ('sto_1', 'acc_0123456789abcdef0123', 'Sam''s', :at)"
            ).bindparams(at)
        )
        if sandbox_clock:
            conn.execute(text("INSERT INTO sandbox_clock (id, now) VALUES (1, :at)").bindparams(at))
    return token


def test_an_old_production_database_keeps_its_tokens_and_is_labelled_production(empty_url: str) -> None:
    engine = make_engine(empty_url)
    migrate_to(engine, "0004")
    token = _old_rows(engine, sandbox_clock=False)
    upgrade(engine)

    with engine.connect() as conn:
        assert "token_hash" not in {c["name"] for c in inspect(conn).get_columns("accounts")}
        assert conn.execute(select(t.deployment.c.mode)).scalar_one() == "production"
        (row,) = conn.execute(select(t.tokens)).all()
        assert row.account_id == "acc_0123456789abcdef0123" and row.created_at == THEN
        assert row.expires_at is None and row.revoked_at is None
        assert conn.execute(select(t.stores.c.seller_id)).scalar_one() == "acc_0123456789abcdef0123"
    engine.dispose()

    ctx = build_context(Settings(database_url=empty_url, sandbox=False), migrate=False)
    principal = authenticate(ctx, token)
    assert principal is not None and principal.role is Actor.SELLER
    ctx.engine.dispose()
    with pytest.raises(ModeRefused, match="refusing sandbox mode"):
        build_context(Settings(database_url=empty_url, sandbox=True))


def test_an_old_demo_database_is_labelled_sandbox_and_its_clock_starts_where_it_stood(empty_url: str) -> None:
    engine = make_engine(empty_url)
    migrate_to(engine, "0004")
    token = _old_rows(engine, sandbox_clock=True)
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(select(t.deployment.c.mode)).scalar_one() == "sandbox"
        assert conn.execute(select(t.sandbox_clock.c.started_at)).scalar_one() == THEN
    engine.dispose()

    ctx = build_context(Settings(database_url=empty_url, sandbox=True), migrate=False)
    assert authenticate(ctx, token) is not None
    assert ctx.clock.now() == THEN
    ctx.engine.dispose()
    with pytest.raises(ModeRefused, match="refusing production mode"):
        build_context(Settings(database_url=empty_url, sandbox=False))


def test_an_empty_database_is_labelled_by_the_first_process_that_opens_it(empty_url: str) -> None:
    engine = make_engine(empty_url)
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(select(t.deployment)).all() == []
    engine.dispose()
    build_context(Settings(database_url=empty_url, sandbox=True), migrate=False).engine.dispose()
    build_context(Settings(database_url=empty_url, sandbox=True), migrate=False).engine.dispose()
    with pytest.raises(ModeRefused):
        build_context(Settings(database_url=empty_url, sandbox=False), migrate=False)


def test_the_migrated_schema_of_these_tables_is_the_one_tables_py_describes(empty_url: str) -> None:
    engine = make_engine(empty_url)
    migrate_to(engine, "0004")
    _old_rows(engine, sandbox_clock=True)
    upgrade(engine)
    mine = MetaData()
    for table in (t.accounts, t.tokens, t.deployment, t.sandbox_clock):
        table.to_metadata(mine)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={"include_name": lambda name, kind, parent: kind != "table" or name in mine.tables},
        )
        diff = compare_metadata(context, mine)
    engine.dispose()
    assert diff == []
