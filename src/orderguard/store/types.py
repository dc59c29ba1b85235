"""Column types shared by the tables."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Dialect, processors
from sqlalchemy.types import DateTime, TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use the clock port")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return _from_aware(value)  # the DateTime impl has made it a datetime already

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], datetime | None] | None:
        """Where the impl reads SQLite's text with `datetime.fromisoformat`, that and
        `process_result_value` in one function (`_from_sqlite`); otherwise as `TypeDecorator` has it."""
        if self.impl_instance.result_processor(dialect, coltype) is processors.str_to_datetime:
            return _from_sqlite
        if dialect.name == "postgresql" and self.impl_instance.result_processor(dialect, coltype) is None:
            return _from_aware
        return super().result_processor(dialect, coltype)


def _from_aware(value: datetime | None) -> datetime | None:
    """A driver's datetime as aware UTC: naive ones are UTC; one already in `UTC` (psycopg's
    `timestamptz` in a session in UTC, as make_engine sets it) is kept as it is."""
    if value is None or value.tzinfo is UTC:
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _from_sqlite(value: str | None) -> datetime | None:
    """`process_result_value(datetime.fromisoformat(value))`. The store writes UTC without an offset;
    parsing the text again with `+00:00` appended costs a fifth of `replace(tzinfo=UTC)`, and
    gives the same datetime (with `UTC` itself as its tzinfo). A page of orders has hundreds."""
    if value is None:
        return None
    at = datetime.fromisoformat(value)
    if at.tzinfo is not None:
        return at.astimezone(UTC)
    if len(value) >= 19:  # a date and a time ("YYYY-MM-DD HH:MM:SS", as SQLAlchemy writes them)
        aware = datetime.fromisoformat(value + "+00:00")
        if aware.tzinfo is UTC:
            return aware
    return at.replace(tzinfo=UTC)
