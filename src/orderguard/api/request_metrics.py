"""Every HTTP answer counted, timed and logged by route template (see observability/metrics.py).

Plain ASGI around the whole application, outside its error middleware, so a 500 is measured too;
no BaseHTTPMiddleware (issue #12: nothing between the body and the server but what must be).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderguard.observability.logs import request_id_var
from orderguard.observability.metrics import LATENCY, REQUESTS

access = logging.getLogger("orderguard.access")

UNMATCHED = "<unmatched>"


class RequestMetrics:
    """Counts and times every HTTP answer by method, route template and status, and logs it
    (`orderguard.access`, INFO) with the request's id, route, status and duration."""

    def __init__(self, app: ASGIApp, routes: Callable[[], Iterable[BaseRoute]]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless the application answers: an exception escaped it

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            elapsed = time.perf_counter() - started
            method = scope["method"]
            route = self.template(scope)
            REQUESTS.labels(method, route, str(status)).inc()
            LATENCY.labels(method, route).observe(elapsed)
            if access.isEnabledFor(logging.INFO):
                token = request_id_var.set((scope.get("state") or {}).get("request_id"))
                try:
                    access.info(
                        "%s %s %s",
                        method,
                        scope["path"],
                        status,
                        extra={"route": route, "status": status, "duration_ms": round(elapsed * 1000, 2)},
                    )
                finally:
                    request_id_var.reset(token)

    def template(self, scope: Scope) -> str:
        """The template of the route that answered; for an answer given before routing (a body too
        large, a replayed Idempotency-Key), that of the route that would have."""
        path = getattr(scope.get("route"), "path", None)
        if isinstance(path, str):
            return path
        partial = None
        for candidate in self.routes():
            match, _ = candidate.matches(scope)
            if match is Match.FULL:
                return str(getattr(candidate, "path", UNMATCHED))
            if match is Match.PARTIAL and partial is None:  # another method: a 405
                partial = str(getattr(candidate, "path", UNMATCHED))
        return partial or UNMATCHED
