"""Shipments (R6.1), carrier scans (R6.2), receipt (R6.4), balances and notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from orderguard.api import models, views
from orderguard.api.auth import context, current_principal
from orderguard.api.problems import errors
from orderguard.api.routing import ApiRoute, is_json, unsupported_media_type
from orderguard.api.schemas import (
    CarrierPath,
    CarrierScansIn,
    Cursor,
    PathId,
    PlaceIn,
    RefuseParcelIn,
    SandboxScanIn,
    ShipmentIn,
)
from orderguard.app import inbox, orders, shipping
from orderguard.app.context import Context, Principal
from orderguard.app.sandbox import virtual_clock
from orderguard.domain.machine import Refusal, Refused
from orderguard.domain.shipping import Place

router = APIRouter(prefix="/v1", tags=["shipping"], route_class=ApiRoute)


def _place(p: PlaceIn | None) -> Place | None:
    return Place(p.country, p.city, p.postal_code) if p else None


@router.post(
    "/orders/{order_id}/shipments",
    status_code=201,
    operation_id="createShipment",
    responses=errors(400, 401, 403, 404, 409, 413, 415, 422),
)
def ship(
    order_id: PathId,
    body: ShipmentIn,
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> models.NewShipment:
    """The seller ships some or all lines (omit `lines` to ship everything left)."""
    lines = {ln.line_id: ln.quantity for ln in body.lines} if body.lines is not None else None
    if body.lines is not None and len(lines or {}) != len(body.lines):
        raise Refused(Refusal("duplicate_line", "each line may appear once per shipment", 422))
    s = shipping.ship(ctx, who, order_id, body.carrier, body.tracking_code, lines)
    return models.NewShipment(
        id=s.id,
        order_id=s.order_id,
        carrier=s.carrier,
        tracking_code=s.tracking_code,
        status=s.state,
        shipped_at=s.shipped_at,
    )


@router.post(
    "/orders/{order_id}/confirm-receipt",
    operation_id="confirmReceipt",
    responses=errors(401, 403, 404, 409, 413, 422),
)
def confirm_receipt(
    order_id: PathId, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> models.Order:
    """Complete the order. Do not confirm receipt of a faulty item: open a dispute instead."""
    return views.order(orders.confirm_receipt(ctx, who, order_id))


@router.post(
    "/orders/{order_id}/refuse-parcel",
    operation_id="refuseParcel",
    responses=errors(400, 401, 403, 404, 409, 413, 415, 422),
)
def refuse_parcel(
    order_id: PathId,
    body: RefuseParcelIn | None = None,
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> models.Order:
    """R6.6: the buyer refuses a parcel before it is delivered (shipped, in transit, at the pickup
    point); it goes back to the seller at once. Once the carrier reports it delivered back, the buyer
    is refunded its lines, less the return shipping (or in full, by policy). Without `shipment_id`,
    every parcel of the order not delivered yet is refused.

    409: `order_not_shipped`, `order_cancelled`, `order_completed` (open a dispute instead),
    `order_returned`, `parcel_delivered`, `parcel_returning`; 404 `shipment_not_found` for a parcel
    that is not the order's."""
    shipment_id = body.shipment_id if body else None
    return views.order(orders.refuse_parcel(ctx, who, order_id, shipment_id))


def _by_reference(model: type[CarrierScansIn]) -> dict[str, Any]:
    """The model's schema as a reference; its definitions are moved to components with the document."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions = schema.pop("$defs", {})
    return {
        "$ref": f"#/components/schemas/{model.__name__}",
        "$defs": {**definitions, model.__name__: schema},
    }


# The webhook reads its body raw (the signature covers the bytes), so the schema is declared by hand.
_SCANS_BODY = {"required": True, "content": {"application/json": {"schema": _by_reference(CarrierScansIn)}}}


@router.post(
    "/carriers/{carrier}/scans",
    operation_id="reportCarrierScans",
    responses=errors(400, 401, 409, 413, 415, 422),
    openapi_extra={"requestBody": _SCANS_BODY},
)
async def carrier_scans(
    carrier: CarrierPath,
    request: Request,
    ctx: Context = Depends(context),
    webhook_timestamp: Annotated[str | None, Header(description="Unix time of signing, in seconds")] = None,
    webhook_signature: Annotated[
        str | None, Header(description='`v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`')
    ] = None,
) -> models.ScanResult:
    """Scans reported by a carrier, signed `v1=hex(HMAC-SHA256(secret, "<timestamp>.<body>"))`.

    The body is read as sent (the signature covers its bytes), so it is parsed here, not by FastAPI,
    after the same content-type check as every JSON body and with the same problems for bad JSON.
    """
    body = await request.body()
    if body and not is_json(request.headers.get("content-type")):
        raise unsupported_media_type()
    signature = await run_in_threadpool(
        shipping.verify_signature, ctx, carrier, webhook_timestamp, webhook_signature, body
    )
    try:
        parsed = CarrierScansIn.model_validate_json(body)
    except ValidationError as e:
        raise RequestValidationError(e.errors(include_url=False)) from e
    reports = [
        shipping.ScanReport(
            s.tracking_code, s.kind, s.occurred_at, Place(s.place.country, s.place.city, s.place.postal_code)
        )
        for s in parsed.scans
    ]
    result = await run_in_threadpool(shipping.record_scans, ctx, carrier, reports, "carrier", signature)
    return models.ScanResult(accepted=result.accepted, duplicates=result.duplicates)


@router.post(
    "/sandbox/shipments/{shipment_id}/scans",
    tags=["sandbox"],
    operation_id="injectSandboxScan",
    responses=errors(400, 404, 413, 415, 422),
)
def sandbox_scan(
    shipment_id: PathId, body: SandboxScanIn, ctx: Context = Depends(context)
) -> models.ScanResult:
    """Sandbox carrier: inject a scan (default: now, at the parcel's destination)."""
    virtual_clock(ctx)
    occurred: datetime | None = body.occurred_at
    result = shipping.inject_scan(ctx, shipment_id, body.kind, occurred, _place(body.place))
    return models.ScanResult(accepted=result.accepted, duplicates=result.duplicates)


@router.get("/stores/{store_id}/fines", operation_id="listStoreFines", responses=errors(401, 404, 422))
def store_fines(
    store_id: PathId,
    cursor: Cursor = None,  # type: ignore[assignment]
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> models.FinePage:
    """The store's fines, newest first (R4.3, R4.8): each moved money from its payable balance to the
    platform. The balance may go negative; it is settled against the next payouts."""
    page = inbox.store_fines(ctx, who, store_id, cursor, limit)
    return models.FinePage(
        store_id=store_id,
        fines=[
            models.StoreFine(**{k: getattr(f, k) for k in models.StoreFine.model_fields}) for f in page.fines
        ],
        next_cursor=page.next_cursor,
    )


@router.get("/stores/{store_id}/balance", operation_id="getStoreBalance", responses=errors(401, 404, 422))
def store_balance(
    store_id: PathId, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> models.Balance:
    """What the platform owes the store (its seller or an administrator)."""
    return models.Balance(**inbox.store_balance(ctx, who, store_id))


@router.get("/notifications", operation_id="listNotifications", responses=errors(401, 422))
def notifications(
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> models.Notifications:
    """The caller's latest notifications, newest first."""
    return models.Notifications(
        notifications=[models.Notification(**n) for n in inbox.notifications(ctx, who, limit)]
    )
