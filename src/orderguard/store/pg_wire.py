"""Statements sent to PostgreSQL together, on libpq's pipeline, without psycopg's cursors.

psycopg's own pipeline runs each statement through a cursor and, after each one, a step of its
send-and-receive loop: a socket write per statement, and about 75 µs of client CPU a statement
(measured: ten short prepared SELECTs in one pipeline took 770 µs of CPU and 1.7 ms of wall time
through cursors, 120 µs and 0.35 ms here). `Wire.exchange` queues every statement in libpq's
output buffer, adds one sync, writes the buffer, then reads the answers in order; the waits are
`select()` calls, which release the GIL.

What psycopg did for us and this module does the same way, with psycopg's own parts:
- parameters: `%(name)s` (text) and `%(name)b` (binary) placeholders, split as psycopg splits
  them (once per SQL text, `converted`) and dumped by psycopg's adapters of the connection (a
  `Transformer` of the connection);
- rows: loaded by the connection's loaders, text results as psycopg's cursors asked for them, so
  every value is the same Python value as before;
- prepared statements: a statement (its SQL and parameter types) is prepared on its second use in
  the connection's session, under a name of ours (`og_<n>`, never psycopg's `_pg3_<n>`), and at
  most `PREPARED_MAX` are kept (the least recently used is deallocated, in the same pipeline). A
  prepare is counted as done only once the server has answered it. A prepared statement outlives
  the transaction it was made in, rolled back or not; psycopg itself prepares nothing on the
  connection (its rollback would deallocate every statement of the session);
- errors: the first failed statement's error is raised as psycopg raises it
  (`psycopg.errors.UniqueViolation`...), after the pipeline is drained up to its sync, so the
  connection is ready for the rollback. A lost connection raises psycopg's `OperationalError`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from psycopg import Connection, errors, pq
from psycopg._queries import _query2pg_nocache
from psycopg.abc import PQGen
from psycopg.adapt import PyFormat, Transformer
from psycopg.waiting import READY_R, READY_W, WAIT_W

from orderguard import on_loop

PREPARE_ON_USE = 2  # prepared on its second execution in a session
PREPARED_MAX = 200  # prepared statements kept per connection
CONVERTED_MAX = 1024  # statements' SQL kept converted to PostgreSQL's form, per process

_OK = (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK, pq.ExecStatus.EMPTY_QUERY)
_TEXT = pq.Format.TEXT


@dataclass(slots=True)
class Answer:
    """A statement's answer: its rows (none for a write) and how many rows it changed."""

    rows: list[tuple[Any, ...]] = field(default_factory=list)
    rowcount: int = -1


# What is sent: SQL with psycopg placeholders, and its parameters (or, with `many`, a list of
# parameter sets, one execution each, whose answers are summed into one).
Outgoing = tuple[str, Mapping[str, Any] | Sequence[Mapping[str, Any]] | None, bool]


@lru_cache(maxsize=CONVERTED_MAX)
def converted(sql: str, encoding: str) -> tuple[bytes, list[PyFormat], list[str]]:
    """`sql`'s placeholders `%(name)s` as `$1`..., the formats asked for, and the names in order.

    psycopg's `PostgresQuery.convert` does the same split at every execution of a statement over
    4,096 bytes or 50 parameters (its cache leaves those out, for ORMs' one-off multi-row INSERTs):
    the cart's read, a checkout's multi-row INSERTs. This module's statements come from a few
    hundred shapes (store/driver.py), so each is split once."""
    query, formats, order, _ = _query2pg_nocache(sql.encode(encoding), encoding)
    return query, formats, order or []


def wait(fileno: int, *, write: bool) -> bool:
    """Block (without the GIL) until the socket is readable, or with `write` writable; whether it
    is readable. A module function, so that benchmarks/round_trips.py can count the waits. Within
    `on_loop.run` the event loop waits instead, and runs other work meanwhile."""
    on_loop_answer = on_loop.wait(fileno, write=write)
    if on_loop_answer is not None:
        return on_loop_answer
    return on_loop.blocking_wait(fileno, write=write)


class LoopConnection(Connection[Any]):
    """A psycopg connection whose waits on the server, within `on_loop.run`, give the event loop
    back as `Wire`'s do: a statement run through SQLAlchemy's own execution (or a rollback) then
    never holds up the loop while the server makes it wait, for a row lock say, on a transaction
    whose function is suspended on the same loop. Elsewhere it waits as psycopg does."""

    def wait(self, gen: PQGen[Any], interval: float = 0.1, timeout: float | None = None) -> Any:
        if timeout is not None or not on_loop.on_the_loop():
            return super().wait(gen, interval, timeout)
        fileno = self.pgconn.socket
        try:
            waiting_for = next(gen)
            while True:
                readable = on_loop.wait(fileno, write=bool(waiting_for & WAIT_W))
                waiting_for = gen.send(READY_R if readable else READY_W)
        except StopIteration as done:
            return done.value


class Wire:
    """One psycopg connection's libpq handle, its prepared statements, and the means to send a
    batch of statements in one round trip. Used by one thread at a time (the pool's checkout)."""

    __slots__ = ("_counts", "_encoding", "_names", "_next_name", "_tx", "driver", "pgconn")

    def __init__(self, driver: Connection[Any]) -> None:
        self.driver = driver
        # psycopg prepares nothing of its own on this connection: once it has, its rollback sends
        # DEALLOCATE ALL, which would take this module's prepared statements with its own.
        driver.prepare_threshold = None
        self.pgconn = driver.pgconn
        self._tx = Transformer(driver)
        self._encoding = self._tx.encoding
        self._names: OrderedDict[tuple[bytes, tuple[int, ...]], bytes] = OrderedDict()
        self._counts: dict[tuple[bytes, tuple[int, ...]], int] = {}
        self._next_name = 0

    def exchange(self, statements: Sequence[Outgoing]) -> list[Answer]:
        """Send `statements` in one pipeline and return their answers, in order."""
        pgconn = self.pgconn
        pgconn.enter_pipeline_mode()
        # What each result of the pipeline answers: an index into `answers`, or a prepare's key.
        expected: list[int | tuple[tuple[bytes, tuple[int, ...]], bytes]] = []
        answers = [Answer() for _ in statements]
        try:
            for at, (sql, params, many) in enumerate(statements):
                for one in params if many else (params,):  # type: ignore[union-attr]
                    self._send(sql, one, expected)  # type: ignore[arg-type]
                    expected.append(at)
        finally:
            pgconn.pipeline_sync()
            self._flush()
            failure = self._receive(expected, answers)
            pgconn.exit_pipeline_mode()
        if failure is not None:
            raise failure
        return answers

    def _send(self, sql: str, params: Mapping[str, Any] | None, expected: list[Any]) -> None:
        if params is None:  # BEGIN, COMMIT and the like: sent as they are, never prepared
            self.pgconn.send_query_params(sql.encode(self._encoding), None, result_format=_TEXT)
            return
        query, formats, order = converted(sql, self._encoding)
        try:
            values = [params[name] for name in order]
        except KeyError as missing:
            raise errors.ProgrammingError(f"query parameter missing: {missing.args[0]}") from None
        tx = self._tx
        dumped = tx.dump_sequence(values, formats)
        types = tx.types or ()
        key = (query, types)
        name = self._names.get(key)
        if name is not None:
            self._names.move_to_end(key)
        else:
            count = self._counts.get(key, 0) + 1
            self._counts[key] = count
            if count >= PREPARE_ON_USE:
                name = self._prepare(key, expected)
        if name is None:
            self.pgconn.send_query_params(
                query, dumped, param_types=types, param_formats=tx.formats, result_format=_TEXT
            )
        else:
            self.pgconn.send_query_prepared(name, dumped, param_formats=tx.formats, result_format=_TEXT)

    def _prepare(self, key: tuple[bytes, tuple[int, ...]], expected: list[Any]) -> bytes:
        if len(self._names) >= PREPARED_MAX:
            _, old = self._names.popitem(last=False)
            self.pgconn.send_query_params(b"DEALLOCATE " + old, None)
            expected.append((None, old))
        name = b"og_%d" % self._next_name
        self._next_name += 1
        self.pgconn.send_prepare(name, key[0], param_types=key[1])
        expected.append((key, name))
        del self._counts[key]
        return name

    def _flush(self) -> None:
        pgconn = self.pgconn
        while pgconn.flush():
            if wait(pgconn.socket, write=True):  # the server answers while we write: take it in,
                pgconn.consume_input()  # or both may wait on each other

    def _next(self) -> pq.abc.PGresult | None:
        pgconn = self.pgconn
        while pgconn.is_busy():
            wait(pgconn.socket, write=False)
            pgconn.consume_input()
        return pgconn.get_result()

    def _receive(self, expected: list[Any], answers: list[Answer]) -> Exception | None:
        """Read every result up to the sync; the first error is returned, not raised."""
        failure: Exception | None = None
        tx = self._tx
        for what in expected:
            while (result := self._next()) is not None:
                status = result.status
                if status not in _OK:
                    if failure is None and status != pq.ExecStatus.PIPELINE_ABORTED:
                        failure = errors.error_from_result(result, encoding=self.driver.info.encoding)
                    if isinstance(what, tuple) and what[0] is not None:
                        self._names.pop(what[0], None)  # never prepared
                    continue
                if isinstance(what, int):
                    answer = answers[what]
                    if status == pq.ExecStatus.TUPLES_OK:
                        tx.set_pgresult(result)
                        answer.rows += tx.load_rows(0, result.ntuples, tuple)
                    tuples = result.command_tuples
                    if tuples is not None:
                        answer.rowcount = tuples if answer.rowcount < 0 else answer.rowcount + tuples
                elif what[0] is not None:
                    self._names[what[0]] = what[1]
        result = self._next()
        if result is None or result.status != pq.ExecStatus.PIPELINE_SYNC:
            raise errors.OperationalError("the pipeline ended without its sync")
        return failure
