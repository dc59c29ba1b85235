"""RFC 9457 problem+json responses with a stable machine `code`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from orderguard.domain.machine import Refused

PROBLEM = "application/problem+json"
TYPE_BASE = "https://orderguard.dev/problems/"

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    408: "Request timeout",
    409: "Conflict",
    402: "Payment required",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    500: "Internal error",
    503: "Service unavailable",
}


def problem(status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": TYPE_BASE + code,
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem(400, "malformed_json", "the request body is not valid JSON")
    fields = [
        {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "message": e.get("msg", "")}
        for e in errors
    ]
    summary = "; ".join(f"{f['field'] or 'body'}: {f['message']}" for f in fields)
    return problem(422, "validation_error", summary, errors=fields)


def _refused(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Refused)
    r = exc.refusal
    return problem(r.status, r.code, r.detail)


def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    # FastAPI raises 400 when a JSON body cannot even be decoded (e.g. not UTF-8)
    codes = {400: "malformed_json", 404: "not_found", 405: "method_not_allowed", 401: "unauthenticated"}
    return problem(exc.status_code, codes.get(exc.status_code, f"http_{exc.status_code}"), str(exc.detail))


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(Refused, _refused)
    app.add_exception_handler(StarletteHTTPException, _http)
