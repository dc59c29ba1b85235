"""Counting round trips to PostgreSQL: how many times the client sent and then heard back.

psycopg 3 runs every exchange with the server (a statement, the BEGIN it sends before the
first statement of a transaction, COMMIT, a pipeline's sync) as a generator that
`Connection.wait` drives, waiting on the socket; OrderGuard's own pipelines wait in
`store.pg_wire.wait`. `counting()` replaces both with a plain select() loop that also reads
the socket's TCP counters (`TCP_INFO`): each time the socket turns readable after the client
has sent data since the last time it did, that is one round trip. So BEGIN and the statement
sent in one `wait` count two; an answer that arrives in several packets counts one; what
touches no network (psycopg's rollback of an idle connection, setting autocommit) counts
nothing; a pipeline counts once per sync, or more when the client is still sending while the
first answers come back. Linux and TCP only (127.0.0.1 is TCP).

Counting costs a Python wait loop and a getsockopt per wake-up: the benchmark counts on a few
journeys of their own and times the others without it.
"""

from __future__ import annotations

import select
import socket
import struct
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import waiting

from orderguard.store import pg_wire

_TCP_INFO_SIZE = 160
_DATA_SEGS_OUT = struct.Struct("=I")  # tcpi_data_segs_out, at byte 156 of Linux's struct tcp_info
_DATA_SEGS_OUT_AT = 156


class RoundTrips:
    """Round trips counted since the counter was made (set `count` to 0 to start again)."""

    def __init__(self) -> None:
        self.count = 0
        self._sent: dict[int, int] = {}  # socket -> data segments sent when it last turned readable

    def readable(self, fileno: int) -> None:
        sock = socket.socket(fileno=fileno)
        try:
            info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_SIZE)
        finally:
            sock.detach()  # the socket is psycopg's: never close it
        sent = int(_DATA_SEGS_OUT.unpack_from(info, _DATA_SEGS_OUT_AT)[0])
        if sent != self._sent.get(fileno):
            self.count += 1
            self._sent[fileno] = sent

    def wait(self, gen: Generator[Any, Any, Any], fileno: int) -> Any:
        """`psycopg.waiting.wait_select` without its timeout, counting as it goes."""
        try:
            s = next(gen)
            while True:
                rl, wl, _ = select.select(
                    (fileno,) if s & waiting.WAIT_R else (), (fileno,) if s & waiting.WAIT_W else (), ()
                )
                if rl:
                    self.readable(fileno)
                s = gen.send((waiting.READY_R if rl else 0) | (waiting.READY_W if wl else 0))
        except StopIteration as stop:
            return stop.value


@contextmanager
def counting() -> Iterator[RoundTrips]:
    """Within this block the round trips of every (sync) psycopg connection are added to the counter."""
    trips = RoundTrips()
    original = psycopg.Connection.wait

    def wait(self: psycopg.Connection[Any], gen: Any, *args: Any, **kwargs: Any) -> Any:
        return trips.wait(gen, self.pgconn.socket)

    def wire_wait(fileno: int, *, write: bool) -> bool:
        readable = original_wire_wait(fileno, write=write)
        if readable:
            trips.readable(fileno)
        return readable

    original_wire_wait = pg_wire.wait
    psycopg.Connection.wait = wait  # type: ignore[method-assign]
    pg_wire.wait = wire_wait
    try:
        yield trips
    finally:
        psycopg.Connection.wait = original  # type: ignore[method-assign]
        pg_wire.wait = original_wire_wait
