"""The cart (R3.1) and checkout (R3.2)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from orderguard.api import models, views
from orderguard.api.auth import context, current_principal
from orderguard.api.problems import errors
from orderguard.api.routing import ApiRoute
from orderguard.api.schemas import CartItemIn, CartItemPatch, CheckoutIn, PathId
from orderguard.app import cart, orders
from orderguard.app.context import Context, Principal
from orderguard.domain.orders import Address

router = APIRouter(prefix="/v1", tags=["cart"], route_class=ApiRoute)


@router.get("/cart", operation_id="getCart", responses=errors(401, 403))
def get_cart(who: Principal = Depends(current_principal), ctx: Context = Depends(context)) -> models.Cart:
    """The buyer's cart, items held by unpaid orders included."""
    return views.cart(cart.view_cart(ctx, who))


@router.post(
    "/cart/items",
    status_code=201,
    operation_id="addCartItem",
    responses=errors(400, 401, 403, 404, 409, 413, 415, 422),
)
def add_item(
    body: CartItemIn, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> models.Cart:
    """Add an offer to the cart (omit `shipping_option_id` for the offer's best option)."""
    return views.cart(cart.add_item(ctx, who, body.offer_id, body.quantity, body.shipping_option_id))


@router.patch(
    "/cart/items/{item_id}",
    operation_id="decreaseCartItem",
    responses=errors(400, 401, 403, 404, 409, 413, 415, 422),
)
def decrease_item(
    item_id: PathId,
    body: CartItemPatch,
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> models.Cart:
    """Lower the line's quantity (to raise it, add to the cart). Never moves `last_added_at` or pay-by."""
    return views.cart(cart.decrease_item(ctx, who, item_id, body.quantity))


@router.delete(
    "/cart/items/{item_id}", operation_id="removeCartItem", responses=errors(401, 403, 404, 409, 422)
)
def remove_item(
    item_id: PathId, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> models.Cart:
    """Remove an item that no unpaid order holds."""
    return views.cart(cart.remove_item(ctx, who, item_id))


@router.post(
    "/checkout",
    status_code=201,
    operation_id="checkout",
    responses=errors(400, 401, 403, 409, 413, 415, 422),
)
def checkout(
    body: CheckoutIn, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> models.PlacedOrders:
    """One order per store; each must be paid by its `pay_by_at` (last cart addition + 20 days).

    Each order carries the buyer's `actions` (pay, cancel) and its `deadlines` (pay-by)."""
    a = body.shipping_address
    placed = cart.check_out(ctx, who, Address(a.name, a.line1, a.city, a.postal_code, a.country, a.line2))
    return models.PlacedOrders(orders=[views.order_overview(o) for o in orders.placed_overviews(ctx, placed)])
