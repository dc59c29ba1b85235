"""My orders, order detail (actions, deadlines), timeline, payment and cancellation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from orderguard.api import models, views
from orderguard.api.auth import context, current_principal
from orderguard.api.problems import errors
from orderguard.api.routing import ApiRoute
from orderguard.api.schemas import Cursor, PathId, PaymentIn
from orderguard.app import orders, payments
from orderguard.app.context import Context, Principal
from orderguard.domain.orders import ORDER

router = APIRouter(prefix="/v1", tags=["orders"], route_class=ApiRoute)

# The schema names the order machine's states; any other value is refused with `unknown_status`.
StatusFilter = Annotated[
    str,
    Query(
        description="only orders in this state",
        json_schema_extra={"enum": list(ORDER.states)},
    ),
]


@router.get("/orders", operation_id="listOrders", response_model=models.OrderPage, responses=errors(401, 422))
def list_orders(
    status: StatusFilter = None,  # type: ignore[assignment]
    cursor: Cursor = None,  # type: ignore[assignment]
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> Response:
    """A buyer's own orders, a seller's stores' orders, or (admin) all; newest first. Each carries
    the caller's `actions` and its `deadlines`, as `GET /v1/orders/{id}` shows them."""
    page = orders.list_orders(ctx, who, status, cursor, limit)
    return views.order_page(page.orders, page.next_cursor)


@router.get("/orders/{order_id}", operation_id="getOrder", responses=errors(401, 404, 422))
def get_order(
    order_id: PathId, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> models.Order:
    """The order as the caller sees it: lines, money, payments, shipments, actions and deadlines."""
    return views.order(orders.get_order(ctx, who, order_id))


@router.get("/orders/{order_id}/timeline", operation_id="getOrderTimeline", responses=errors(401, 404, 422))
def timeline(
    order_id: PathId, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> models.Timeline:
    """Every event of the order: what happened, who did it, when, under which rule."""
    events = orders.timeline(ctx, who, order_id)
    return models.Timeline(order_id=order_id, events=[models.TimelineEvent(**e) for e in events])


@router.get(
    "/orders/{order_id}/cancellation-reasons",
    operation_id="previewCancellation",
    responses=errors(401, 404, 409, 422),
)
def cancellation_reasons(
    order_id: PathId, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> models.CancellationReasons:
    """R4.2: before asking to cancel a paid order, each reason's fault, consequence, refund and fine.

    Only paid, unshipped quantities can be cancelled; an unpaid order is cancelled directly (R3.4)
    and a shipped one disputed (409 with the code that says which).
    """
    return views.cancellation_reasons(orders.cancellation_reasons(ctx, who, order_id))


@router.post(
    "/orders/{order_id}/payments",
    status_code=201,
    operation_id="payOrder",
    responses=errors(400, 401, 402, 403, 404, 409, 413, 415, 422, 503),
)
def pay(
    order_id: PathId,
    body: PaymentIn,
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> models.Payment:
    """Pay the order: card and e-wallet are captured at once, a bank transfer stays pending (R3.5)."""
    return views.payment(payments.pay(ctx, who, order_id, body.method))


@router.post(
    "/orders/{order_id}/cancel", operation_id="cancelOrder", responses=errors(401, 403, 404, 409, 413, 422)
)
def cancel(
    order_id: PathId, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> models.Order:
    """Cancel an unpaid order, without sanctions (R3.4)."""
    return views.order(orders.cancel_unpaid(ctx, who, order_id))
