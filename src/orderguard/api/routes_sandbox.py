"""Sandbox mode only: demo accounts, virtual time, and the payment provider's reports."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends

from orderguard.api import models
from orderguard.api.auth import context
from orderguard.api.problems import errors
from orderguard.api.routing import ApiRoute
from orderguard.api.schemas import AccountIn, ClockAdvanceIn, PathId, TransferFailIn
from orderguard.app import accounts, payments, sandbox
from orderguard.app.context import Context

router = APIRouter(prefix="/v1/sandbox", tags=["sandbox"], route_class=ApiRoute)


async def sandbox_ctx(ctx: Context = Depends(context)) -> Context:
    sandbox.virtual_clock(ctx)  # 404 sandbox_only outside sandbox mode
    return ctx


@router.post(
    "/accounts",
    status_code=201,
    operation_id="createSandboxAccount",
    responses=errors(400, 404, 409, 413, 415, 422),
)
def create_account(body: AccountIn, ctx: Context = Depends(sandbox_ctx)) -> models.NewAccount:
    """A demo account of any role, with its bearer token (shown once)."""
    new = accounts.create_account(ctx, body.role, body.name, body.email)
    return models.NewAccount(id=new.id, role=new.role, name=new.name, token=new.token)


@router.get("/clock", operation_id="getSandboxClock", responses=errors(404))
def clock(ctx: Context = Depends(sandbox_ctx)) -> models.Clock:
    """The virtual time, shared by every process; it stands still until advanced."""
    return models.Clock(now=sandbox.virtual_clock(ctx).now())


@router.post(
    "/clock/advance",
    operation_id="advanceSandboxClock",
    responses=errors(400, 404, 409, 413, 415, 422, 503),
)
def advance(body: ClockAdvanceIn, ctx: Context = Depends(sandbox_ctx)) -> models.ClockAdvanced:
    """Move virtual time forward; every deadline passed fires, in due order, before this returns."""
    now, fired = sandbox.advance(ctx, timedelta(days=body.days, hours=body.hours, minutes=body.minutes))
    return models.ClockAdvanced(now=now, deadlines_fired=fired)


@router.post(
    "/payments/{payment_id}/credit",
    operation_id="creditSandboxTransfer",
    responses=errors(404, 409, 413, 422),
)
def credit(payment_id: PathId, ctx: Context = Depends(sandbox_ctx)) -> models.PaymentReport:
    """The bank credited a pending transfer: the order is paid."""
    p = payments.report_transfer(ctx, payment_id, credited=True)
    return models.PaymentReport(id=p.id, order_id=p.order_id, state=p.state)


@router.post(
    "/payments/{payment_id}/fail",
    operation_id="failSandboxTransfer",
    responses=errors(400, 404, 409, 413, 415, 422),
)
def fail(
    payment_id: PathId, body: TransferFailIn | None = None, ctx: Context = Depends(sandbox_ctx)
) -> models.PaymentReport:
    """The bank rejected a pending transfer: the order awaits payment again (or ends after pay-by)."""
    p = payments.report_transfer(ctx, payment_id, credited=False, reason=body.reason if body else None)
    return models.PaymentReport(id=p.id, order_id=p.order_id, state=p.state)
