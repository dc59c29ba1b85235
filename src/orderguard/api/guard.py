"""Request guard: body size limit and Idempotency-Key handling for every POST.

The first response to (caller, key) is stored and replayed for a retry with
the same method, path and body; the same key with another request is
refused (422 `idempotency_key_reused`); a retry while the first is still
running gets 409 `idempotency_request_in_progress`. Server errors (5xx) are
not stored, so the retry runs again. Keys are scoped per authenticated
caller: requests without a valid token (sandbox account creation, a 401)
are neither stored nor replayed.
"""

from __future__ import annotations

import hashlib
import json

from fastapi import Request, Response
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from orderguard.api.auth import context, principal_or_none
from orderguard.api.problems import problem
from orderguard.app.context import Context
from orderguard.store.db import unit_of_work
from orderguard.store.idempotency_repo import delete_key, insert_key, load_key, store_response

MAX_BODY_BYTES = 64 * 1024
MAX_KEY_LENGTH = 255


class RequestGuard(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return problem(413, "payload_too_large", f"request bodies are limited to {MAX_BODY_BYTES} bytes")
        if request.method not in {"POST", "PUT", "PATCH", "DELETE"}:
            return await call_next(request)
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return problem(413, "payload_too_large", f"request bodies are limited to {MAX_BODY_BYTES} bytes")
        key = request.headers.get("idempotency-key")
        if request.method != "POST" or key is None:
            return await call_next(request)
        if not key or len(key) > MAX_KEY_LENGTH:
            return problem(
                422, "invalid_idempotency_key", f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters"
            )
        principal = await principal_or_none(request)
        if principal is None:
            # No caller to scope the key to: replaying would hand one anonymous caller another's
            # response (a new sandbox account's token), and storing a 401 would burn the key.
            return await call_next(request)
        scope = principal.id
        digest = hashlib.sha256(
            b"\n".join(
                [
                    request.method.encode(),
                    request.url.path.encode(),
                    request.url.query.encode(),
                    _canonical(body),
                ]
            )
        ).hexdigest()
        ctx = context(request)
        stored = await run_in_threadpool(_reserve, ctx, scope, key, digest)
        if stored is not None:
            return stored
        try:
            response = await call_next(request)
            chunks = [chunk async for chunk in response.body_iterator]  # type: ignore[attr-defined]
        except BaseException:
            await run_in_threadpool(_release, ctx, scope, key)
            raise
        content = b"".join(c if isinstance(c, bytes) else c.encode() for c in chunks)
        if response.status_code >= 500:
            await run_in_threadpool(_release, ctx, scope, key)
        else:
            await run_in_threadpool(
                _remember,
                ctx,
                scope,
                key,
                response.status_code,
                response.headers.get("content-type"),
                content,
            )
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return Response(content, response.status_code, headers=headers)


def _canonical(body: bytes) -> bytes:
    """The same JSON with other spacing or key order is the same request."""
    try:
        return json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        return body


def _reserve(ctx: Context, scope: str, key: str, digest: str) -> Response | None:
    """None when this request may run; else the response to give instead."""
    try:
        with unit_of_work(ctx.engine) as conn:
            insert_key(conn, scope, key, digest, ctx.clock.now())
        return None
    except IntegrityError:
        pass
    with unit_of_work(ctx.engine) as conn:
        row = load_key(conn, scope, key)
    if row is None:  # released meanwhile by a failed first attempt
        return _reserve(ctx, scope, key, digest)
    if row.request_hash != digest:
        return problem(422, "idempotency_key_reused", "this Idempotency-Key was used for another request")
    if row.status_code is None:
        return problem(
            409, "idempotency_request_in_progress", "the first request with this key is still running"
        )
    return Response(
        row.body, row.status_code, media_type=row.content_type, headers={"idempotent-replayed": "true"}
    )


def _remember(ctx: Context, scope: str, key: str, status: int, media_type: str | None, body: bytes) -> None:
    with unit_of_work(ctx.engine) as conn:
        store_response(conn, scope, key, status, media_type, body.decode())


def _release(ctx: Context, scope: str, key: str) -> None:
    with unit_of_work(ctx.engine) as conn:
        delete_key(conn, scope, key)
