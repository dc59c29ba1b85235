"""orderguard/turns.py: turns taken first come first served, at most one new holder a pass of the loop."""

from __future__ import annotations

import asyncio
from itertools import pairwise

import pytest

from orderguard.turns import Turns


async def _passes(n: int) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def _hold(turns: Turns, name: str, log: list[str], release: asyncio.Event) -> None:
    async with turns:
        log.append(name)
        await release.wait()


def test_holders_start_in_the_order_they_asked() -> None:
    async def scenario() -> list[str]:
        turns, log, release = Turns(1), [], asyncio.Event()
        tasks = []
        for name in "abcde":
            tasks.append(asyncio.create_task(_hold(turns, name, log, release)))
            await asyncio.sleep(0)  # each asks in a pass of its own, in this order
        release.set()
        await asyncio.gather(*tasks)
        return log

    assert asyncio.run(asyncio.wait_for(scenario(), 5)) == list("abcde")


def test_at_most_one_holder_starts_a_pass_and_never_more_than_the_capacity() -> None:
    async def scenario() -> list[int]:
        turns, log, release = Turns(3), [], asyncio.Event()
        tasks = [asyncio.create_task(_hold(turns, name, log, release)) for name in "abcd"]
        started = []
        for _ in range(8):
            await asyncio.sleep(0)
            started.append(len(log))
        assert turns.held == 3 and turns.waiting == 1
        release.set()
        await asyncio.gather(*tasks)
        assert turns.held == 0 and turns.waiting == 0
        return started

    started = asyncio.run(asyncio.wait_for(scenario(), 5))
    assert started[0] == 1  # the four asked in one pass: one started
    assert all(later - earlier <= 1 for earlier, later in pairwise(started))
    assert started[-1] == 3  # the capacity; the fourth waits


def test_a_cancelled_waiter_leaves_the_queue() -> None:
    async def scenario() -> list[str]:
        turns, log, release = Turns(1), [], asyncio.Event()
        first = asyncio.create_task(_hold(turns, "a", log, release))
        await _passes(2)
        second = asyncio.create_task(_hold(turns, "b", log, release))
        third = asyncio.create_task(_hold(turns, "c", log, release))
        await _passes(2)
        assert turns.waiting == 2
        second.cancel()
        await _passes(2)
        assert turns.waiting == 1
        release.set()
        await asyncio.gather(first, third)
        with pytest.raises(asyncio.CancelledError):
            await second
        assert turns.held == 0 and turns.waiting == 0
        return log

    assert asyncio.run(asyncio.wait_for(scenario(), 5)) == ["a", "c"]


def test_a_waiter_cancelled_once_its_turn_came_gives_the_turn_back() -> None:
    async def scenario() -> list[str]:
        turns, log, release = Turns(1), [], asyncio.Event()
        await turns.__aenter__()
        second = asyncio.create_task(_hold(turns, "b", log, asyncio.Event()))
        third = asyncio.create_task(_hold(turns, "c", log, release))
        await _passes(2)
        await turns.__aexit__(None, None, None)  # the turn goes to the second, which has not run since
        second.cancel()
        release.set()
        await third
        with pytest.raises(asyncio.CancelledError):
            await second
        assert turns.held == 0 and turns.waiting == 0
        return log

    assert asyncio.run(asyncio.wait_for(scenario(), 5)) == ["c"]


def test_a_capacity_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Turns(0)
