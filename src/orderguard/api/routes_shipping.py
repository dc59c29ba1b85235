"""Shipments (R6.1), carrier scans (R6.2), receipt (R6.4), balances and notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from orderguard.api.auth import context, current_principal
from orderguard.api.schemas import CarrierScansIn, PlaceIn, SandboxScanIn, ShipmentIn
from orderguard.api.views import order_json
from orderguard.app import inbox, orders, shipping
from orderguard.app.context import Context, Principal
from orderguard.app.sandbox import virtual_clock
from orderguard.domain.machine import Refusal, Refused
from orderguard.domain.shipping import Place

router = APIRouter(prefix="/v1", tags=["shipping"])


def _place(p: PlaceIn | None) -> Place | None:
    return Place(p.country, p.city, p.postal_code) if p else None


@router.post("/orders/{order_id}/shipments", status_code=201)
def ship(
    order_id: str,
    body: ShipmentIn,
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> dict[str, Any]:
    """The seller ships some or all lines (omit `lines` to ship everything left)."""
    lines = {ln.line_id: ln.quantity for ln in body.lines} if body.lines is not None else None
    if body.lines is not None and len(lines or {}) != len(body.lines):
        raise Refused(Refusal("duplicate_line", "each line may appear once per shipment", 422))
    s = shipping.ship(ctx, who, order_id, body.carrier, body.tracking_code, lines)
    return {
        "id": s.id,
        "order_id": s.order_id,
        "carrier": s.carrier,
        "tracking_code": s.tracking_code,
        "status": s.state,
        "shipped_at": s.shipped_at,
    }


@router.post("/orders/{order_id}/confirm-receipt")
def confirm_receipt(
    order_id: str, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> dict[str, Any]:
    """Complete the order. Do not confirm receipt of a faulty item: open a dispute instead."""
    return order_json(orders.confirm_receipt(ctx, who, order_id))


@router.post("/carriers/{carrier}/scans")
async def carrier_scans(
    carrier: str,
    request: Request,
    ctx: Context = Depends(context),
    webhook_timestamp: Annotated[str | None, Header()] = None,
    webhook_signature: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Scans reported by a carrier, signed `v1=hex(HMAC-SHA256(secret, "<timestamp>.<body>"))`."""
    body = await request.body()
    signature = await run_in_threadpool(
        shipping.verify_signature, ctx, carrier, webhook_timestamp, webhook_signature, body
    )
    try:
        parsed = CarrierScansIn.model_validate_json(body)
    except ValidationError as e:
        raise Refused(Refusal("validation_error", _first_error(e), 422)) from e
    reports = [
        shipping.ScanReport(
            s.tracking_code, s.kind, s.occurred_at, Place(s.place.country, s.place.city, s.place.postal_code)
        )
        for s in parsed.scans
    ]
    result = await run_in_threadpool(shipping.record_scans, ctx, carrier, reports, "carrier", signature)
    return {"accepted": result.accepted, "duplicates": result.duplicates}


def _first_error(e: ValidationError) -> str:
    err = e.errors()[0]
    return f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg', '')}"


@router.post("/sandbox/shipments/{shipment_id}/scans", tags=["sandbox"])
def sandbox_scan(shipment_id: str, body: SandboxScanIn, ctx: Context = Depends(context)) -> dict[str, Any]:
    """Sandbox carrier: inject a scan (default: now, at the parcel's destination)."""
    virtual_clock(ctx)
    occurred: datetime | None = body.occurred_at
    result = shipping.inject_scan(ctx, shipment_id, body.kind, occurred, _place(body.place))
    return {"accepted": result.accepted, "duplicates": result.duplicates}


@router.get("/stores/{store_id}/balance")
def store_balance(
    store_id: str, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> dict[str, Any]:
    return inbox.store_balance(ctx, who, store_id)


@router.get("/notifications")
def notifications(
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> dict[str, Any]:
    return {"notifications": inbox.notifications(ctx, who, limit)}
