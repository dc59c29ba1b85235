"""Applying the Alembic migrations programmatically."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

MIGRATIONS = Path(__file__).parent / "migrations"


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
    """The revisions the database is at; empty when it was never migrated."""
    return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))
