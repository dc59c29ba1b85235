"""Where the API runs a synchronous function that opens units of work: on the event loop or in a thread.

On PostgreSQL every wait of a unit is on a connection's socket, which `orderguard.on_loop` hands
to the event loop: the function runs on the loop's thread in a greenlet, with no hand-off to a
thread and back (the hand-off and the interpreter's lock passed between threads cost a request
more CPU than its own statements; benchmarks/README.md, issue #12). On SQLite a write waits in the
process for the database file's write lock, which the loop must never do: the thread pool.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool

from orderguard import on_loop
from orderguard.app.context import Context

Runner = Callable[..., Awaitable[Any]]  # runner(function, *args): function(*args)'s answer


def runner_for(ctx: Context | None) -> Runner:
    """`on_loop.run` where `ctx`'s units wait only on sockets, else `run_in_threadpool` (also with no
    context known)."""
    if ctx is not None and ctx.units.waits_only_on_sockets:
        return on_loop.run
    return run_in_threadpool
