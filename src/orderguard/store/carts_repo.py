"""The buyer's cart: its row (when they last added) and its items."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from orderguard.domain.checkout import CartItem
from orderguard.store import tables as t

# Statements of the hot paths are built once: building one costs more than running it.
_select_items = (
    select(t.cart_items)
    .where(t.cart_items.c.buyer_id == bindparam("b_buyer"))
    .order_by(t.cart_items.c.added_at, t.cart_items.c.id)
)
_select_last_added = select(t.carts.c.last_added_at).where(t.carts.c.buyer_id == bindparam("b_buyer"))
_insert_item = insert(t.cart_items)
_update_item = (
    update(t.cart_items)
    .where(t.cart_items.c.id == bindparam("b_item"))
    .values(quantity=bindparam("b_qty"), added_at=bindparam("b_at"))
)
_touch = (
    update(t.carts).where(t.carts.c.buyer_id == bindparam("b_buyer")).values(last_added_at=bindparam("b_at"))
)
_insert_cart = insert(t.carts)
_lock_buyer = select(t.accounts.c.id).where(t.accounts.c.id == bindparam("b_buyer")).with_for_update()
_hold_item = (
    update(t.cart_items).where(t.cart_items.c.id == bindparam("b_item")).values(order_id=bindparam("b_order"))
)


def _item(r: Any) -> CartItem:
    return CartItem(r.id, r.offer_id, r.shipping_option_id, r.quantity, r.order_id)


def lock_cart(conn: Connection, buyer_id: str) -> None:
    """Serialise the buyer's cart commands (a double-clicked checkout must not place orders twice)."""
    conn.execute(_lock_buyer, {"b_buyer": buyer_id})


def cart_item_rows(conn: Connection, buyer_id: str) -> list[tuple[CartItem, datetime]]:
    """The buyer's cart items with when each was added, oldest first."""
    rows = conn.execute(_select_items, {"b_buyer": buyer_id})
    return [(_item(r), r.added_at) for r in rows]


def last_added_at(conn: Connection, buyer_id: str) -> datetime | None:
    """When the buyer last added to the cart; None before their first addition."""
    at: datetime | None = conn.execute(_select_last_added, {"b_buyer": buyer_id}).scalar()
    return at


def touch_cart(conn: Connection, buyer_id: str, now: datetime) -> None:
    """Record `now` as the buyer's last addition, making the cart's row on the first."""
    updated = conn.execute(_touch, {"b_buyer": buyer_id, "b_at": now})
    if updated.rowcount == 0:
        conn.execute(_insert_cart, {"buyer_id": buyer_id, "last_added_at": now})


def insert_cart_item(conn: Connection, buyer_id: str, item: CartItem, added_at: datetime) -> None:
    conn.execute(
        _insert_item,
        {
            "id": item.id,
            "buyer_id": buyer_id,
            "offer_id": item.offer_id,
            "shipping_option_id": item.shipping_option_id,
            "quantity": item.quantity,
            "added_at": added_at,
        },
    )


def update_cart_item(conn: Connection, item_id: str, quantity: int, added_at: datetime) -> None:
    conn.execute(_update_item, {"b_item": item_id, "b_qty": quantity, "b_at": added_at})


def load_cart_item(conn: Connection, buyer_id: str, item_id: str) -> CartItem | None:
    """The buyer's cart item; None when they have none with this id."""
    r = conn.execute(
        select(t.cart_items).where(t.cart_items.c.id == item_id, t.cart_items.c.buyer_id == buyer_id)
    ).first()
    return _item(r) if r else None


def delete_cart_item(conn: Connection, item_id: str) -> None:
    conn.execute(delete(t.cart_items).where(t.cart_items.c.id == item_id))


def hold_cart_items(conn: Connection, holds: Sequence[tuple[str, str]]) -> None:
    """Hold each (cart item, order) pair's item for its unpaid order."""
    conn.execute(_hold_item, [{"b_item": item_id, "b_order": order_id} for item_id, order_id in holds])
