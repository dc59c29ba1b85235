"""Every HTTP answer counted, timed and logged by route template (see observability/metrics.py).

Plain ASGI around the whole application, outside its error middleware, so a 500 is measured too;
no BaseHTTPMiddleware (issue #12: nothing between the body and the server but what must be).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable

from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderguard.observability.logs import request_id_var
from orderguard.observability.metrics import LATENCY, REQUESTS

access = logging.getLogger("orderguard.access")

UNMATCHED = "<unmatched>"


class RequestMetrics:
    """Counts and times every HTTP answer by method, route template and status, and logs it
    (`orderguard.access`, INFO) with the request's id, route, status and duration."""

    def __init__(self, app: ASGIApp, templates: Callable[[], Iterable[str]]) -> None:
        self.app = app
        self.templates = templates  # the documented path templates, e.g. "/v1/orders/{order_id}"
        self._compiled: list[tuple[re.Pattern[str], str]] | None = None

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
        large, a replayed Idempotency-Key), that of the documented path that would have."""
        path = getattr(scope.get("route"), "path", None)
        if isinstance(path, str):
            return path
        if self._compiled is None:  # once: the routes do not change once the app serves
            self._compiled = [(compile_path(t)[0], t) for t in self.templates()]
        path, root = scope["path"], scope.get("root_path", "")
        route_path = path[len(root) :] if root and path.startswith(root) else path
        return next((t for regex, t in self._compiled if regex.match(route_path)), UNMATCHED)
