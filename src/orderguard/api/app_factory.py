"""The FastAPI application over a Context."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio.to_thread
import fastapi_offline
from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp

from orderguard.api import (
    problems,
    routes_cancellations,
    routes_cart,
    routes_catalogue,
    routes_disputes,
    routes_messages,
    routes_ops,
    routes_orders,
    routes_proofs,
    routes_refunds,
    routes_sandbox,
    routes_shipping,
)
from orderguard.api.guard import BodyLimit, RequestGuard, SecurityHeaders
from orderguard.api.problems import RequestIds
from orderguard.api.request_metrics import RequestMetrics
from orderguard.app.context import Context
from orderguard.app.idempotency import IdempotencyKeys
from orderguard.settings import Settings

# Swagger UI and ReDoc ship inside the fastapi-offline package: /docs needs no CDN.
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
DOCS_ASSETS_URL = "/docs/assets"

DESCRIPTION = """\
Order-protection engine for a multi-seller marketplace.

- **Errors** are RFC 9457 `application/problem+json` (schema `Problem`) with a stable machine `code`
  and the `request_id` that the response's `X-Request-Id` and the server's logs carry.
- **Money** is integers in minor units (cents) of an ISO 4217 currency, never floats: the currency is
  the `currency` of the same object or, inside an order, the order's `currency`.
- **Authentication**: `Authorization: Bearer <token>`.
- **Retries**: every POST accepts `Idempotency-Key`.
- **Text** may not hold control characters (a description may hold line breaks and tabs),
  bidirectional overrides or isolates, or unpaired surrogates.
"""


def _lifespan(threads: int) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Blocking work (a writing route, a token lookup, an Idempotency-Key) runs in anyio's thread
    pool, at most `threads` at once (`Settings.request_threads`), from when the app starts serving;
    a read runs on the event loop (`api/routing.py`)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        yield

    return lifespan


def _add_routes(app: FastAPI, router: APIRouter) -> None:
    """The router's routes, into the app's own list. `include_router` keeps each router as a branch
    that every request walks through (matching was 7 % of an order page's time, over 11 routers);
    our routers' routes carry their prefix, tags and responses already, so the OpenAPI document and
    the routing are the same."""
    app.router.routes.extend(router.routes)


class _OrderGuardAPI(FastAPI):
    def build_middleware_stack(self) -> ASGIApp:
        # Outside Starlette's error middleware too, so that a 500 gets the headers as well, and is
        # counted, timed and logged (api/request_metrics.py).
        return RequestMetrics(
            SecurityHeaders(super().build_middleware_stack()), lambda: self.openapi()["paths"]
        )


def create_app(ctx: Context, settings: Settings | None = None) -> FastAPI:
    """The API over `ctx`; `settings` (default: from the environment) gives the request guard's limits."""
    settings = settings or Settings()
    app = _OrderGuardAPI(
        title="OrderGuard",
        version="0.1.0",
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan(settings.request_threads),
    )
    app.state.ctx = ctx
    problems.install(app)
    keys = IdempotencyKeys(ctx.units, timedelta(seconds=settings.idempotency_lease_seconds))
    app.add_middleware(
        RequestGuard,
        keys=keys,
        read_timeout=settings.request_read_timeout_seconds,
        limits=_upload_limits(ctx),
    )
    app.add_middleware(RequestIds)  # outside the guard: every response, the guard's included, carries the id
    for module in (
        routes_catalogue,
        routes_cart,
        routes_orders,
        routes_cancellations,
        routes_shipping,
        routes_sandbox,
        routes_messages,
        routes_proofs,
        routes_disputes,
        routes_refunds,
        routes_ops,  # /healthz, /readyz, /metrics
    ):
        _add_routes(app, module.router)
    _docs(app)
    _contract(app)
    return app


def _upload_limits(ctx: Context) -> list[BodyLimit]:
    """Routes that take files, with their body limit: the file limit of the policy in force, plus
    room for the multipart envelope. (The file's own limit is the order's policy, checked by the
    use case; the body limit only stops what could never pass it from being read.)"""

    def proof() -> int:
        return ctx.policies.current.policy.cancellation.proof_max_bytes + routes_proofs.MULTIPART_ALLOWANCE

    def evidence() -> int:
        return ctx.policies.current.policy.disputes.evidence_max_bytes + routes_disputes.MULTIPART_ALLOWANCE

    return [
        BodyLimit("POST", routes_proofs.UPLOAD_PATH, proof),
        BodyLimit("POST", routes_disputes.UPLOAD_PATH, evidence),
    ]


def _docs(app: FastAPI) -> None:
    app.mount(DOCS_ASSETS_URL, StaticFiles(directory=DOCS_ASSETS), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - API",
            swagger_js_url=f"{DOCS_ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS_URL}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - API",
            redoc_js_url=f"{DOCS_ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )


def _contract(app: FastAPI) -> None:
    """The document FastAPI builds, with error responses as problem+json."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = problems.problem_media_types(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
