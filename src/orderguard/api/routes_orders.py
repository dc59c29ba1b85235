"""My orders, order detail (actions, deadlines), timeline, payment and cancellation."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from orderguard.api.auth import context, current_principal
from orderguard.api.schemas import PaymentIn
from orderguard.api.views import order_json, order_summary
from orderguard.app import orders, payments
from orderguard.app.context import Context, Principal

router = APIRouter(prefix="/v1", tags=["orders"])


@router.get("/orders")
def list_orders(
    status: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> dict[str, Any]:
    """A buyer's own orders, a seller's stores' orders, or (admin) all; newest first."""
    page = orders.list_orders(ctx, who, status, cursor, limit)
    return {"orders": [order_summary(o) for o in page.orders], "next_cursor": page.next_cursor}


@router.get("/orders/{order_id}")
def get_order(
    order_id: str, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> dict[str, Any]:
    return order_json(orders.get_order(ctx, who, order_id))


@router.get("/orders/{order_id}/timeline")
def timeline(
    order_id: str, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> dict[str, Any]:
    return {"order_id": order_id, "events": orders.timeline(ctx, who, order_id)}


@router.post("/orders/{order_id}/payments", status_code=201)
def pay(
    order_id: str,
    body: PaymentIn,
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> dict[str, Any]:
    return asdict(payments.pay(ctx, who, order_id, body.method))


@router.post("/orders/{order_id}/cancel")
def cancel(
    order_id: str, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> dict[str, Any]:
    """Cancel an unpaid order, without sanctions (R3.4)."""
    return order_json(orders.cancel_unpaid(ctx, who, order_id))
