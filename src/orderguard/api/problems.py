"""RFC 9457 problem+json responses with a stable machine `code`, and how the contract documents them.

Every error is `application/problem+json` with the shared `Problem` schema
(api/models.py), which carries the request's id (`request_id`, also in the
`X-Request-Id` header every response carries, and on every log record of the
request). A 401 carries `WWW-Authenticate: Bearer`, a 405 `Allow`. An
unexpected exception becomes a 500 problem; the exception is logged with the
request's id, and neither its text nor a stack trace nor SQL reaches the client.
A problem replayed for an Idempotency-Key is the first answer, its id included.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderguard.api.auth import bearer_token
from orderguard.api.models import Problem
from orderguard.domain.machine import Refused
from orderguard.observability.logs import request_id_var

PROBLEM = "application/problem+json"
TYPE_BASE = "https://orderguard.dev/problems/"
REQUEST_ID_HEADER = "X-Request-Id"

log = logging.getLogger("orderguard.api")

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    402: "Payment required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    408: "Request timeout",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    500: "Internal error",
    503: "Service unavailable",
}

# What each status means in this API, for the OpenAPI document.
MEANINGS = {
    400: "The body is not JSON (`malformed_json`), or an upload's multipart body does not parse "
    "(`malformed_multipart`).",
    401: "No valid bearer token (`unauthenticated`).",
    402: "The payment provider declined (`payment_declined`).",
    403: "The caller's role may not do this (`forbidden_role`, `forbidden_actor`).",
    408: "The body did not arrive in time (`request_timeout`); the connection is closed.",
    404: "No such resource, or not one the caller may see (`<resource>_not_found`; sandbox routes outside "
    "sandbox mode: `sandbox_only`).",
    409: "The request conflicts with the current state (a rule's code), or the first request with this "
    "`Idempotency-Key` is still running (`idempotency_request_in_progress`).",
    413: "The body is over the size limit (`payload_too_large`).",
    415: "The body is not sent as `application/json`, or an upload as `multipart/form-data` "
    "(`unsupported_media_type`).",
    422: "Invalid input: `validation_error` with `errors` for the fields, a rule's code (e.g. "
    "`unknown_currency`, `invalid_quantity`), JSON nested too deep (`body_too_deep`), or "
    "`idempotency_key_reused` / `invalid_idempotency_key`.",
    500: "An unexpected error, logged on the server with `request_id` (`internal_error`).",
    503: "Try again later (`scheduler_busy`; `payment_provider_unavailable`: the payment is recorded and "
    "completed when the provider answers; `/readyz`: `database_unreachable`, `schema_not_at_head`).",
}

_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": '`Bearer`, with `error="invalid_token"` when a token was sent but is not valid '
            "(carrier webhooks: `Signature`)",
            "required": True,
            "schema": {"type": "string"},
        }
    },
    500: {
        REQUEST_ID_HEADER: {
            "description": "the id the server logged the error under",
            "required": True,
            "schema": {"type": "string"},
        }
    },
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses` entry of a route for these problem statuses (500 is always added).

    FastAPI files the `Problem` model under application/json; `problem_media_types`
    moves it to application/problem+json when the document is built.
    """
    out: dict[int | str, dict[str, Any]] = {}
    for status in sorted({*statuses, 500}):
        entry: dict[str, Any] = {"model": Problem, "description": MEANINGS[status]}
        if status in _HEADERS:
            entry["headers"] = _HEADERS[status]
        out[status] = entry
    return out


def problem_media_types(document: dict[str, Any]) -> dict[str, Any]:
    """Error responses of the document are problem+json, not JSON."""
    for path in document.get("paths", {}).values():
        for operation in path.values():
            _hoist_definitions(operation, document)
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status[0] in "45" and "application/json" in content:
                    content[PROBLEM] = content.pop("application/json")
    return document


def _hoist_definitions(operation: dict[str, Any], document: dict[str, Any]) -> None:
    """A body schema declared by hand (`openapi_extra`) keeps its models in components, like the others."""
    for media in operation.get("requestBody", {}).get("content", {}).values():
        for name, schema in media.get("schema", {}).pop("$defs", {}).items():
            document.setdefault("components", {}).setdefault("schemas", {}).setdefault(name, schema)


def problem(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {
        "type": TYPE_BASE + code,
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": _printable(detail),
        "code": code,
        **extra,
    }
    rid = body.get("request_id") or request_id_var.get()
    if rid is not None:  # the id the request's log records carry, and its X-Request-Id
        body["request_id"] = rid
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _printable(text: str) -> str:
    """Text that encodes as UTF-8: a lone surrogate echoed from input would make rendering fail."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def request_id(request: Request) -> str:
    rid = getattr(request.state, "request_id", None)
    return rid if isinstance(rid, str) else _new_request_id()


def _new_request_id() -> str:
    return secrets.token_hex(8)


class RequestIds:
    """Gives every HTTP request an id, kept in `request.state`, sent back as `X-Request-Id`, and put
    on every log record of the request (`observability.logs.request_id_var`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _new_request_id()
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if REQUEST_ID_HEADER not in headers:
                    headers.append(REQUEST_ID_HEADER, rid)
            await send(message)

        token = request_id_var.set(rid)  # every log record of the request carries it
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


_ERROR_TYPES = {"string_unicode": "unsafe_text"}  # pydantic's name for a lone surrogate


def _words(error: Any) -> str:
    """Pydantic's message, its choices in words: `should be a, b or c`, never quoted like a list."""
    message = str(error.get("msg", ""))
    return message.replace("'", "") if error.get("type") == "literal_error" else message


def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errs = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errs):
        return problem(400, "malformed_json", "the request body is not valid JSON")
    fields = [
        {
            "field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"),
            "message": _printable(_words(e)),
            "type": _ERROR_TYPES.get(str(e.get("type")), str(e.get("type", ""))),
        }
        for e in errs
    ]
    summary = "; ".join(f"{f['field'] or 'body'}: {f['message']}" for f in fields)
    return problem(422, "validation_error", summary, errors=fields)


def _refused(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Refused)
    r = exc.refusal
    if r.status == 401:
        return problem(401, r.code, r.detail, headers={"WWW-Authenticate": _challenge(request)})
    if r.status >= 500:
        rid = request_id(request)
        log.error(
            "refused with %s %s (request %s): %s", r.status, r.code, rid, r.detail, extra={"request_id": rid}
        )
        return problem(r.status, r.code, r.detail, headers={REQUEST_ID_HEADER: rid}, request_id=rid)
    return problem(r.status, r.code, r.detail)


def _challenge(request: Request) -> str:
    if request.url.path.startswith("/v1/carriers/"):
        return 'Signature realm="carrier webhooks", headers="webhook-timestamp webhook-signature"'
    if bearer_token(request) is None:
        return "Bearer"
    return 'Bearer error="invalid_token"'


def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    # FastAPI raises 400 when a JSON body cannot even be decoded (e.g. not UTF-8)
    codes = {400: "malformed_json", 404: "not_found", 405: "method_not_allowed", 401: "unauthenticated"}
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed(request)
    if exc.status_code == 401:
        headers["WWW-Authenticate"] = _challenge(request)
    code = codes.get(exc.status_code, f"http_{exc.status_code}")
    return problem(exc.status_code, code, str(exc.detail), headers=headers or None)


def _allowed(request: Request) -> str:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
            match, _ = route.matches({**request.scope, "method": method})
            if match is Match.FULL:
                methods.add(method)
    return ", ".join(sorted(methods))


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    rid = request_id(request)
    log.error(
        "unexpected error in %s %s (request %s)",
        request.method,
        request.url.path,
        rid,
        exc_info=exc,
        extra={"request_id": rid},  # logged outside the request's own context (Starlette's error layer)
    )
    return problem(
        500,
        "internal_error",
        f"an unexpected error occurred; it was logged as request {rid}",
        headers={REQUEST_ID_HEADER: rid},
        request_id=rid,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(Refused, _refused)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
