"""The migrations build exactly the schema `store/tables.py` describes, on both databases."""

from __future__ import annotations

import re
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from orderguard.store.db import make_engine
from orderguard.store.tables import metadata


def _different_default(
    _context: Any,
    _inspected: Any,
    _column: Any,
    inspected_default: str | None,
    _metadata_default: Any,
    rendered_metadata_default: str | None,
) -> bool | None:
    """Literal defaults come back as `('')` (SQLite) or `''::text` (PostgreSQL); compare the literals."""
    if inspected_default is None or rendered_metadata_default is None:
        return None
    return _literal(inspected_default) != _literal(rendered_metadata_default)


def _literal(sql: str) -> str:
    return re.sub(r"::[a-z ]+$", "", sql.strip("()")).strip("'\"")


def test_migrated_schema_matches_the_tables_module(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": _different_default}
            )
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert differences == []
