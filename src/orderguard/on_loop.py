"""Blocking code run on the event loop, which gives the loop back while it waits on a socket.

`run` runs a synchronous function in a greenlet of its own on the event loop's thread. Where the
function would block on a socket (`wait`, which store/pg_wire.py asks before each `select()`),
the greenlet hands the socket to the loop and is resumed once the socket is ready; meanwhile the
loop serves other requests. There is no thread, no hand-off and no interpreter's lock changing
hands, which cost an API read more CPU than the read itself (issue #12).

What such a function may do: CPU work, and waits on sockets through `wait`, each socket its own
(a connection of its own; the loop keeps one waiter a socket). It must never wait elsewhere for
something that another function on the loop holds: a statement run through SQLAlchemy's own
execution waits inside psycopg, holding up the loop, so if that statement waits on the server
for a row lock of a transaction whose function is suspended on this loop, neither ever goes on.
Reads take no such locks, so the API runs its reads here and its writes in the thread pool
(a write run here deadlocked in `tests/api/test_unique_races_pg.py`: an INSERT whose unique key
another suspended transaction had written, issue #12's notes). Anything else it blocks on (a file,
a lock, a driver call that waits by itself) blocks the loop for as long, as it would block a
thread; so it must be brief. At most `AT_ONCE` functions are in flight on a loop at
a time (the others wait their turn without blocking), so that they never hold more of the
database pool's connections than it has to spare (store/db.py): a function that found the pool
empty would block the loop, and with it the functions holding the connections.

Each greenlet runs in a copy of the caller's context (its contextvars), as anyio's worker threads
do. If the caller is cancelled while the function waits, the function is finished without the
loop (its remaining waits block), so that no unit of work or connection is left half-done; then
the cancellation goes on.
"""

from __future__ import annotations

import asyncio
import contextvars
import select
import weakref
from collections.abc import Callable
from typing import Any, TypeVar, cast

from greenlet import getcurrent, greenlet

T = TypeVar("T")

AT_ONCE = 16  # functions in flight on one loop; with the thread pool's, within the pool's connections

_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


class _OnLoop(greenlet):
    """A greenlet of `run`; its parent is the event loop's greenlet."""

    detached = False  # its caller was cancelled: its waits block


def wait(fileno: int, *, write: bool) -> bool | None:
    """Within `run`: the loop goes on until the socket is readable (with `write`: readable or
    writable); whether it is readable. Elsewhere None: the caller blocks (`blocking_wait`)."""
    current = getcurrent()
    if not isinstance(current, _OnLoop) or current.detached:
        return None
    loop_greenlet = current.parent
    assert loop_greenlet is not None  # made by `run`, under the loop's own greenlet
    return cast(bool, loop_greenlet.switch((fileno, write)))


def blocking_wait(fileno: int, *, write: bool) -> bool:
    """`wait` without a loop: this thread blocks (without the interpreter's lock) until the socket is
    readable, or with `write` writable; whether it is readable."""
    readable, _, _ = select.select((fileno,), (fileno,) if write else (), ())
    return bool(readable)


async def run(function: Callable[..., T], *args: Any) -> T:
    """`function(*args)` on the event loop's thread; the loop goes on while it waits on a socket."""
    loop = asyncio.get_running_loop()
    turns = _turns.get(loop)
    if turns is None:
        turns = _turns[loop] = asyncio.Semaphore(AT_ONCE)
    async with turns:
        runner = _OnLoop(function)
        runner.gr_context = contextvars.copy_context()
        asked = runner.switch(*args)
        while not runner.dead:
            fileno, write = asked
            try:
                ready = await _ready(loop, fileno, write)
            except BaseException:
                _finish_blocking(runner, asked)
                raise
            asked = runner.switch(ready)
        return cast(T, asked)


async def _ready(loop: asyncio.AbstractEventLoop, fileno: int, write: bool) -> bool:
    done: asyncio.Future[bool] = loop.create_future()

    def ready(readable: bool) -> None:
        if not done.done():
            done.set_result(readable)

    loop.add_reader(fileno, ready, True)
    if write:
        loop.add_writer(fileno, ready, False)
    try:
        return await done
    finally:
        loop.remove_reader(fileno)
        if write:
            loop.remove_writer(fileno)


def _finish_blocking(runner: _OnLoop, asked: tuple[int, bool]) -> None:
    """Run the rest of the function here, its waits blocking; what it returns or raises is dropped."""
    runner.detached = True
    try:
        while not runner.dead:
            fileno, write = asked
            asked = runner.switch(blocking_wait(fileno, write=write))
    except Exception:  # the caller was cancelled: nobody is left to tell
        pass
