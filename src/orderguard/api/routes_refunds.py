"""Refunds (R5.1-R5.3): an order's, one by id, the administrators' list, and the sandbox's failure."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from orderguard.api import models, views
from orderguard.api.auth import context, current_principal
from orderguard.api.problems import errors
from orderguard.api.routing import ApiRoute
from orderguard.api.schemas import Cursor, PathId, RefundFailIn
from orderguard.app import refund_views, refunds
from orderguard.app.context import Context, Principal
from orderguard.app.sandbox import virtual_clock
from orderguard.domain.refunds import REFUND

router = APIRouter(prefix="/v1", tags=["refunds"], route_class=ApiRoute)

# The schema names the refund machine's states; any other value is refused with `unknown_status`.
StatusFilter = Annotated[
    str,
    Query(description="only refunds in this state", json_schema_extra={"enum": list(REFUND.states)}),
]


@router.get("/orders/{order_id}/refunds", operation_id="listOrderRefunds", responses=errors(401, 404, 422))
def order_refunds(
    order_id: PathId, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> models.OrderRefunds:
    """The order's refunds, oldest first: amount, lines, reason, method, provider reference, expected
    arrival, status and timers (the order's parties and administrators)."""
    found = refund_views.order_refunds(ctx, who, order_id)
    return models.OrderRefunds(order_id=order_id, refunds=[views.refund(v) for v in found])


@router.get("/refunds/{refund_id}", operation_id="getRefund", responses=errors(401, 404, 422))
def get_refund(
    refund_id: PathId, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> models.Refund:
    """One refund, traceable to the buyer's statement (R5.1): 404 to anyone not a party to its order."""
    return views.refund(refund_views.get_refund(ctx, who, refund_id))


@router.get("/admin/refunds", operation_id="listAdminRefunds", responses=errors(401, 403, 422))
def admin_refunds(
    status: StatusFilter = None,  # type: ignore[assignment]
    overdue: Annotated[
        bool, Query(description="only refunds still unsettled past their settle-by time (R5.2)")
    ] = False,
    cursor: Cursor = None,  # type: ignore[assignment]
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> models.RefundPage:
    """Every refund, oldest first (administrators): `status=failed` for those the provider
    declined, `overdue=true` for cancellation refunds unsettled after 14 days (R5.2)."""
    page = refund_views.admin_refunds(ctx, who, status, overdue, cursor, limit)
    return models.RefundPage(refunds=[views.refund(v) for v in page.refunds], next_cursor=page.next_cursor)


@router.post(
    "/sandbox/refunds/{refund_id}/fail",
    tags=["sandbox"],
    operation_id="failSandboxRefund",
    responses=errors(400, 404, 409, 413, 415, 422),
)
def fail(
    refund_id: PathId, body: RefundFailIn | None = None, ctx: Context = Depends(context)
) -> models.RefundReport:
    """Sandbox provider: the refund failed (it is sent again after the backoff; administrators see it)."""
    virtual_clock(ctx)  # 404 sandbox_only outside sandbox mode
    reason = body.reason if body else RefundFailIn().reason
    r = refunds.report_failure(ctx, refund_id, reason)
    return models.RefundReport(id=r.id, order_id=r.order_id, status=r.state)
