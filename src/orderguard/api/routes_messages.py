"""Messages between the buyer and the seller on an order (R4.7)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from orderguard.api import models, views
from orderguard.api.auth import context, current_principal
from orderguard.api.problems import errors
from orderguard.api.routing import ApiRoute
from orderguard.api.schemas import Cursor, MessageIn, PathId
from orderguard.app import messages
from orderguard.app.context import Context, Principal

router = APIRouter(prefix="/v1", tags=["messages"], route_class=ApiRoute)


@router.get("/orders/{order_id}/messages", operation_id="listOrderMessages", responses=errors(401, 404, 422))
def list_messages(
    order_id: PathId,
    cursor: Cursor = None,  # type: ignore[assignment]
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> models.MessagePage:
    """The conversation on the order, oldest first: its buyer, its store's seller and administrators."""
    page = messages.list_messages(ctx, who, order_id, cursor, limit)
    return models.MessagePage(
        order_id=page.order_id,
        messages=[views.message(m) for m in page.messages],
        next_cursor=page.next_cursor,
    )


@router.post(
    "/orders/{order_id}/messages",
    status_code=201,
    operation_id="postOrderMessage",
    responses=errors(400, 401, 403, 404, 413, 415, 422),
)
def post_message(
    order_id: PathId,
    body: MessageIn,
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> models.Message:
    """Write to the other party of the order (the buyer or the store's seller), who is notified.

    1 to 2000 characters once trimmed (`message_empty`, `message_too_long`); administrators read
    but do not write (403).
    """
    return views.message(messages.post_message(ctx, who, order_id, body.body))
