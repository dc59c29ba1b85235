"""The FastAPI application over a Context."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from starlette.types import ASGIApp

from orderguard.api import (
    problems,
    routes_cart,
    routes_catalogue,
    routes_orders,
    routes_sandbox,
    routes_shipping,
)
from orderguard.api.guard import RequestGuard, SecurityHeaders
from orderguard.app.context import Context
from orderguard.app.idempotency import IdempotencyKeys
from orderguard.settings import Settings


class _OrderGuardAPI(FastAPI):
    def build_middleware_stack(self) -> ASGIApp:
        # Outside Starlette's error middleware too, so that a 500 gets the headers as well.
        return SecurityHeaders(super().build_middleware_stack())


def create_app(ctx: Context, settings: Settings | None = None) -> FastAPI:
    """The API over `ctx`; `settings` (default: from the environment) gives the request guard's limits."""
    settings = settings or Settings()
    app = _OrderGuardAPI(
        title="OrderGuard",
        version="0.1.0",
        description="Order-protection engine for a multi-seller marketplace. Errors are RFC 9457 "
        "problem+json with a stable `code`; every POST accepts `Idempotency-Key`.",
    )
    app.state.ctx = ctx
    problems.install(app)
    keys = IdempotencyKeys(ctx.engine, timedelta(seconds=settings.idempotency_lease_seconds))
    app.add_middleware(RequestGuard, keys=keys, read_timeout=settings.request_read_timeout_seconds)
    for module in (routes_catalogue, routes_cart, routes_orders, routes_shipping, routes_sandbox):
        app.include_router(module.router)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, object]:
        return {"ok": True, "sandbox": ctx.sandbox, "policy": ctx.policies.current.key}

    return app
