"""The API runs its blocking work on few threads (Settings.request_threads; issue #12)."""

from __future__ import annotations

import anyio
import anyio.to_thread

from orderguard.api.app_factory import create_app
from orderguard.app.context import Context
from orderguard.settings import Settings


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
