"""Bearer-token authentication for the API.

A synchronous route authenticates its caller where it runs (`Credentials`, see `routing.ApiRoute`):
one hand-off to the thread pool a request (none for a read, which runs on the event loop), not one
for the token and one for the route. The token is looked up on every request, so a revoked or
expired token is refused from the next request on. A read-only request plans its reads with the
caller its token named last time and sends its own lookup with them (`Credentials.ahead`,
`accounts.authenticate_ahead`); it is answered only if that lookup confirms the caller, and
otherwise done again, authenticated afresh.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPBearer
from starlette.concurrency import run_in_threadpool

from orderguard.app.accounts import CallerAhead, authenticate, authenticate_ahead
from orderguard.app.context import Context, Principal
from orderguard.domain.machine import Refusal, Refused


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def context(request: Request) -> Context:
    """The application's Context (a coroutine: FastAPI would run a plain function in the pool)."""
    ctx: Context = request.app.state.ctx
    return ctx


def unauthenticated(token: str | None) -> Refused:
    # One answer for unknown, expired and revoked tokens (as RFC 6750's invalid_token):
    # a caller learns nothing about tokens that are not theirs.
    detail = (
        "the bearer token is unknown, expired or revoked" if token else "send 'Authorization: Bearer <token>'"
    )
    return Refused(Refusal("unauthenticated", detail, 401))


@dataclass(frozen=True, slots=True)
class Credentials:
    """A request's bearer token, not looked up yet; `known` when the request guard already did."""

    ctx: Context
    token: str
    known: Principal | None

    def principal(self) -> Principal:
        """The caller (a query, unless known), or 401 problem+json. Blocking: call it in the pool."""
        found = self.known if self.known is not None else authenticate(self.ctx, self.token)
        if found is None:
            raise unauthenticated(self.token)
        return found

    def ahead(self) -> CallerAhead:
        """For a read-only request in a shared reading unit: the caller to plan its reads with, its
        lookup travelling with them (`accounts.authenticate_ahead`); 401 for a token unknown here."""
        if self.known is not None:
            return CallerAhead.settled(self.known)
        ahead = authenticate_ahead(self.ctx, self.token)
        if ahead.principal is None:
            raise unauthenticated(self.token)
        return ahead


class _BearerCredentials(HTTPBearer):
    """FastAPI dependency: the request's token, or 401 problem+json when it has none. Being the
    security scheme itself, it declares the scheme in OpenAPI for every operation that depends on
    it (or on `current_principal`), and a request resolves one dependency for it, not two."""

    async def __call__(self, request: Request) -> Credentials:  # type: ignore[override]
        token = bearer_token(request)
        if token is None:
            raise unauthenticated(None)
        return Credentials(request.app.state.ctx, token, getattr(request.state, "principal", None))


bearer_credentials = _BearerCredentials(
    auto_error=False,
    scheme_name="bearer",
    description="An account's token: `Authorization: Bearer <token>` (sandbox: POST /v1/sandbox/accounts).",
)


async def current_principal(credentials: Credentials = Depends(bearer_credentials)) -> Principal:
    """FastAPI dependency: the caller, or 401 problem+json. A synchronous route that depends on it
    gets its caller from the thread that runs it instead (`routing.ApiRoute`)."""
    if credentials.known is not None:
        return credentials.known
    return await run_in_threadpool(credentials.principal)
