"""Applying the Alembic migrations programmatically, and telling where a database's schema stands."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, column, inspect, select, table

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"


@dataclass(frozen=True, slots=True)
class Migration:
    revision: str  # "0009"
    title: str  # the first line of its docstring


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def head_revision() -> str:
    """The revision this code's schema is at."""
    head = _scripts().get_current_head()
    assert head is not None
    return head


def known_revision(revision: str) -> bool:
    return revision in {script.revision for script in _scripts().walk_revisions()}


def schema_revision(conn: Connection) -> str | None:
    """The revision the database is at; None for a database no migration has touched."""
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> list[Migration]:
    """Bring the database to the head revision; the migrations applied, oldest first."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        before = schema_revision(conn)
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    return migrations_after(before)


def migrations_after(revision: str | None) -> list[Migration]:
    """The migrations from `revision` (exclusive; None: from the start) to the head, oldest first."""
    scripts = _scripts().iterate_revisions("head", revision or "base")
    return [Migration(s.revision, next(iter((s.doc or "").strip().splitlines()), "")) for s in scripts][::-1]


@cache
def head_revisions() -> tuple[str, ...]:
    """The revisions this code's migrations end at (read once: they do not change while it runs)."""
    return tuple(sorted(_scripts().get_heads()))


def current_revisions(conn: Connection) -> tuple[str, ...]:
    """The revisions the database is at; empty when it was never migrated. Read from Alembic's table
    itself: a readiness probe asks it every few seconds, and Alembic's own context logs each time."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return ()
    return tuple(
        sorted(conn.execute(select(column("version_num")).select_from(table(VERSION_TABLE))).scalars())
    )
