"""Fixtures: every storage and API test runs on SQLite and on PostgreSQL.

PostgreSQL tests use a database created for this run and dropped after it.
Outside CI they are skipped when no server answers; with CI=true they fail.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from orderguard.api import rendering
from orderguard.api.app_factory import create_app
from orderguard.app.context import Context
from orderguard.bootstrap import build_context
from orderguard.settings import Settings
from orderguard.store.db import make_engine
from orderguard.store.migrate import upgrade
from orderguard.store.tables import metadata
from tests.support import Api

PG_ADMIN_URL = os.environ.get(
    "ORDERGUARD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def pytest_configure(config: pytest.Config) -> None:
    rendering.checking(True)  # every page rendered from its fields is also checked against its model


def _pg_unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL tests cannot run under CI=true: {reason}")
    pytest.skip(f"PostgreSQL unavailable: {reason}")


@contextmanager
def fresh_pg_database(prefix: str) -> Iterator[str]:
    """The URL of an empty PostgreSQL database of its own, dropped afterwards."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as e:
        admin.dispose()
        _pg_unavailable(str(e).splitlines()[0])
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with fresh_pg_database("og_test") as url:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


@pytest.fixture(scope="session")
def pg_dsn(pg_url: str) -> str:
    """`pg_url` as libpq takes it, for tests that talk to PostgreSQL through psycopg alone."""
    return make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "orderguard.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("pg_url")
    yield url
    engine = make_engine(url)
    with engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables if t.name != "alembic_version")
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def ctx(db_url: str, tmp_path: Path) -> Iterator[Context]:
    settings = Settings(database_url=db_url, sandbox=True, files_dir=tmp_path / "files")
    context = build_context(settings, migrate=False, start=START)
    yield context
    context.engine.dispose()


@pytest.fixture
def api(ctx: Context) -> Iterator[Api]:
    from fastapi.testclient import TestClient

    with TestClient(create_app(ctx), raise_server_exceptions=True) as client:
        yield Api(client, ctx)
