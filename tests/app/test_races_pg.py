"""Races on one order and on the last units of stock, with threads on real PostgreSQL (issue #2).

Every thread uses its own pooled connection; a `threading.Barrier` starts them
together. Commands lock the order row (`FOR UPDATE`), the scheduler skips what
a command holds (`SKIP LOCKED`) and retries, so exactly one of the competing
transitions wins and the others are refused or find the deadline stale.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import func, select

from orderguard.app import accounts, cart, payments
from orderguard.app.context import Context, Principal
from orderguard.app.deadlines import fire_due
from orderguard.app.orders import cancel_unpaid
from orderguard.bootstrap import build_context
from orderguard.domain.machine import Actor, Refused
from orderguard.domain.orders import Address, Order
from orderguard.providers.clock import FixedClock
from orderguard.settings import Settings
from orderguard.store import tables as t
from orderguard.store.db import reading
from orderguard.store.ledger_repo import check, order_money
from tests.support import seller_offer

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.parametrize("db_url", ["postgresql"], indirect=True),  # conftest's, PostgreSQL only
]

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
PAY_BY = T0 + timedelta(days=20)  # the default policy's unpaid expiry
ADDRESS = Address(name="Ann Buyer", line1="1 Main St", city="Warsaw", postal_code="00-001", country="PL")
# a paid order's ship-by time (R4.8) stays beyond every clock of these races: it is armed, never due
HANDLING_DAYS = 60
JOIN_TIMEOUT = 60.0  # seconds: a hung thread fails the test instead of the suite
TERMINAL = {"buyer_cancelled", "pay_by_passed", "payment_started"}  # the event that decides the race
PAID = ["placed", "payment_started", "captured", "payment_captured"]  # order, payment, payment, order


def _context(url: str, at: datetime) -> Context:
    return build_context(Settings(database_url=url, sandbox=False), clock=FixedClock(at), migrate=False)


@pytest.fixture
def ctxs(db_url: str) -> Iterator[tuple[Context, Context]]:
    """(the buyer's context, a second before pay-by; the scheduler's, a second after)."""
    buyer_ctx, scheduler_ctx = _context(db_url, T0), _context(db_url, PAY_BY + timedelta(seconds=1))
    yield buyer_ctx, scheduler_ctx
    buyer_ctx.engine.dispose()
    scheduler_ctx.engine.dispose()


@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None


def _race(*calls: Callable[[], Any]) -> list[Outcome]:
    """Run the calls in threads started together; every thread must finish in time."""
    barrier = threading.Barrier(len(calls), timeout=JOIN_TIMEOUT)
    outcomes = [Outcome() for _ in calls]

    def run(call: Callable[[], Any], out: Outcome) -> None:
        try:
            barrier.wait()
            out.value = call()
        except BaseException as e:  # collected and judged by the test
            out.error = e

    threads = [
        threading.Thread(target=run, args=(c, o), daemon=True) for c, o in zip(calls, outcomes, strict=True)
    ]
    for thread in threads:
        thread.start()
    stop_at = time.monotonic() + JOIN_TIMEOUT
    for thread in threads:
        thread.join(max(0.1, stop_at - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), "a racing thread hung (deadlock?)"
    unexpected = [o.error for o in outcomes if o.error is not None and not isinstance(o.error, Refused)]
    assert not unexpected, unexpected
    return outcomes


def _seller_offer(ctx: Context, stock: int, price: int = 10_00) -> str:
    return seller_offer(ctx, stock=stock, price=price, handling_days=HANDLING_DAYS, postage=2_00)[1]


def _buyer(ctx: Context, name: str = "Ann") -> Principal:
    return Principal(accounts.create_account(ctx, "buyer", name).id, Actor.BUYER)


def _stock(ctx: Context, offer_id: str) -> int:
    with reading(ctx.engine) as conn:
        return int(conn.execute(select(t.offers.c.stock).where(t.offers.c.id == offer_id)).scalar_one())


def _fire_until_settled(ctx: Context, order_id: str) -> int:
    """The scheduler's loop for this order: rounds until none of its deadlines is armed.

    Returns how many times its pay-by fired (the scheduler, far ahead in time, may also fire the
    payment's provider retry while the buyer's payment is between its two transactions).
    """
    d = t.deadlines.c
    stop_at = time.monotonic() + JOIN_TIMEOUT / 2
    while time.monotonic() < stop_at:
        fire_due(ctx, 50)
        with reading(ctx.engine) as conn:
            armed = conn.execute(
                select(func.count())
                .select_from(t.deadlines)
                .where(d.order_id == order_id, d.state == "armed", d.kind != "ship_by")
            ).scalar_one()
            pay_by_fired = conn.execute(
                select(func.count())
                .select_from(t.deadlines)
                .where(d.order_id == order_id, d.kind == "pay_by", d.state == "fired")
            ).scalar_one()
        if not armed:
            return int(pay_by_fired)
        time.sleep(0.001)  # a command holds the order: the next round retries
    raise AssertionError(f"the deadlines of {order_id} stayed armed")


def test_cancel_pay_and_expiry_of_one_order_at_once_have_exactly_one_winner(
    ctxs: tuple[Context, Context],
) -> None:
    buyer_ctx, scheduler_ctx = ctxs
    offer_id = _seller_offer(buyer_ctx, stock=1_000)
    buyer = _buyer(buyer_ctx)
    winners: Counter[str] = Counter()
    paid_units = 0
    for round_no in range(20):
        quantity = 1 + round_no % 3
        cart.add_item(buyer_ctx, buyer, offer_id, quantity, None)
        (order,) = cart.check_out(buyer_ctx, buyer, ADDRESS)
        assert order.pay_by_at == PAY_BY

        cancelled, paid, fired = _race(
            partial(cancel_unpaid, buyer_ctx, buyer, order.id),
            partial(payments.pay, buyer_ctx, buyer, order.id, "card"),
            partial(_fire_until_settled, scheduler_ctx, order.id),
        )
        assert fired.error is None and fired.value in (0, 1)
        won = [
            name
            for name, ok in (
                ("buyer_cancelled", cancelled.error is None),
                ("payment_started", paid.error is None),
                ("pay_by_passed", fired.value == 1),
            )
            if ok
        ]
        assert len(won) == 1, (round_no, won, cancelled.error, paid.error)
        for loser in (cancelled, paid):
            if loser.error is not None:
                assert isinstance(loser.error, Refused) and loser.error.refusal.status == 409, loser.error
        winners[won[0]] += 1

        with reading(buyer_ctx.engine) as conn:
            state = conn.execute(select(t.orders.c.state).where(t.orders.c.id == order.id)).scalar_one()
            kinds = (
                conn.execute(select(t.events.c.kind).where(t.events.c.order_id == order.id)).scalars().all()
            )
            deadlines = conn.execute(
                select(t.deadlines.c.kind, t.deadlines.c.state).where(t.deadlines.c.order_id == order.id)
            ).all()
            pays = conn.execute(
                select(t.payments.c.state, t.payments.c.amount).where(t.payments.c.order_id == order.id)
            ).all()
            money = order_money(conn, order.id, "USD")
            held = conn.execute(
                select(func.count()).select_from(t.cart_items).where(t.cart_items.c.order_id == order.id)
            ).scalar_one()
        assert [k for k in kinds if k in TERMINAL] == won
        retries = [k for k in kinds if k == "provider_retried"]  # the scheduler asked the provider too
        assert [k for k in kinds if k != "provider_retried"] == (
            PAID if won[0] == "payment_started" else ["placed", won[0]]
        )
        assert len(retries) <= 1
        assert held == 0  # paid or ended, the goods left the cart
        if won[0] == "payment_started":
            paid_units += quantity
            assert state == "awaiting_shipment"
            assert pays == [("captured", order.total.minor)]
            assert money.paid == money.in_escrow == order.total.minor
            # pay-by ended by the payment; the provider's answer ended its retry (which may have fired
            # meanwhile, asking the provider again under the same key: still one capture)
            assert ("pay_by", "cancelled") in [tuple(d) for d in deadlines]
            assert {kind for kind, _ in deadlines} == {"pay_by", "provider_retry", "ship_by"}
            assert {kind for kind, state in deadlines if state == "armed"} == {"ship_by"}
        else:
            assert state == "cancelled"
            assert pays == []
            assert money.paid == money.in_escrow == 0
            expected = "fired" if won[0] == "pay_by_passed" else "cancelled"
            assert [tuple(d) for d in deadlines] == [("pay_by", expected)]
        assert _stock(buyer_ctx, offer_id) == 1_000 - paid_units  # restocked once, or not at all

    with reading(buyer_ctx.engine) as conn:
        assert check(conn)[1] == []
    print(f"\nwinners over 20 rounds: {dict(winners)}")


def test_two_card_payments_of_one_order_capture_once(ctxs: tuple[Context, Context]) -> None:
    buyer_ctx, _ = ctxs
    offer_id = _seller_offer(buyer_ctx, stock=1_000)
    buyer = _buyer(buyer_ctx)
    for _ in range(10):
        cart.add_item(buyer_ctx, buyer, offer_id, 1, None)
        (order,) = cart.check_out(buyer_ctx, buyer, ADDRESS)

        first, second = _race(
            partial(payments.pay, buyer_ctx, buyer, order.id, "card"),
            partial(payments.pay, buyer_ctx, buyer, order.id, "card"),
        )
        refused = [o.error for o in (first, second) if o.error is not None]
        captured = [o.value for o in (first, second) if o.error is None]
        assert len(captured) == 1 and len(refused) == 1
        assert isinstance(refused[0], Refused) and refused[0].refusal.status == 409
        assert captured[0].state == "captured"
        with reading(buyer_ctx.engine) as conn:
            rows = conn.execute(
                select(t.payments.c.id, t.payments.c.state).where(t.payments.c.order_id == order.id)
            ).all()
            assert [tuple(r) for r in rows] == [(captured[0].id, "captured")]
            money = order_money(conn, order.id, "USD")
            assert money.paid == money.in_escrow == order.total.minor
            kinds = (
                conn.execute(select(t.events.c.kind).where(t.events.c.order_id == order.id)).scalars().all()
            )
            assert kinds == PAID
    with reading(buyer_ctx.engine) as conn:
        assert check(conn)[1] == []


def test_concurrent_checkouts_never_oversell_the_last_units(ctxs: tuple[Context, Context]) -> None:
    buyer_ctx, _ = ctxs
    stock = {"a": 7, "b": 5}
    offers = {"a": _seller_offer(buyer_ctx, stock["a"]), "b": _seller_offer(buyer_ctx, stock["b"])}
    buyers = []
    for i in range(20):
        buyer = _buyer(buyer_ctx, f"Buyer {i}")
        # Half the carts hold b before a, so the checkouts ask for the offers in both orders.
        for key in "ab" if i % 2 else "ba":
            cart.add_item(buyer_ctx, buyer, offers[key], 1 + i % 2, None)
        buyers.append(buyer)

    outcomes = _race(*[lambda b=b: cart.check_out(buyer_ctx, b, ADDRESS) for b in buyers])

    refused = [o.error for o in outcomes if o.error is not None]
    placed = [o.value for o in outcomes if o.error is None]
    assert placed and refused
    assert {e.refusal.code for e in refused if isinstance(e, Refused)} == {"insufficient_stock"}
    assert all(len(orders) == 2 for orders in placed)  # both stores, or nothing
    with reading(buyer_ctx.engine) as conn:
        for key, offer_id in offers.items():
            ordered = conn.execute(
                select(func.coalesce(func.sum(t.order_lines.c.quantity), 0)).where(
                    t.order_lines.c.offer_id == offer_id
                )
            ).scalar_one()
            left = _stock(buyer_ctx, offer_id)
            assert left >= 0, f"offer {key} oversold"
            assert ordered + left == stock[key] and ordered <= stock[key]
        free = conn.execute(
            select(func.count()).select_from(t.cart_items).where(t.cart_items.c.order_id.is_(None))
        ).scalar_one()
        assert free == 2 * len(refused)  # refused carts kept their items, untouched
        assert conn.execute(select(func.count()).select_from(t.orders)).scalar_one() == 2 * len(placed)


def test_buyers_cancel_and_pay_while_two_schedulers_fire_many_orders(ctxs: tuple[Context, Context]) -> None:
    """Batches of deadlines and rows locked by commands, in both orders, across many orders at once."""
    buyer_ctx, scheduler_ctx = ctxs
    offer_ids = [_seller_offer(buyer_ctx, stock=1_000, price=3_00 + i) for i in range(3)]
    placed: list[tuple[Principal, Order]] = []
    for i in range(20):
        buyer = _buyer(buyer_ctx, f"Buyer {i}")
        for offer_id in offer_ids:
            cart.add_item(buyer_ctx, buyer, offer_id, 1 + i % 2, None)
        placed += [(buyer, order) for order in cart.check_out(buyer_ctx, buyer, ADDRESS)]

    def buyer_commands(share: list[tuple[Principal, Order]]) -> dict[str, str]:
        done = {}
        for n, (buyer, order) in enumerate(share):
            try:
                if n % 2:
                    payments.pay(buyer_ctx, buyer, order.id, "card")
                    done[order.id] = "payment_started"
                else:
                    cancel_unpaid(buyer_ctx, buyer, order.id)
                    done[order.id] = "buyer_cancelled"
            except Refused as e:
                assert e.refusal.status == 409, e.refusal
        return done

    def scheduler() -> int:
        fired = 0
        stop_at = time.monotonic() + JOIN_TIMEOUT / 2
        while time.monotonic() < stop_at:
            report = fire_due(scheduler_ctx, 5)
            fired += report.fired
            if report.claimed == 0:
                return fired
            time.sleep(0.02)  # small batches spread out, so that commands come in between
        raise AssertionError("deadlines stayed due")

    # The schedulers take orders in due order (placement order here), the buyers the latest first:
    # they meet somewhere in the middle, wherever the timing puts it.
    shares = [placed[::-1][k::4] for k in range(4)]
    outcomes = _race(*[partial(buyer_commands, s) for s in shares], scheduler, scheduler)
    by_command: dict[str, str] = {}
    for o in outcomes[:4]:
        by_command.update(o.value)
    fired = sum(o.value for o in outcomes[4:])

    with reading(buyer_ctx.engine) as conn:
        e = t.events.c
        terminal = conn.execute(select(e.order_id, e.kind).where(e.kind.in_(TERMINAL))).all()
        assert len(terminal) == len(placed)  # one per order
        winner = dict(terminal)
        assert len(winner) == len(placed)
        assert {k: v for k, v in winner.items() if v != "pay_by_passed"} == by_command
        d = t.deadlines.c
        pay_by_fired = conn.execute(
            select(func.count()).select_from(t.deadlines).where(d.kind == "pay_by", d.state == "fired")
        ).scalar_one()
        assert sum(1 for v in winner.values() if v == "pay_by_passed") == pay_by_fired
        assert fired >= pay_by_fired  # the schedulers also fired provider retries of payments in flight
        armed = conn.execute(
            select(func.count()).select_from(t.deadlines).where(d.state == "armed", d.kind != "ship_by")
        )
        assert armed.scalar_one() == 0
        paid_units = Counter[str]()
        for _, order in placed:
            if winner[order.id] == "payment_started":
                money = order_money(conn, order.id, "USD")
                assert money.paid == money.in_escrow == order.total.minor
                for line in order.lines:
                    paid_units[line.offer_id] += line.quantity
        stock = dict(conn.execute(select(t.offers.c.id, t.offers.c.stock)).all())
        assert stock == {o: 1_000 - paid_units[o] for o in offer_ids}
        captured = conn.execute(select(func.count()).select_from(t.payments)).scalar_one()
        assert captured == sum(1 for v in winner.values() if v == "payment_started")
        assert check(conn)[1] == []
    print(f"\nwinners over {len(placed)} orders: {dict(Counter(winner.values()))}")


def test_one_buyer_checking_out_twice_at_once_places_the_orders_once(
    ctxs: tuple[Context, Context],
) -> None:
    ctx, _ = ctxs
    offer_id = _seller_offer(ctx, stock=50)
    for round_ in range(5):
        buyer = _buyer(ctx, f"Double-clicker {round_}")
        cart.add_item(ctx, buyer, offer_id, 2, None)
        outcomes = _race(*(partial(cart.check_out, ctx, buyer, ADDRESS) for _ in range(3)))
        placed = [o.value for o in outcomes if o.error is None]
        refused = [o.error for o in outcomes if o.error is not None]
        assert len(placed) == 1 and len(placed[0]) == 1
        assert [e.refusal.code for e in refused if isinstance(e, Refused)] == ["cart_empty", "cart_empty"]
        with reading(ctx.engine) as conn:
            orders = conn.execute(select(func.count()).where(t.orders.c.buyer_id == buyer.id)).scalar_one()
        assert orders == 1
    assert _stock(ctx, offer_id) == 50 - 5 * 2


def test_concurrent_additions_of_one_item_add_up(ctxs: tuple[Context, Context]) -> None:
    ctx, _ = ctxs
    offer_id = _seller_offer(ctx, stock=100)
    buyer = _buyer(ctx)
    _race(*(partial(cart.add_item, ctx, buyer, offer_id, 1, None) for _ in range(6)))
    (item,) = cart.view_cart(ctx, buyer).items
    assert item["quantity"] == 6
