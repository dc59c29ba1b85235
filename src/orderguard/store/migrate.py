"""Applying the Alembic migrations programmatically."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, column, inspect, select, table

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


@cache
def head_revisions() -> tuple[str, ...]:
    """The revisions this code's migrations end at (read once: they do not change while it runs)."""
    script = ScriptDirectory(str(MIGRATIONS))
    return tuple(sorted(script.get_heads()))


def current_revisions(conn: Connection) -> tuple[str, ...]:
    """The revisions the database is at; empty when it was never migrated. Read from Alembic's table
    itself: a readiness probe asks it every few seconds, and Alembic's own context logs each time."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return ()
    return tuple(
        sorted(conn.execute(select(column("version_num")).select_from(table(VERSION_TABLE))).scalars())
    )
