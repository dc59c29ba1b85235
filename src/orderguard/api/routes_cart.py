"""The cart (R3.1) and checkout (R3.2)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from orderguard.api.auth import context, current_principal
from orderguard.api.schemas import CartItemIn, CartItemPatch, CheckoutIn
from orderguard.api.views import order_summary
from orderguard.app import cart
from orderguard.app.context import Context, Principal
from orderguard.domain.orders import Address

router = APIRouter(prefix="/v1", tags=["cart"])


def _cart_json(view: cart.CartView) -> dict[str, Any]:
    return {"last_added_at": view.last_added_at, "items": view.items}


@router.get("/cart")
def get_cart(who: Principal = Depends(current_principal), ctx: Context = Depends(context)) -> dict[str, Any]:
    return _cart_json(cart.view_cart(ctx, who))


@router.post("/cart/items", status_code=201)
def add_item(
    body: CartItemIn, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> dict[str, Any]:
    return _cart_json(cart.add_item(ctx, who, body.offer_id, body.quantity, body.shipping_option_id))


@router.patch("/cart/items/{item_id}")
def decrease_item(
    item_id: str,
    body: CartItemPatch,
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> dict[str, Any]:
    """Lower the line's quantity (to raise it, add to the cart). Never moves `last_added_at` or pay-by."""
    return _cart_json(cart.decrease_item(ctx, who, item_id, body.quantity))


@router.delete("/cart/items/{item_id}")
def remove_item(
    item_id: str, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> dict[str, Any]:
    return _cart_json(cart.remove_item(ctx, who, item_id))


@router.post("/checkout", status_code=201)
def checkout(
    body: CheckoutIn, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> dict[str, Any]:
    """One order per store; each must be paid by its `pay_by_at` (last cart addition + 20 days)."""
    a = body.shipping_address
    placed = cart.check_out(ctx, who, Address(a.name, a.line1, a.city, a.postal_code, a.country, a.line2))
    return {"orders": [order_summary(o) for o in placed]}
