"""Sandbox mode only: demo accounts, virtual time, and the payment provider's reports."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends

from orderguard.api.auth import context
from orderguard.api.schemas import AccountIn, ClockAdvanceIn, TransferFailIn
from orderguard.app import accounts, payments, sandbox
from orderguard.app.context import Context

router = APIRouter(prefix="/v1/sandbox", tags=["sandbox"])


def sandbox_ctx(ctx: Context = Depends(context)) -> Context:
    sandbox.virtual_clock(ctx)  # 404 sandbox_only outside sandbox mode
    return ctx


@router.post("/accounts", status_code=201)
def create_account(body: AccountIn, ctx: Context = Depends(sandbox_ctx)) -> dict[str, Any]:
    new = accounts.create_account(ctx, body.role, body.name, body.email)
    return {"id": new.id, "role": new.role, "name": new.name, "token": new.token}


@router.get("/clock")
def clock(ctx: Context = Depends(sandbox_ctx)) -> dict[str, Any]:
    return {"now": sandbox.virtual_clock(ctx).now()}


@router.post("/clock/advance")
def advance(body: ClockAdvanceIn, ctx: Context = Depends(sandbox_ctx)) -> dict[str, Any]:
    """Move virtual time forward; every deadline passed fires, in due order, before this returns."""
    now, fired = sandbox.advance(ctx, timedelta(days=body.days, hours=body.hours, minutes=body.minutes))
    return {"now": now, "deadlines_fired": fired}


@router.post("/payments/{payment_id}/credit")
def credit(payment_id: str, ctx: Context = Depends(sandbox_ctx)) -> dict[str, Any]:
    p = payments.report_transfer(ctx, payment_id, credited=True)
    return {"id": p.id, "order_id": p.order_id, "state": p.state}


@router.post("/payments/{payment_id}/fail")
def fail(
    payment_id: str, body: TransferFailIn | None = None, ctx: Context = Depends(sandbox_ctx)
) -> dict[str, Any]:
    p = payments.report_transfer(ctx, payment_id, credited=False, reason=body.reason if body else None)
    return {"id": p.id, "order_id": p.order_id, "state": p.state}
