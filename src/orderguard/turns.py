"""Turns on an event loop: a bounded number of holders, first come first served, one start a pass.

`orderguard.on_loop` runs the API's reads (and, on PostgreSQL, its writes) on the event loop, each
holding the loop for its CPU time: about 2 ms for a page of 50 orders. While one runs, the requests
that arrive wait in their sockets. With a semaphore, each pass of the loop read every socket that
had become readable, then started all their functions one after the other, in the order the
sockets were polled rather than the order the requests came: a request that arrived first in one
pass could start last in the next, and wait for nearly two passes of others. At 16 connections a
page of orders was answered in 35 ms at the median and 57-67 ms at the 99th percentile, and now
and then after 300 ms (benchmarks/README.md, issue #12, "Fifteenth change").

`Turns` starts at most one holder a pass. The loop reads its sockets between two starts, so a
request that arrives while others wait queues behind them and waits for the ones that came before
it, never again for those that came after. Measured, that bounded the list's slowest answers
(270-400 ms before, 67-116 ms after) without moving its 99th percentile, which on a 2-core machine
shared with the load generator and the database follows how fast the CPU happens to be. A waiter
that is cancelled leaves the queue; one that is cancelled after its turn came gives the turn back.
"""

from __future__ import annotations

import asyncio
from collections import deque
from types import TracebackType


class Turns:
    """At most `capacity` holders at a time (`async with turns:`), in the order they asked, and at
    most one new holder each pass of the running loop. For one event loop."""

    __slots__ = ("_capacity", "_held", "_starting", "_waiting")

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("a turn needs a capacity of at least 1")
        self._capacity = capacity
        self._held = 0
        self._starting = False  # a holder started in this pass: the next starts in a later one
        self._waiting: deque[asyncio.Future[None]] = deque()

    @property
    def held(self) -> int:
        return self._held

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def __aenter__(self) -> None:
        if not self._waiting and not self._starting and self._held < self._capacity:
            self._start()
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.cancelled() or not turn.done():
                if turn in self._waiting:  # else already passed over by `_give`
                    self._waiting.remove(turn)
            else:  # the turn came, then the waiter was cancelled before it took it
                self._leave()
            raise

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._leave()

    def _start(self) -> None:
        self._held += 1
        self._starting = True
        asyncio.get_running_loop().call_soon(self._next_pass)

    def _next_pass(self) -> None:
        self._starting = False
        self._give()

    def _leave(self) -> None:
        self._held -= 1
        self._give()

    def _give(self) -> None:
        while self._waiting and not self._starting and self._held < self._capacity:
            turn = self._waiting.popleft()
            if not turn.done():  # a cancelled waiter that has not run yet is passed over
                turn.set_result(None)
                self._start()
