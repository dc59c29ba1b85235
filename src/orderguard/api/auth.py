"""Bearer-token authentication for the API."""

from __future__ import annotations

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from orderguard.app.accounts import authenticate
from orderguard.app.context import Context, Principal
from orderguard.domain.machine import Refusal, Refused


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


async def principal_or_none(request: Request) -> Principal | None:
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    token = bearer_token(request)
    if token is None:
        return None
    found = await run_in_threadpool(authenticate, context(request), token)
    request.state.principal = found
    return found


# Declares the scheme in OpenAPI for every operation that depends on `current_principal`.
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="An account's token: `Authorization: Bearer <token>` (sandbox: POST /v1/sandbox/accounts).",
)


async def current_principal(
    request: Request, _: HTTPAuthorizationCredentials | None = Security(bearer_scheme)
) -> Principal:
    """FastAPI dependency: the caller, or 401 problem+json."""
    found = await principal_or_none(request)
    if found is None:
        # One answer for unknown, expired and revoked tokens (as RFC 6750's invalid_token):
        # a caller learns nothing about tokens that are not theirs.
        detail = (
            "the bearer token is unknown, expired or revoked"
            if bearer_token(request)
            else "send 'Authorization: Bearer <token>'"
        )
        raise Refused(Refusal("unauthenticated", detail, 401))
    return found
