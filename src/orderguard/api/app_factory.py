"""The FastAPI application over a Context."""

from __future__ import annotations

from fastapi import FastAPI

from orderguard.api import (
    problems,
    routes_cart,
    routes_catalogue,
    routes_orders,
    routes_sandbox,
    routes_shipping,
)
from orderguard.api.guard import RequestGuard
from orderguard.app.context import Context


def create_app(ctx: Context) -> FastAPI:
    app = FastAPI(
        title="OrderGuard",
        version="0.1.0",
        description="Order-protection engine for a multi-seller marketplace. Errors are RFC 9457 "
        "problem+json with a stable `code`; every POST accepts `Idempotency-Key`.",
    )
    app.state.ctx = ctx
    problems.install(app)
    app.add_middleware(RequestGuard)
    for module in (routes_catalogue, routes_cart, routes_orders, routes_shipping, routes_sandbox):
        app.include_router(module.router)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, object]:
        return {"ok": True, "sandbox": ctx.sandbox, "policy": ctx.policies.current.key}

    return app
