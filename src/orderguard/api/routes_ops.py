"""What an operator's probes and Prometheus ask: liveness, readiness, metrics. No token: probes and
scrapers carry none; serve them to your infrastructure's network only."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from orderguard.api import models
from orderguard.api.auth import context
from orderguard.api.problems import errors, problem
from orderguard.api.routing import ApiRoute
from orderguard.app import ops
from orderguard.app.context import Context
from orderguard.observability import metrics

router = APIRouter(tags=["ops"], route_class=ApiRoute)

NO_STORE = {"Cache-Control": "no-store"}


@router.get("/healthz", operation_id="getHealth", responses=errors())
def healthz(ctx: Context = Depends(context)) -> models.Health:
    """Liveness: the process answers. It asks the database nothing, so a database outage does not get
    the process restarted; readiness (`/readyz`) says whether it can serve."""
    return models.Health(ok=True, sandbox=ctx.sandbox, policy=ctx.policies.current.key)


@router.get(
    "/readyz",
    operation_id="getReadiness",
    response_model=models.Readiness,
    responses=errors(503),
)
def readyz(response: Response, ctx: Context = Depends(context)) -> Response | models.Readiness:
    """Readiness: the database answers and its schema is at this code's latest migration. Otherwise
    503 `database_unreachable`, or `schema_not_at_head` (run `orderguard migrate`)."""
    found = ops.readiness(ctx)
    if found.code is not None:
        return problem(503, found.code, found.detail, headers={**NO_STORE, "Retry-After": "5"})
    assert found.schema is not None
    response.headers.update(NO_STORE)
    return models.Readiness(ready=True, detail=found.detail, schema_revisions=list(found.schema.current))


@router.get(
    "/metrics",
    operation_id="getMetrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition format (see `observability/metrics.py`)",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        **errors(),
    },
)
def prometheus_metrics(ctx: Context = Depends(context)) -> Response:
    """Request counts and latency per route template, deadlines armed, due and fired per kind, firing
    lateness, batch durations, the last ledger check, in Prometheus's text format. With several
    processes, see `PROMETHEUS_MULTIPROC_DIR` in the README."""
    body = metrics.exposition(metrics.DatabaseGauges(lambda: ops.watched(ctx)))
    return Response(body, media_type=metrics.CONTENT_TYPE, headers=NO_STORE)
