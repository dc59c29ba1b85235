"""PostgreSQL in few round trips: BEGIN, writes and COMMIT travel with the statements around them.

Over TCP every exchange with the server costs a round trip, and a command's time was mostly
spent waiting for them: psycopg sends BEGIN on its own before a transaction's first statement,
every write waited for its answer, and COMMIT for its own. Here, for the engines of
`store.db.make_engine`:

- The driver connection is in psycopg's autocommit mode and the transaction's BEGIN is sent by
  us, queued in front of the unit's first statement (SQLAlchemy still runs the transaction:
  `begin`, `commit` and `rollback` events).
- A write whose answer the caller does not need (`Statement.send`, `Statement.run_many`) is
  queued, not sent. The queue goes out in one pipeline (`store.pg_wire`: libpq's pipeline mode,
  without psycopg's cursors) with the next statement that must be answered, or with COMMIT. A
  unit that reads, then writes, then commits makes (reads + 1) round trips.
- A few reads that do not depend on each other go out in one pipeline (`Statement.rows` of
  `store.driver.rows_together`).
- A read whose answer is wanted only later rides with the next exchange (`PgSession.ride`,
  `store.driver.read_later`): a request's token lookup travels with its page's reads. Riders
  still waiting when the unit ends go out with its end, so none is left on the connection.
- A read-only unit (`store.db.reading`) sends no BEGIN and no COMMIT: its statements run in
  autocommit. Under PostgreSQL's READ COMMITTED each statement sees what was committed when it
  began, in a transaction or not, so the unit sees the same rows and saves the COMMIT's round trip
  and two statements (an order's page: 2 exchanges instead of 3). A write queued in such a unit is
  refused (`WriteInReadingUnit`): it would commit on its own.

What does not change: the statements and their order, so locks are taken in the same order;
a transaction is still all or nothing (a queued write that fails makes the pipeline fail, and
the unit rolls back); errors are SQLAlchemy's (`IntegrityError` and so on), raised by the
statement that carried the failed write to the server or by the commit, never lost. A statement
run through SQLAlchemy itself (`Connection.execute`) first sends the queue on its own.

Stale connections: instead of `pool_pre_ping` (a round trip at every checkout), a connection is
pinged when checked out only if the server has said something since it was last used (its
socket is readable: a server that terminates a connection, on restart or by
`pg_terminate_backend`, sends an error and closes it; checking costs one `select()` call, no
round trip), or if it sat in the pool longer than `PING_AFTER_IDLE` seconds (a connection
dropped silently on the way, without a word from the server). A failed ping replaces the
connection (SQLAlchemy's `DisconnectionError`: the pool retries with a new one). A connection
lost without a word within those seconds fails the one unit that meets it; SQLAlchemy then
invalidates the pool, so the next units connect afresh.
"""

from __future__ import annotations

import select
import time
from collections.abc import Mapping, Sequence
from typing import Any

from psycopg.pq import TransactionStatus
from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DisconnectionError

from orderguard.store.pg_wire import Answer, LoopConnection, Outgoing, Wire

PING_AFTER_IDLE = 10.0  # seconds in the pool after which a connection is checked before use
_SESSION = "orderguard_pg_session"
_IDLE_SINCE = "orderguard_idle_since"

Query = tuple[str, Mapping[str, Any]]


class Counted:
    """How many rows a queued write changed: known once it has been sent (with the unit's next
    answered statement, or with its COMMIT)."""

    __slots__ = ("_rowcount",)

    def __init__(self, rowcount: int | None = None) -> None:
        self._rowcount = rowcount

    def set(self, rowcount: int) -> None:
        self._rowcount = rowcount

    @property
    def rowcount(self) -> int:
        if self._rowcount is None:
            raise RuntimeError("the write has not been sent yet: ask once its unit has committed")
        return self._rowcount


class Riding:
    """Reads sent with their session's next exchange: their answers, once it has happened (None
    before, and for good if that exchange failed or the unit was discarded first)."""

    __slots__ = ("answers", "queries")

    def __init__(self, queries: Sequence[Query]) -> None:
        self.queries = queries
        self.answers: list[Answer] | None = None


class WriteInReadingUnit(RuntimeError):
    """A write was queued in a read-only unit, which runs in autocommit on PostgreSQL."""


class PgSession:
    """What is waiting to be sent on one driver connection: the transaction's BEGIN and writes."""

    __slots__ = ("begin", "driver", "reading", "riders", "wire", "writes")

    def __init__(self, driver: Any) -> None:
        self.driver = driver  # the psycopg connection
        self.wire = Wire(driver)  # its libpq handle: statements sent together (store/pg_wire.py)
        self.begin = False  # BEGIN is due before the next statement
        self.reading = False  # a read-only unit is open: no BEGIN, no COMMIT, no write
        # (sql, params or a list of them, many, where to put its row count if it is asked for)
        self.writes: list[tuple[str, Any, bool, Counted | None]] = []
        self.riders: list[Riding] = []  # reads to send with the next exchange

    @property
    def pending(self) -> bool:
        return self.begin or bool(self.writes) or bool(self.riders)

    def queue(self, sql: str, params: Any, *, many: bool = False, counted: Counted | None = None) -> None:
        if self.reading:
            raise WriteInReadingUnit(f"a read-only unit of work cannot write: {sql[:60]}")
        self.writes.append((sql, params, many, counted))

    def ride(self, queries: Sequence[Query]) -> Riding:
        """Reads to send with the next exchange, after the queued writes; their answers are set on
        what this returns."""
        riding = Riding(queries)
        self.riders.append(riding)
        return riding

    def execute(self, queries: Sequence[Query], *, commit: bool = False) -> list[Answer]:
        """BEGIN if due, the queued writes, the riders, `queries` (and COMMIT) in one round trip;
        returns each query's answer, the queued writes' row counts and the riders' answers set
        where they were asked for."""
        begun, self.begin = self.begin, False
        writes, self.writes = self.writes, []
        riders, self.riders = self.riders, []
        sent: list[Outgoing] = [("BEGIN", None, False)] if begun else []
        sent += [(sql, params, many) for sql, params, many, _ in writes]
        sent += [(sql, params, False) for riding in riders for sql, params in riding.queries]
        sent += [(sql, params, False) for sql, params in queries]
        if commit:
            sent.append(("COMMIT", None, False))
        answers = self.wire.exchange(sent)[int(begun) :]
        for (_, _, _, counted), answer in zip(writes, answers, strict=False):
            if counted is not None:
                counted.set(answer.rowcount)
        at = len(writes)
        for riding in riders:
            riding.answers = answers[at : at + len(riding.queries)]
            at += len(riding.queries)
        return answers[at : at + len(queries)]

    def flush(self) -> None:
        """Send what is pending, and wait for it."""
        if self.pending:
            self.execute(())

    def commit(self) -> None:
        """The pending writes, riders and COMMIT in one round trip; nothing when no statement was sent
        (and no COMMIT on a connection in autocommit isolation, where only the writes go)."""
        self.reading = False
        if self.begin and not self.writes and not self.riders:
            self.begin = False  # the server never saw this transaction
            return
        in_transaction = self.begin or self.driver.info.transaction_status != TransactionStatus.IDLE
        if not self.writes and not self.riders and not in_transaction:
            return
        self.execute((), commit=in_transaction)

    def discard(self) -> None:
        self.begin = False
        self.reading = False
        self.writes = []
        self.riders = []


def session(conn: Connection) -> PgSession | None:
    """The session of the connection's driver connection (made when the engine connected); None on
    the engines of other modules (an admin engine, for instance)."""
    if conn.invalidated:  # the connection was lost: nothing is pending on it any more
        return None
    found: PgSession | None = conn.connection.info.get(_SESSION)
    return found


def raise_as_sqlalchemy(conn: Connection, error: BaseException, sql: str | None) -> None:
    """Raise `error` as `Connection.execute` would: wrapped (IntegrityError...), the pool told of a
    lost connection."""
    conn._handle_dbapi_exception(error, sql, None, None, None)


def _server_spoke(driver: Any) -> bool:
    """Whether an idle connection has input waiting: nothing is owed to it, so it is a farewell (or
    a notice); either way the connection is worth a ping."""
    try:
        readable, _, _ = select.select([driver.fileno()], [], [], 0)
    except Exception:  # closed already: the ping will fail and replace it
        return True
    return bool(readable)


def install(engine: Engine, *, read_only: str) -> None:
    """Wire the session into a PostgreSQL engine's connections and transactions; a connection whose
    execution option `read_only` is set runs its units without BEGIN and COMMIT (reads only)."""

    _skip_when_idle(engine)

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> LoopConnection:
        return LoopConnection.connect(*cargs, **cparams)

    @event.listens_for(engine, "connect")
    def _on_connect(driver: Any, record: Any) -> None:
        record.info[_SESSION] = PgSession(driver)
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _on_checkin(driver: Any, record: Any) -> None:
        if record is not None:
            record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(driver: Any, record: Any, _proxy: Any) -> None:
        if _server_spoke(driver) or time.monotonic() - record.info.get(_IDLE_SINCE, 0.0) > PING_AFTER_IDLE:
            try:
                driver.autocommit = True
                driver.execute("SELECT 1")
            except Exception as e:
                raise DisconnectionError(f"connection idle in the pool is gone: {e}") from e
        elif not driver.autocommit:  # SQLAlchemy resets it after an isolation_level option
            driver.autocommit = True
        record.info[_SESSION].discard()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        pending = session(conn)
        if pending is None or conn._is_autocommit_isolation():
            return
        if conn.get_execution_options().get(read_only):
            pending.reading = True
        else:
            pending.begin = True

    @event.listens_for(engine, "commit")
    def _on_commit(conn: Connection) -> None:
        pending = session(conn)
        if pending is None:
            return
        try:
            pending.commit()
        except Exception as e:
            pending.discard()
            raise_as_sqlalchemy(conn, e, "COMMIT")

    @event.listens_for(engine, "rollback")
    def _on_rollback(conn: Connection) -> None:
        pending = session(conn)
        if pending is not None:
            pending.discard()

    @event.listens_for(engine, "before_cursor_execute")
    def _before_execute(conn: Connection, *_: Any) -> None:
        pending = session(conn)
        if pending is not None and pending.pending:
            try:
                pending.flush()
            except Exception as e:
                pending.discard()
                raise_as_sqlalchemy(conn, e, None)


def _skip_when_idle(engine: Engine) -> None:
    """The dialect's COMMIT and ROLLBACK on the driver connection, only when a transaction is open
    on it. After a unit, `PgSession.commit` has sent COMMIT and the connection is idle; so is it
    when the pool resets a connection given back. psycopg then sends nothing either, but still
    takes its lock and drives an empty exchange through `Connection.wait`, 0.8 µs each: an empty
    unit took 26 µs, now 23. A connection in any other state (a transaction open or failed, lost:
    UNKNOWN) goes to psycopg as before."""
    dialect = engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def do_commit(dbapi_connection: Any) -> None:
        if dbapi_connection.pgconn.transaction_status != TransactionStatus.IDLE:
            commit(dbapi_connection)

    def do_rollback(dbapi_connection: Any) -> None:
        if dbapi_connection.pgconn.transaction_status != TransactionStatus.IDLE:
            rollback(dbapi_connection)

    dialect.do_commit = do_commit  # type: ignore[method-assign]
    dialect.do_rollback = do_rollback  # type: ignore[method-assign]
