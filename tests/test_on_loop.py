"""orderguard/on_loop.py: blocking code on the event loop, which goes on while that code waits on a socket."""

from __future__ import annotations

import asyncio
import contextvars
import socket
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from orderguard import on_loop
from orderguard.store import pg_wire
from orderguard.store.pg_wire import Wire

asked: contextvars.ContextVar[str] = contextvars.ContextVar("asked", default="none")


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def _receive(sock: socket.socket, log: list[str]) -> bytes:
    log.append("waiting")
    assert pg_wire.wait(sock.fileno(), write=False) is True  # as the PostgreSQL wire waits
    log.append("woken")
    return sock.recv(10)


def test_the_loop_goes_on_while_the_function_waits_on_its_socket(pair: tuple[socket.socket, ...]) -> None:
    reader, writer = pair
    log: list[str] = []

    async def both() -> bytes:
        waiting = asyncio.ensure_future(on_loop.run(_receive, reader, log))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        log.append("the loop ran meanwhile")
        writer.send(b"answer")
        return await waiting

    assert asyncio.run(both()) == b"answer"
    assert log == ["waiting", "the loop ran meanwhile", "woken"]


def test_outside_run_wait_leaves_the_blocking_to_its_caller(pair: tuple[socket.socket, ...]) -> None:
    assert on_loop.wait(pair[0].fileno(), write=False) is None


def test_a_wait_to_write_says_whether_the_socket_is_also_readable(pair: tuple[socket.socket, ...]) -> None:
    reader, writer = pair

    def waits() -> tuple[bool, bool]:
        quiet = pg_wire.wait(reader.fileno(), write=True)  # writable, nothing to read
        writer.send(b"x")
        spoken = pg_wire.wait(reader.fileno(), write=True)
        return quiet, spoken

    assert asyncio.run(on_loop.run(waits)) == (False, True)


def test_what_the_function_raises_its_caller_gets() -> None:
    def fails() -> None:
        raise LookupError("no such order")

    with pytest.raises(LookupError, match="no such order"):
        asyncio.run(on_loop.run(fails))


def test_the_function_sees_its_callers_context_and_changes_only_its_copy() -> None:
    def reads_and_sets() -> str:
        seen = asked.get()
        asked.set("inside")
        return seen

    async def caller() -> tuple[str, str]:
        asked.set("caller")
        seen = await on_loop.run(reads_and_sets)
        return seen, asked.get()

    assert asyncio.run(caller()) == ("caller", "caller")


def test_a_cancelled_caller_leaves_the_function_finished_not_half_done(
    pair: tuple[socket.socket, ...],
) -> None:
    reader, writer = pair
    log: list[str] = []

    def unit_of_work() -> None:
        log.append("begun")
        try:
            _receive(reader, log)
        finally:
            log.append("ended")

    async def cancelled() -> None:
        waiting = asyncio.ensure_future(on_loop.run(unit_of_work))
        await asyncio.sleep(0)
        writer.send(b"late")  # the rest then runs without the loop
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting

    asyncio.run(cancelled())
    assert log == ["begun", "waiting", "woken", "ended"]


def test_a_cancelled_callers_function_goes_on_waiting_through_the_loop(
    pair: tuple[socket.socket, ...],
) -> None:
    """Its waits never block the loop: a write waiting for a lock that another function on the same
    loop holds must let that function go on."""
    reader, writer = pair
    log: list[str] = []

    async def cancelled() -> None:
        waiting = asyncio.ensure_future(on_loop.run(_receive, reader, log))
        await asyncio.sleep(0)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        log.append("the loop goes on")  # the function still waits for its answer
        writer.send(b"late")
        for _ in range(5):
            await asyncio.sleep(0)

    asyncio.run(cancelled())
    assert log == ["waiting", "the loop goes on", "woken"]


def test_at_most_at_once_functions_are_in_flight(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(on_loop, "AT_ONCE", 2)
    pairs = [socket.socketpair() for _ in range(3)]  # a socket each, as each has its connection
    started: list[int] = []

    def one(i: int) -> None:
        started.append(i)
        pg_wire.wait(pairs[i][0].fileno(), write=False)

    async def three() -> list[int]:
        runs = [asyncio.ensure_future(on_loop.run(one, i)) for i in range(3)]
        for _ in range(5):
            await asyncio.sleep(0)
        in_flight = list(started)
        for _, writer in pairs:
            writer.send(b"go")
        await asyncio.gather(*runs)
        return in_flight

    try:
        assert asyncio.run(three()) == [0, 1]
        assert started == [0, 1, 2]
    finally:
        for a, b in pairs:
            a.close()
            b.close()


def _through_wire(driver: psycopg.Connection[Any], sleep: float) -> None:
    Wire(driver).exchange([("SELECT pg_sleep(%(s)s)", {"s": sleep}, False)])


def _through_psycopg(driver: psycopg.Connection[Any], sleep: float) -> None:
    driver.execute("SELECT pg_sleep(%s)", (sleep,))  # as SQLAlchemy's execution runs a statement


@pytest.mark.parametrize(
    ("connect", "send"),
    [(psycopg.Connection.connect, _through_wire), (pg_wire.LoopConnection.connect, _through_psycopg)],
    ids=["wire", "psycopg-on-a-loop-connection"],
)
def test_postgresql_reads_on_one_loop_overlap_their_waits(
    pg_dsn: str, connect: Callable[..., psycopg.Connection[Any]], send: Callable[..., None]
) -> None:
    """A slow read waits on the server; a quick one on the same loop starts, and ends, meanwhile:
    through `Wire`, and through psycopg's own waits on a `LoopConnection`."""
    log: list[str] = []

    def read(name: str, sleep: float, driver: psycopg.Connection[Any]) -> None:
        log.append(f"{name} sent")
        send(driver, sleep)
        log.append(f"{name} answered")

    async def both(slow: psycopg.Connection[Any], quick: psycopg.Connection[Any]) -> None:
        first = asyncio.ensure_future(on_loop.run(read, "slow", 0.5, slow))
        await asyncio.sleep(0)
        await on_loop.run(read, "quick", 0, quick)
        await first

    with connect(pg_dsn, autocommit=True) as slow, connect(pg_dsn, autocommit=True) as quick:
        asyncio.run(both(slow, quick))
    assert log == ["slow sent", "quick sent", "quick answered", "slow answered"]


def test_off_loop_runs_a_blocking_call_in_a_thread_while_the_loop_goes_on() -> None:
    import threading

    release = threading.Event()
    log: list[str] = []

    def blocking(name: str) -> str:
        log.append(f"{name} blocking")
        assert release.wait(5)
        return threading.current_thread().name

    def fails() -> None:
        raise LookupError("the provider said no")

    def function() -> tuple[str, str]:
        thread = on_loop.off_loop(blocking, "call")
        try:
            on_loop.off_loop(fails)
        except LookupError as e:  # the call's error is the function's, raised where it called
            return thread, str(e)
        raise AssertionError("not raised")

    async def both() -> tuple[str, str]:
        running = asyncio.ensure_future(on_loop.run(function))
        while not log:
            await asyncio.sleep(0.01)  # the loop runs while the call blocks its thread
        log.append("the loop ran meanwhile")
        release.set()
        return await running

    thread, error = asyncio.run(both())
    assert thread.startswith("orderguard-off-loop") and error == "the provider said no"
    assert log == ["call blocking", "the loop ran meanwhile"]
    assert on_loop.off_loop(len, "abc") == 3  # outside `run`: called where it is
