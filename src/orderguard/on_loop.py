"""Blocking code run on the event loop, which gives the loop back while it waits on a socket.

`run` runs a synchronous function in a greenlet of its own on the event loop's thread. Where the
function would block on a socket (`wait`, which store/pg_wire.py asks before each `select()`),
the greenlet hands the socket to the loop and is resumed once the socket is ready; meanwhile the
loop serves other requests. There is no thread, no hand-off and no interpreter's lock changing
hands, which cost an API read more CPU than the read itself (issue #12).

What such a function may do: CPU work, and waits on sockets through `wait`, each socket its own
(a connection of its own; the loop keeps one waiter a socket). PostgreSQL's connections wait
there twice over: `store/pg_wire.Wire`'s exchanges, and psycopg's own waits (a statement run
through SQLAlchemy's execution, a rollback) on `store/pg_wire.LoopConnection`. It must never wait
elsewhere for something that another function on the loop holds: a wait that blocked the loop
(as psycopg's own did before `LoopConnection`) on a row lock of a transaction whose function is
suspended on this loop would leave neither ever going on (a write run here deadlocked so in
`tests/api/test_unique_races_pg.py`, issue #12's notes). A call that blocks on something else (a
payment provider's HTTP call, a lock, a sleep) goes through `off_loop`, which runs it in a thread
of this module while the loop goes on. At most `AT_ONCE` functions are in flight on a loop at a
time (the others wait their turn without blocking), so that they never hold more of a pool's
connections than it has to spare (store/db.py; the sandbox clock's own pool): a function that
found the pool empty would block the loop, and with it the functions holding the connections.
Turns are taken in the order they were asked, and at most one function starts each pass of the
loop (`orderguard.turns`): a request waits for those that came before it, not for whichever
sockets the loop happened to poll first.

Each greenlet runs in a copy of the caller's context (its contextvars), as anyio's worker threads
do. If the caller is cancelled while the function waits, the function goes on to its end on the
loop in a task of its own (a call in a thread keeps its outcome), so that no unit of work or
connection is left half-done and none of its waits blocks the loop; then the cancellation goes
on. Only if the loop itself is closing is the rest run without it, its waits blocking.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import select
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from greenlet import getcurrent, greenlet

from orderguard.turns import Turns

T = TypeVar("T")
log = logging.getLogger(__name__)

AT_ONCE = 16  # functions in flight on one loop; with the thread pool's, within the pool's connections

_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Turns] = weakref.WeakKeyDictionary()


class _OnLoop(greenlet):
    """A greenlet of `run`; its parent is the event loop's greenlet."""

    detached = False  # the loop is gone (closing): its waits block


@dataclass(slots=True)
class _OffLoop:
    """A call that `off_loop` asked the loop to run in a thread; its future once started."""

    function: Callable[[], Any]
    started: Future[Any] | None = None


def _loop_greenlet() -> greenlet | None:
    """Within `run`, the loop's greenlet that this code's asks go to; elsewhere None."""
    current = getcurrent()
    if not isinstance(current, _OnLoop) or current.detached:
        return None
    assert current.parent is not None  # made by `run`, under the loop's own greenlet
    return current.parent


def on_the_loop() -> bool:
    """Whether this code runs within `run`, its waits given to the loop."""
    return _loop_greenlet() is not None


def wait(fileno: int, *, write: bool) -> bool | None:
    """Within `run`: the loop goes on until the socket is readable (with `write`: readable or
    writable); whether it is readable. Elsewhere None: the caller blocks (`blocking_wait`)."""
    loop_greenlet = _loop_greenlet()
    if loop_greenlet is None:
        return None
    return cast(bool, loop_greenlet.switch((fileno, write)))


def off_loop(function: Callable[..., T], *args: Any) -> T:
    """`function(*args)`, which blocks on something else than a PostgreSQL socket (a payment
    provider's HTTP call, a lock, a sleep): within `run`, in a thread of this module's while the
    loop goes on; elsewhere here. It runs in this code's context (its contextvars)."""
    loop_greenlet = _loop_greenlet()
    if loop_greenlet is None:
        return function(*args)
    call = functools.partial(contextvars.copy_context().run, function, *args)
    return cast(T, loop_greenlet.switch(_OffLoop(call)))


def blocking_wait(fileno: int, *, write: bool) -> bool:
    """`wait` without a loop: this thread blocks (without the interpreter's lock) until the socket is
    readable, or with `write` writable; whether it is readable."""
    readable, _, _ = select.select((fileno,), (fileno,) if write else (), ())
    return bool(readable)


async def run(function: Callable[..., T], *args: Any) -> T:
    """`function(*args)` on the event loop's thread; the loop goes on while it waits on a socket.

    If the caller is cancelled meanwhile, the function goes on to its end on the loop, in a task of
    its own (what it returns or raises is dropped), and the cancellation goes on: a unit of work is
    never left half-done, and its waits never block the loop."""
    loop = asyncio.get_running_loop()
    turns = _turns.get(loop)
    if turns is None:
        turns = _turns[loop] = Turns(AT_ONCE)
    async with turns:
        runner = _OnLoop(function)
        runner.gr_context = contextvars.copy_context()
        asked = runner.switch(*args)
        while not runner.dead:
            try:
                ok, answer = await _answer(loop, asked)
            except asyncio.CancelledError:
                _go_on_alone(loop, runner, asked)
                raise
            except BaseException:  # the loop could not wait (a socket it refused): finish without it
                _finish_blocking(runner, asked)
                raise
            asked = _handed(runner, ok, answer)
        return cast(T, asked)


Asked = tuple[int, bool] | _OffLoop  # what a function asks of the loop: a socket's wait, or a call


async def _answer(loop: asyncio.AbstractEventLoop, asked: Asked) -> tuple[bool, Any]:
    """The answer to hand the function: (True, what to return) or (False, what to raise)."""
    if not isinstance(asked, _OffLoop):
        return True, await _ready(loop, *asked)
    if asked.started is None:
        asked.started = _threads().submit(_outcome, asked.function)
    # Shielded: a cancelled caller does not lose the call's outcome, which the function still needs.
    return await asyncio.shield(asyncio.wrap_future(asked.started, loop=loop))


def _handed(runner: _OnLoop, ok: bool, answer: Any) -> Any:
    """The function goes on with `answer` returned (`ok`) or raised where it asked; what it asks
    next, or what it returned once done."""
    return runner.switch(answer) if ok else runner.throw(answer)


def _outcome(function: Callable[[], Any]) -> tuple[bool, Any]:
    """What the call returned, or raised, to be handed back to the function as it is."""
    try:
        return True, function()
    except Exception as error:
        return False, error


def _go_on_alone(loop: asyncio.AbstractEventLoop, runner: _OnLoop, asked: Asked) -> None:
    task = loop.create_task(_drive(loop, runner, asked))
    _alone.add(task)
    task.add_done_callback(_alone.discard)


async def _drive(loop: asyncio.AbstractEventLoop, runner: _OnLoop, asked: Asked) -> None:
    """The rest of a function whose caller was cancelled, on the loop; if the loop itself is closing
    (this task cancelled), the rest without it."""
    try:
        while not runner.dead:
            ok, answer = await _answer(loop, asked)
            asked = _handed(runner, ok, answer)
    except asyncio.CancelledError:
        _finish_blocking(runner, asked)
        raise
    except Exception:
        log.warning("a function run on the loop failed after its caller was cancelled", exc_info=True)


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


def _finish_blocking(runner: _OnLoop, asked: Asked) -> None:
    """Run the rest of the function here, its waits blocking; what it returns or raises is dropped."""
    runner.detached = True
    try:
        while not runner.dead:
            if isinstance(asked, _OffLoop):
                ok, outcome = _outcome(asked.function) if asked.started is None else asked.started.result()
                asked = _handed(runner, ok, outcome)
            else:
                fileno, write = asked
                asked = runner.switch(blocking_wait(fileno, write=write))
    except Exception:  # the caller is gone (cancelled, or the loop failed it): nobody is left to tell
        pass


_alone: set[asyncio.Task[None]] = set()  # functions going on after their caller was cancelled
_pool: ThreadPoolExecutor | None = None


def _threads() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=AT_ONCE, thread_name_prefix="orderguard-off-loop")
    return _pool
