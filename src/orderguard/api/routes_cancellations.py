"""Cancellation requests after payment (R4.1, R4.3 to R4.6)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from orderguard.api import models, views
from orderguard.api.auth import context, current_principal
from orderguard.api.problems import errors
from orderguard.api.routing import ApiRoute
from orderguard.api.schemas import CancellationRejectionIn, CancellationRequestIn, PathId
from orderguard.app import cancellations
from orderguard.app.context import Context, Principal
from orderguard.domain.machine import Refusal, Refused

router = APIRouter(prefix="/v1", tags=["cancellations"], route_class=ApiRoute)


@router.post(
    "/orders/{order_id}/cancellation-requests",
    status_code=201,
    operation_id="requestCancellation",
    responses=errors(400, 401, 403, 404, 409, 413, 415, 422),
)
def request_cancellation(
    order_id: PathId,
    body: CancellationRequestIn,
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> models.CancellationRequest:
    """R4.1: ask the seller to cancel paid, unshipped quantities (omit `lines` for all of them).

    See `GET /v1/orders/{id}/cancellation-reasons` first: each reason's fault, refund and fine.
    The seller has 72 hours to answer; silence approves the request (R4.4).
    """
    lines = None
    if body.lines is not None:
        lines = {ln.line_id: ln.quantity for ln in body.lines}
        if len(lines) != len(body.lines):
            raise Refused(Refusal("duplicate_line", "each line may appear once per request", 422))
    view = cancellations.request_cancellation(ctx, who, order_id, body.reason, lines, body.message)
    return views.cancellation_request(view)


@router.get(
    "/orders/{order_id}/cancellation-requests",
    operation_id="listCancellationRequests",
    responses=errors(401, 404, 422),
)
def list_requests(
    order_id: PathId, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> models.CancellationRequests:
    """The order's cancellation requests, oldest first."""
    found = cancellations.requests_of_order(ctx, who, order_id)
    return models.CancellationRequests(
        order_id=order_id, requests=[views.cancellation_request(v) for v in found]
    )


@router.get(
    "/cancellation-requests/{request_id}",
    operation_id="getCancellationRequest",
    responses=errors(401, 404, 422),
)
def get_request(
    request_id: PathId, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> models.CancellationRequest:
    """The request with what the caller can do and its deadline."""
    return views.cancellation_request(cancellations.get_request(ctx, who, request_id))


@router.post(
    "/cancellation-requests/{request_id}/withdraw",
    operation_id="withdrawCancellation",
    responses=errors(401, 403, 404, 409, 413, 422),
)
def withdraw(
    request_id: PathId, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> models.CancellationRequest:
    """The buyer takes an open request back."""
    return views.cancellation_request(cancellations.withdraw(ctx, who, request_id))


@router.post(
    "/cancellation-requests/{request_id}/approve",
    operation_id="approveCancellation",
    responses=errors(401, 403, 404, 409, 413, 422),
)
def approve(
    request_id: PathId, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> models.CancellationRequest:
    """R4.3: the seller agrees: the quantities are cancelled and refunded to the buyer's original
    payment method; a seller-fault reason fines the seller."""
    return views.cancellation_request(cancellations.approve(ctx, who, request_id))


@router.post(
    "/cancellation-requests/{request_id}/reject",
    operation_id="rejectCancellation",
    responses=errors(400, 401, 403, 404, 409, 413, 415, 422),
)
def reject(
    request_id: PathId,
    body: CancellationRejectionIn,
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> models.CancellationRequest:
    """R4.3: the seller refuses. Give `carrier` and `tracking_code` when the parcel is already on
    its way (R4.6): the request's lines are shipped under that code, with the usual checks."""
    if (body.carrier is None) != (body.tracking_code is None):
        raise Refused(Refusal("incomplete_shipment", "give both carrier and tracking_code, or neither", 422))
    view = cancellations.reject(ctx, who, request_id, body.answer, body.carrier, body.tracking_code)
    return views.cancellation_request(view)
