"""The route class of every API router: what all operations share at the edge.

- A synchronous endpoint runs in the thread pool in one hand-off, with its caller's authentication:
  `Depends(current_principal)` is resolved there (`auth.Credentials`), just before the endpoint,
  instead of in a hand-off of its own; the response model is then checked on the event loop rather
  than in a third. A hand-off costs about as much as the token lookup itself. The request's
  parameters and body are still validated first, so a malformed request without any token is 401,
  one with a token 422 before the token is looked up.
- Except a read-only one (a GET): it runs on the event loop itself, in a greenlet that gives the
  loop back while it waits on PostgreSQL (`orderguard.on_loop`). A read is CPU work but for those
  waits, so a thread would run it no sooner: the hand-off to it and back, and the interpreter's
  lock passed between the threads, cost a read about as much CPU again as the read itself
  (benchmarks/README.md, issue #12, eleventh change). A read's only other wait is an uploaded file
  read from the files directory (a proof or evidence, within the policy's size limit).
- A write with a caller runs there too on PostgreSQL, where each of its waits is on a socket
  (`api/handoff.py`; its statements run through SQLAlchemy also wait through the loop,
  `store.pg_wire.LoopConnection`; a payment provider that calls out over the network does so
  through `on_loop.off_loop`). On SQLite, and for an operation without a caller (the sandbox's,
  whose clock advance waits on a lock), it stays in the pool: SQLite's write may wait for another
  process's write lock (busy_timeout), which the event loop must never do.
- A POST declares the `Idempotency-Key` header (the request guard handles it), and the guard's
  answers: 409 for a key still in use, 422 for a reused or invalid key.
- An operation with a body declares the guard's answers to bodies: 408 too slow, 413 too large,
  415 not JSON, 422 nested too deep.
- A JSON body must be sent as `application/json` (or a `+json` type): another
  content type, or none, gets 415 `unsupported_media_type` before the body is
  parsed or the caller authenticated. An empty body is left to validation.
- A file upload (a body of `File` parameters) must be sent as `multipart/form-data`, else 415
  `unsupported_media_type`; a multipart body that does not parse, or carries more files or
  fields than the route takes, is 400 `malformed_multipart`. Its size is the request guard's
  (a larger limit on upload routes, see `guard.BodyLimit`).
"""

from __future__ import annotations

import email.message
import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Depends, Request, Response, params
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from orderguard import on_loop
from orderguard.api.auth import Credentials, bearer_credentials, context, current_principal
from orderguard.api.handoff import runner_for
from orderguard.api.problems import errors
from orderguard.api.schemas import idempotency_key
from orderguard.app.accounts import CallerChanged
from orderguard.app.context import Principal
from orderguard.domain.machine import Refusal, Refused


def unsupported_media_type(media: str = "application/json") -> Refused:
    return Refused(Refusal("unsupported_media_type", f"send the body as 'Content-Type: {media}'", 415))


MULTIPART = "multipart/form-data"
MAX_FORM_FILES = 1  # an upload route takes one file
MAX_FORM_FIELDS = 8
MAX_FORM_FIELD_BYTES = 8 * 1024  # a field that is not a file


class ApiRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        methods = {m.upper() for m in kwargs.get("methods") or ()}
        guard: set[int] = set()
        if "POST" in methods:
            kwargs["dependencies"] = [*(kwargs.get("dependencies") or ()), Depends(idempotency_key)]
            guard |= {409, 422}
        if methods & {"POST", "PUT", "PATCH"}:
            guard |= {408, 413, 415, 422}
        kwargs["responses"] = {**errors(*guard), **(kwargs.get("responses") or {})}
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = in_one_handoff(endpoint, reads_only=bool(methods) and methods <= {"GET", "HEAD"})
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler
        if isinstance(self.body_field.field_info, params.Form):

            async def multipart_only(request: Request) -> Response:
                if media_type(request.headers.get("content-type")) != MULTIPART:
                    raise unsupported_media_type(MULTIPART)
                try:  # parsed once here, with our limits; the route's handler reuses the parsed form
                    await request.form(
                        max_files=MAX_FORM_FILES,
                        max_fields=MAX_FORM_FIELDS,
                        max_part_size=MAX_FORM_FIELD_BYTES,
                    )
                except HTTPException as e:
                    raise Refused(
                        Refusal("malformed_multipart", f"the multipart body: {e.detail}", 400)
                    ) from e
                return await handler(request)

            return multipart_only

        async def json_only(request: Request) -> Response:
            if await request.body() and not is_json(request.headers.get("content-type")):
                raise unsupported_media_type()
            return await handler(request)

        return json_only


def in_one_handoff(
    endpoint: Callable[..., Any], *, reads_only: bool = False
) -> Callable[..., Coroutine[Any, Any, Any]]:
    """`endpoint` as a coroutine that runs it in the thread pool (a read: on the event loop, as the
    module says), its `Depends(current_principal)` parameters authenticated there first. FastAPI
    sees the same parameters, documentation and response model; only the dependency that yields the
    caller becomes `bearer_credentials`, and one that yields the Context is filled from it.

    `reads_only` (a GET): the token's lookup and the endpoint's reading units are one reading unit
    on one connection (`UnitsOfWork.reads_shared`), not one for the caller and one for the page;
    and the lookup travels with the endpoint's first reads (`Credentials.ahead`). The endpoint's
    answer, or its error, is given only once that lookup has confirmed the caller it was planned
    with; otherwise it runs again with the caller looked up afresh."""
    signature = inspect.signature(endpoint, eval_str=True)
    callers = [
        name
        for name, p in signature.parameters.items()
        if isinstance(p.default, params.Depends) and p.default.dependency is current_principal
    ]
    # With a caller, the Context comes with the credentials: one dependency fewer to solve.
    contexts = [
        name
        for name, p in signature.parameters.items()
        if callers and isinstance(p.default, params.Depends) and p.default.dependency is context
    ]
    parameters = [
        p.replace(default=Depends(bearer_credentials), annotation=Credentials) if name in callers else p
        for name, p in signature.parameters.items()
        if name not in contexts
    ]

    def authenticated(values: dict[str, Any], caller: Principal | None = None) -> Any:
        if callers:
            credentials: Credentials = values[callers[0]]
            who = caller if caller is not None else credentials.principal()
            values = values | dict.fromkeys(contexts, credentials.ctx) | dict.fromkeys(callers, who)
        return endpoint(**values)

    def authenticated_in_one_unit(values: dict[str, Any]) -> Any:
        credentials: Credentials = values[callers[0]]
        with credentials.ctx.units.reads_shared():
            ahead = credentials.ahead()
            try:
                answer = authenticated(values, ahead.principal)
            except CallerChanged:
                pass
            except Exception:
                if ahead.confirmed():
                    raise
            else:
                if ahead.confirmed():
                    return answer
            # The token no longer names that caller: nothing of the attempt is shown; the request
            # is done again with a fresh lookup (401 for a token revoked or expired since).
            return authenticated(values)

    run = authenticated_in_one_unit if reads_only and callers else authenticated

    async def handoff(**values: Any) -> Any:
        if reads_only:
            return await on_loop.run(run, values)
        credentials: Credentials | None = values[callers[0]] if callers else None
        return await runner_for(credentials.ctx if credentials is not None else None)(run, values)

    handoff.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    for attribute in ("__name__", "__qualname__", "__doc__", "__module__"):
        setattr(handoff, attribute, getattr(endpoint, attribute))
    return handoff


def media_type(content_type: str | None) -> str:
    message = email.message.Message()
    message["content-type"] = content_type or ""
    return message.get_content_type() if content_type else ""


def is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )
