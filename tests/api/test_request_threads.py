"""The API runs its blocking work on few threads (Settings.request_threads), and its reads on none
(api/routing.py; issue #12)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread
import pytest

from orderguard.api.app_factory import create_app
from orderguard.app import accounts, cart, orders
from orderguard.app.context import Context
from orderguard.app.idempotency import IdempotencyKeys
from orderguard.settings import Settings
from tests.support import Api


def _threads_while_serving(ctx: Context, settings: Settings) -> int:
    app = create_app(ctx, settings)

    async def serving() -> int:
        async with app.router.lifespan_context(app):
            return int(anyio.to_thread.current_default_thread_limiter().total_tokens)

    return anyio.run(serving)


def test_two_by_default_on_either_database(ctx: Context) -> None:
    assert _threads_while_serving(ctx, Settings(database_url="sqlite:///unused.db")) == 2


def test_the_operator_sets_it(ctx: Context) -> None:
    assert _threads_while_serving(ctx, Settings(request_threads=7)) == 7


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def test_a_read_runs_on_the_event_loop_and_a_write_on_postgresql_too(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A GET runs on the event loop (orderguard.on_loop: on PostgreSQL the loop goes on while it
    waits on the server); a write too on PostgreSQL, where each of its waits is on a socket, and
    in the thread pool on SQLite, where it may wait in the process for the file's write lock. So do
    the Idempotency-Key's own units (the guard's)."""
    where: dict[str, bool] = {}

    def spied(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            where[name] = _on_event_loop()
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(orders, "get_order", spied("get_order", orders.get_order))
    monkeypatch.setattr(cart, "view_cart", spied("view_cart", cart.view_cart))
    monkeypatch.setattr(cart, "add_item", spied("add_item", cart.add_item))
    monkeypatch.setattr(IdempotencyKeys, "remember", spied("remember", IdempotencyKeys.remember))
    buyer = api.buyer()
    listing = api.listing()
    order = api.place(buyer, listing)
    assert api.order(order["id"], buyer)["id"] == order["id"]
    api.get("/v1/cart", buyer)
    body = {"offer_id": listing.offer_id, "quantity": 1}
    api.post("/v1/cart/items", buyer, body, expect=201, headers={"Idempotency-Key": "threads-1"})

    on_postgresql = api.ctx.units.waits_only_on_sockets
    assert on_postgresql == (api.ctx.engine.dialect.name == "postgresql")
    assert where == {
        "get_order": True,
        "view_cart": True,
        "add_item": on_postgresql,
        "remember": on_postgresql,
    }


def test_a_read_on_the_event_loop_still_refuses_a_revoked_token(api: Api) -> None:
    buyer = api.buyer()
    order = api.place(buyer, api.listing())
    api.get(f"/v1/orders/{order['id']}", buyer)  # the token is now one this process has seen
    accounts.revoke_token(api.ctx, buyer.token)
    problem = api.get(f"/v1/orders/{order['id']}", buyer, expect=401).json()
    assert problem["code"] == "unauthenticated"
