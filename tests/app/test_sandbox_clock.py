"""The sandbox clock: one time for every process, and a horizon it cannot pass (issue #7)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from orderguard.app import cart, sandbox
from orderguard.app.context import Context
from orderguard.bootstrap import build_context
from orderguard.domain.machine import Refused
from orderguard.domain.orders import Address
from orderguard.providers.clock import HORIZON, VirtualClock
from orderguard.settings import Settings
from tests.api.helpers import assert_problem, writes_nothing
from tests.conftest import START
from tests.support import Api, seller_offer_and_buyer

ADDRESS = Address(name="Ann Buyer", line1="1 Main St", city="Warsaw", postal_code="00-001", country="PL")


@pytest.fixture
def other(ctx: Context, db_url: str) -> Iterator[Context]:
    """A second process on the same database, started while `ctx` was at START (an API with
    --no-scheduler next to the demo, say)."""
    second = build_context(Settings(database_url=db_url, sandbox=True), migrate=False)
    yield second
    second.engine.dispose()


def test_time_moved_by_one_process_is_the_time_of_the_next_command_in_another(
    ctx: Context, other: Context
) -> None:
    _, buyer, offer_id = seller_offer_and_buyer(other)
    assert other.clock.now() == START

    moved, _ = sandbox.advance(ctx, timedelta(days=3))
    assert moved == START + timedelta(days=3)
    assert other.clock.now() == moved

    cart.add_item(other, buyer, offer_id, 1, None)
    (order,) = cart.check_out(other, buyer, ADDRESS)
    assert order.placed_at == moved
    assert order.pay_by_at == moved + timedelta(days=20)  # R3.3, from the shared time


def test_the_clock_is_read_from_the_other_process_through_the_api(api: Api, other: Context) -> None:
    sandbox.advance(other, timedelta(hours=5))
    assert api.get("/v1/sandbox/clock").json()["now"] == (START + timedelta(hours=5)).isoformat().replace(
        "+00:00", "Z"
    )


def test_the_clock_stops_at_its_horizon_and_checkout_keeps_working(api: Api) -> None:
    clock = api.ctx.clock
    assert isinstance(clock, VirtualClock)
    assert clock.horizon == START + HORIZON
    listing = api.listing()
    buyer = api.buyer()
    api.advance(days=3650)
    with writes_nothing(api):  # today this reached 2046, and 266 calls reached year 9971
        body = assert_problem(
            api.post("/v1/sandbox/clock/advance", json={"days": 3650}), 409, "clock_horizon_reached"
        )
    assert "stops at" in body["detail"]
    assert clock.now() == START + timedelta(days=3650)
    api.advance(days=3)  # what is left of the horizon can still be used
    assert_problem(api.post("/v1/sandbox/clock/advance", json={"minutes": 1}), 409, "clock_horizon_reached")
    assert clock.now() == clock.horizon

    api.add(buyer, listing)
    (order,) = api.checkout(buyer)
    api.pay(buyer, order["id"])


def test_advancing_by_a_negative_time_is_refused(ctx: Context) -> None:
    with pytest.raises(Refused) as refused:
        sandbox.advance(ctx, timedelta(seconds=-1))
    assert refused.value.refusal.code == "clock_backwards"


def test_the_clock_never_goes_back_when_two_processes_move_it(ctx: Context, other: Context) -> None:
    assert isinstance(ctx.clock, VirtualClock) and isinstance(other.clock, VirtualClock)
    assert ctx.clock.move_to(START + timedelta(days=2)) == START + timedelta(days=2)
    assert other.clock.move_to(START + timedelta(days=1)) == START + timedelta(days=2)  # stays
    assert ctx.clock.now() == other.clock.now() == START + timedelta(days=2)
