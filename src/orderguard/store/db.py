"""Engines and units of work for SQLite (default, WAL) and PostgreSQL.

A unit of work is one transaction. On SQLite a writing unit begins with
`BEGIN IMMEDIATE`, which takes the database's write lock up front, so two
writers never interleave; on PostgreSQL rows are locked with
`SELECT ... FOR UPDATE` by the repositories.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from orderguard.store import pg_session

READ_ONLY = "orderguard_read_only"
# Connections kept open per engine: at least as many as the API's request threads
# (settings.MAX_REQUEST_THREADS), each holding one, so that none is closed and reopened under load.
# The overflow leaves room for the reads in flight on the event loop (orderguard/on_loop.AT_ONCE):
# one of those that found the pool empty would block the loop, and the reads holding connections.
POOL_SIZE = 20
CONNECT_TIMEOUT_SECONDS = 5
# Set for each PostgreSQL session when it starts (libpq's startup options: no statement, no round
# trip). timezone: see make_engine. random_page_cost 1.1 instead of PostgreSQL's default 4, as the
# PostgreSQL documentation advises when the data is cached in memory or on SSDs: every read of
# OrderGuard's is by key, and with the default an index on a table of a few pages is costed as
# four disk seeks, so the planner scans the whole table instead and compares every row (an order's
# lines, postings and payments; with 1.1 PostgreSQL spends a fifth less CPU on an order's page and
# a third less on the orders list: benchmarks/pg_read_cost.py). It overrides the server's own value
# for OrderGuard's sessions only. Only plans change; durability settings are untouched.
PG_SESSION_OPTIONS = "-c timezone=UTC -c random_page_cost=1.1"

# Run inside every writing unit of work, just before it commits, in the context that set it
# (a request and the threads it runs its use cases in); raising rolls the unit back.
_before_commit: ContextVar[Callable[[Connection], None] | None] = ContextVar(
    "orderguard_before_commit", default=None
)


def make_engine(url: str, **kwargs: Any) -> Engine:
    kwargs.setdefault("pool_size", POOL_SIZE)
    kwargs.setdefault("max_overflow", 20)
    if url.startswith("sqlite"):
        return _sqlite_engine(url, **kwargs)
    # No pool_pre_ping (a round trip at every checkout): connections idle for a while are checked
    # instead, and BEGIN, writes and COMMIT share round trips (store/pg_session.py).
    # Sessions in UTC, whatever the server's default: psycopg then hands timestamps back with
    # `datetime.UTC` itself as their tzinfo, which UTCDateTime keeps as they are.
    # A bounded connect (libpq waits for ever by default): the API's reads run on the event loop
    # (orderguard/on_loop.py), where a connection being opened to an unreachable server would hold
    # up every request, /healthz included, for as long. A URL's own connect_timeout is kept.
    # random_page_cost: see PG_SESSION_OPTIONS.
    if url.startswith("postgresql"):
        connect_args = {"options": PG_SESSION_OPTIONS}
        if "connect_timeout" not in make_url(url).query:
            connect_args["connect_timeout"] = str(CONNECT_TIMEOUT_SECONDS)
        kwargs.setdefault("connect_args", connect_args)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
        pg_session.install(engine, read_only=READ_ONLY)
    return engine


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    if url in {"sqlite://", "sqlite:///:memory:"}:
        raise ValueError("use a file for SQLite: several connections must share the database")
    kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Straight to the driver: the same statement, without a full SQLAlchemy execution around it.
        begin = "BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE"
        conn.connection.driver_connection.execute(begin)  # type: ignore[union-attr]

    return engine


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Connection]:
    """One writing transaction: commits on success, rolls back on any exception."""
    with engine.connect() as conn, conn.begin():
        yield conn
        check = _before_commit.get()
        if check is not None:
            check(conn)


@contextmanager
def checked_before_commit(check: Callable[[Connection], None]) -> Iterator[None]:
    """Within this block (and the threads it starts), `check` runs in each writing unit before commit."""
    token = _before_commit.set(check)
    try:
        yield
    finally:
        _before_commit.reset(token)


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read-only unit, without taking the write lock: on SQLite a transaction, so one snapshot; on
    PostgreSQL its statements run in autocommit (store/pg_session.py), each seeing what was committed
    when it began, as they would in a READ COMMITTED transaction."""
    with engine.connect().execution_options(**{READ_ONLY: True}) as conn, conn.begin():
        yield conn
