"""Request guard, as plain ASGI: bounded request bodies, Idempotency-Key handling, security headers.

Bodies. A body is read as it streams, never past its limit: the moment a chunked body
without Content-Length passes the limit, reading stops and the answer is 413 `payload_too_large`
(a declared Content-Length over the limit is refused before any byte is read). The limit is
`MAX_BODY_BYTES` (64 KB) for every request but those a `BodyLimit` names by method and path (file
uploads), whose limit is asked for each request, so that it follows the policy in force. A body must
arrive within the read timeout (10 s unless configured), counted from the end of the headers;
a client that declares more bytes than it sends, or stalls, gets 408 `request_timeout`. Both
answers close the connection. A JSON body nested deeper than `MAX_JSON_DEPTH` is refused with
422 `body_too_deep` before anything parses it; no request of ours needs more than a few levels.

Idempotency. The first response to (caller, key) of a POST is stored and replayed for a retry
with the same method, path, query and body (JSON compared in canonical form: other spacing or
key order is the same request); the same key with another request is refused (422
`idempotency_key_reused`); a retry while the first is still running gets 409
`idempotency_request_in_progress`. Server errors (5xx) are not stored, so the retry runs again;
nor are answers about the request rather than its effect (401, 405, 408, 413, 415), whose headers
(`WWW-Authenticate`, `Allow`) a replay would not carry: the retry is simply judged again.
Keys are scoped per authenticated caller: requests without a valid token (sandbox account
creation, a 401) are neither stored nor replayed. A replay carries `idempotent-replayed: true`.
A running request holds its key under a lease that a heartbeat renews, so a key whose process
died is taken over by a retry once the lease has passed; see `app/idempotency.py`.

Headers. Every response carries `X-Content-Type-Options: nosniff`. `Cache-Control: no-store` is
set on anything that may be private: responses to requests with credentials (Authorization or
Cookie), to any method but GET and HEAD (a sandbox sign-up returns a token without one), and
every problem response. Only anonymous GETs of public documents (the OpenAPI document, /docs,
/healthz) are left cacheable. These headers are added outside every other layer, so that a 500
carries them too.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderguard.api.auth import bearer_token
from orderguard.api.handoff import Runner, runner_for
from orderguard.api.problems import problem
from orderguard.app.accounts import token_caller
from orderguard.app.context import Context, Principal
from orderguard.app.idempotency import INVALID_KEY, MAX_KEY_LENGTH, IdempotencyKeys, Replay, Reservation
from orderguard.domain.machine import Refusal

MAX_BODY_BYTES = 64 * 1024
NOT_STORED = frozenset({401, 405, 408, 413, 415})  # answers about the request, not its effect
MAX_JSON_DEPTH = 32
DEFAULT_READ_TIMEOUT = 10.0  # seconds for the whole body to arrive

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
log = logging.getLogger("orderguard.guard")


class _Cut(Enum):
    """Why a body was not read whole."""

    TOO_LARGE = "too_large"
    TIMED_OUT = "timed_out"
    DISCONNECTED = "disconnected"


@dataclass(frozen=True, slots=True)
class BodyLimit:
    """A larger body limit for the requests of `method` whose path matches `path` (a whole match)."""

    method: str
    path: re.Pattern[str]
    limit: Callable[[], int]  # bytes, asked for each request

    def applies(self, method: str, path: str) -> bool:
        return method == self.method and self.path.fullmatch(path) is not None


class RequestGuard:
    def __init__(
        self,
        app: ASGIApp,
        keys: IdempotencyKeys,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        max_body: int = MAX_BODY_BYTES,
        limits: Sequence[BodyLimit] = (),
    ) -> None:
        self.app = app
        self.keys = keys
        self.read_timeout = read_timeout
        self.max_body = max_body
        self.limits = tuple(limits)

    def body_limit(self, method: str, path: str) -> int:
        """The most bytes a request body may have on this route."""
        for route in self.limits:
            if route.applies(method, path):
                return route.limit()
        return self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = content_type = key = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"content-type":
                content_type = value
            elif name == b"idempotency-key" and key is None:  # the first, as Starlette's headers.get
                key = value
        method = scope["method"]
        max_body = self.body_limit(method, scope["path"])
        if length is not None and length.isdigit() and int(length) > max_body:
            await _closing(_too_large(max_body))(scope, receive, send)
            return
        if method not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return

        body = await self._read_body(receive, max_body)
        if body is _Cut.DISCONNECTED:
            return
        if body is _Cut.TOO_LARGE:
            await _closing(_too_large(max_body))(scope, receive, send)
            return
        if body is _Cut.TIMED_OUT:
            detail = f"the request body did not arrive within {self.read_timeout:g} s"
            await _closing(problem(408, "request_timeout", detail))(scope, receive, send)
            return
        assert isinstance(body, bytes)
        if _is_json(content_type) and too_deep(body, MAX_JSON_DEPTH):
            detail = f"JSON bodies may be nested at most {MAX_JSON_DEPTH} levels deep"
            await problem(422, "body_too_deep", detail)(scope, receive, send)
            return

        replayed = False

        async def receive_body() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: the disconnect, when it comes

        if method != "POST" or key is None:
            await self.app(scope, receive_body, send)
            return
        await self._idempotent(scope, receive_body, send, key.decode("latin-1"), body)

    async def _read_body(self, receive: Receive, max_body: int) -> bytes | _Cut:
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.read_timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return _Cut.DISCONNECTED
                    chunk: bytes = message.get("body", b"")
                    size += len(chunk)
                    if size > max_body:
                        return _Cut.TOO_LARGE
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            return _Cut.TIMED_OUT
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _idempotent(self, scope: Scope, receive: Receive, send: Send, key: str, body: bytes) -> None:
        if not key or len(key) > MAX_KEY_LENGTH:
            await _refused(INVALID_KEY)(scope, receive, send)
            return
        request = Request(scope, receive)
        token = bearer_token(request)
        digest = hashlib.sha256(
            b"\n".join(
                [scope["method"].encode(), scope["path"].encode(), scope["query_string"], _canonical(body)]
            )
        ).hexdigest()
        # One hand-off (on PostgreSQL none: api/handoff.py) for both: who the caller is, then their key.
        ctx = request.app.state.ctx
        run = runner_for(ctx)
        reserved = await run(self._reserve, ctx, token, key, digest) if token else None
        if reserved is None:
            # No caller to scope the key to: replaying would hand one anonymous caller another's
            # response (a new sandbox account's token), and storing a 401 would burn the key.
            await self.app(scope, receive, send)
            return
        request.state.principal, found = reserved
        if isinstance(found, Refusal):
            await _refused(found)(scope, receive, send)
        elif isinstance(found, Replay):
            replay = Response(
                found.body,
                found.status_code,
                media_type=found.content_type,
                headers={"idempotent-replayed": "true"},
            )
            await replay(scope, receive, send)
        else:
            await self._run_holding(found, scope, receive, send, run)

    def _reserve(
        self, ctx: Context, token: str, key: str, digest: str
    ) -> tuple[Principal, Reservation | Replay | Refusal] | None:
        """The caller and what their key says (None for an unknown, expired or revoked token), in one
        transaction."""
        return self.keys.reserve_as(token_caller(token, ctx.clock), key, digest)

    async def _run_holding(
        self, held: Reservation, scope: Scope, receive: Receive, send: Send, run: Runner
    ) -> None:
        """Run the request while holding its key; store its response before the client sees it.
        `run` runs the key's units of work (`api/handoff.py`)."""
        start: Message | None = None
        parts: list[bytes] = []

        async def keep(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
            else:
                await send(message)

        heartbeat = asyncio.create_task(self._renew_while_running(held))  # outside the fence below
        try:
            with self.keys.running(held):
                await self.app(scope, receive, keep)
        except BaseException:
            with anyio.CancelScope(shield=True):  # also when the request itself was cancelled
                await _stop(heartbeat)
                await self._release(held, run)
            raise
        await _stop(heartbeat)
        if start is None:  # the app sent nothing: let the server answer 500
            await self._release(held, run)
            return
        status: int = start["status"]
        content = b"".join(parts)
        if status >= 500 or status in NOT_STORED:
            await self._release(held, run)
        else:
            headers = dict(_decoded(start.get("headers", ())))
            try:
                kept = await run(self.keys.remember, held, status, headers.get("content-type"), content)
                if not kept:
                    log.warning("Idempotency-Key %r was taken over before its response was stored", held.key)
            except Exception:
                log.exception("storing the response for Idempotency-Key %r failed; releasing it", held.key)
                await self._release(held, run)
        await send(start)
        await send({"type": "http.response.body", "body": content, "more_body": False})

    async def _renew_while_running(self, held: Reservation) -> None:
        while True:
            await asyncio.sleep(self.keys.renew_every)
            try:
                # Not on the request threads: when every one of those is busy (requests waiting on
                # locks), the running requests must still keep their keys.
                if not await asyncio.to_thread(self.keys.renew, held):
                    log.warning("Idempotency-Key %r was taken over while its request ran", held.key)
                    return
            except Exception:
                log.exception("renewing the lease of Idempotency-Key %r failed; will try again", held.key)

    async def _release(self, held: Reservation, run: Runner) -> None:
        try:
            await run(self.keys.release, held)
        except Exception:  # the lease runs out on its own
            log.exception("releasing Idempotency-Key %r failed", held.key)


class SecurityHeaders:
    """`X-Content-Type-Options: nosniff` everywhere, `Cache-Control: no-store` on what may be private."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        private = scope["method"] not in {"GET", "HEAD"} or any(
            name in {b"authorization", b"cookie"} for name, _ in scope["headers"]
        )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                no_store = private or any(
                    name.lower() == b"content-type" and value.startswith(b"application/problem+json")
                    for name, value in headers
                )
                dropped = (
                    {b"x-content-type-options", b"cache-control"} if no_store else {b"x-content-type-options"}
                )
                headers = [(n, v) for n, v in headers if n.lower() not in dropped]
                headers.append((b"x-content-type-options", b"nosniff"))
                if no_store:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


_JSON_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)  # strings skipped; linear


def too_deep(body: bytes, limit: int) -> bool:
    """Whether the JSON text opens more than `limit` arrays and objects inside each other."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for token in _JSON_TOKEN.findall(body):
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


def _canonical(body: bytes) -> bytes:
    """The same JSON with other spacing or key order is the same request."""
    try:
        return json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):  # not JSON (or absurdly deep): the bytes as sent
        return body


def _is_json(content_type: bytes | None) -> bool:
    """The bodies FastAPI parses as JSON: no content type, or application/json or */*+json."""
    if not content_type:
        return True
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (media.startswith(b"application/") and media.endswith(b"+json"))


def _too_large(max_body: int) -> Response:
    return problem(413, "payload_too_large", f"request bodies here are limited to {max_body} bytes")


def _refused(refusal: Refusal) -> Response:
    return problem(refusal.status, refusal.code, refusal.detail)


def _closing(response: Response) -> Response:
    """The answer before a body was read whole: the connection cannot carry another request."""
    response.headers["connection"] = "close"
    return response


def _decoded(headers: Iterable[tuple[bytes, bytes]]) -> Iterable[tuple[str, str]]:
    return ((n.decode("latin-1").lower(), v.decode("latin-1")) for n, v in headers)


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.wait([task])
