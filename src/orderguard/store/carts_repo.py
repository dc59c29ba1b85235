"""The buyer's cart: its row (when they last added) and its items."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from orderguard.app.ports import OpenCart
from orderguard.domain.checkout import CartItem
from orderguard.store import tables as t
from orderguard.store.driver import Statement, in_list, rows_together
from orderguard.store.offers_repo import cart_offer_queries, cart_offers_from

# The statements of the buyer's hot path: built once, run straight on SQLite's driver.
_ITEM = (t.cart_items.c.id, t.cart_items.c.offer_id, t.cart_items.c.shipping_option_id)
_select_items = Statement(
    select(*_ITEM, t.cart_items.c.quantity, t.cart_items.c.order_id, t.cart_items.c.added_at)
    .where(t.cart_items.c.buyer_id == bindparam("b_buyer"))
    .order_by(t.cart_items.c.added_at, t.cart_items.c.id)
)
_select_item = select(*_ITEM, t.cart_items.c.quantity, t.cart_items.c.order_id)
_select_last_added = Statement(
    select(t.carts.c.last_added_at).where(t.carts.c.buyer_id == bindparam("b_buyer"))
)
_insert_item = Statement(insert(t.cart_items))
_update_item = Statement(
    update(t.cart_items)
    .where(t.cart_items.c.id == bindparam("b_item"))
    .values(quantity=bindparam("b_qty"), added_at=bindparam("b_at"))
)


def _touch_statement(
    build: type[postgresql.Insert] | type[sqlite.Insert],
) -> postgresql.Insert | sqlite.Insert:
    upsert = build(t.carts).values(buyer_id=bindparam("b_buyer"), last_added_at=bindparam("b_at"))
    return upsert.on_conflict_do_update(
        index_elements=[t.carts.c.buyer_id], set_={"last_added_at": upsert.excluded.last_added_at}
    )


# The cart's row made on the first addition, moved on by the others: one statement, no answer awaited.
_touch = Statement(_touch_statement(sqlite.Insert), postgresql=_touch_statement(postgresql.Insert))
_lock_buyer = Statement(
    select(t.accounts.c.id).where(t.accounts.c.id == bindparam("b_buyer")).with_for_update()
)
_hold_item = Statement(
    update(t.cart_items).where(t.cart_items.c.id == bindparam("b_item")).values(order_id=bindparam("b_order"))
)


def lock_cart(conn: Connection, buyer_id: str) -> None:
    """Serialise the buyer's cart commands (a double-clicked checkout must not place orders twice).

    Sent with the unit's next statement on PostgreSQL: the lock is taken before it all the same."""
    _lock_buyer.send(conn, {"b_buyer": buyer_id})


def cart_item_rows(conn: Connection, buyer_id: str) -> list[tuple[CartItem, datetime]]:
    """The buyer's cart items with when each was added, oldest first."""
    return [(CartItem(*r[:5]), r[5]) for r in _select_items.rows(conn, {"b_buyer": buyer_id})]


def open_cart(
    conn: Connection, buyer_id: str, *, adding: str | None = None, lock_free_offers: bool = False
) -> OpenCart:
    """Lock the cart, then read it whole in one round trip: items, last addition, offers and titles
    (see app/ports.py, `Carts.open_cart`)."""
    lock_cart(conn, buyer_id)
    items, last, *offer_rows = rows_together(
        conn,
        [
            (_select_items, {"b_buyer": buyer_id}),
            (_select_last_added, {"b_buyer": buyer_id}),
            *cart_offer_queries(buyer_id, adding=adding, lock_free_offers=lock_free_offers),
        ],
    )
    offers, titles = cart_offers_from(*offer_rows)
    return OpenCart(
        [(CartItem(*r[:5]), r[5]) for r in items], last[0][0] if last else None, offers, titles
    )


def last_added_at(conn: Connection, buyer_id: str) -> datetime | None:
    """When the buyer last added to the cart; None before their first addition."""
    rows = _select_last_added.rows(conn, {"b_buyer": buyer_id})
    at: datetime | None = rows[0][0] if rows else None
    return at


def touch_cart(conn: Connection, buyer_id: str, now: datetime) -> None:
    """Record `now` as the buyer's last addition, making the cart's row on the first."""
    _touch.send(conn, {"b_buyer": buyer_id, "b_at": now})


def insert_cart_item(conn: Connection, buyer_id: str, item: CartItem, added_at: datetime) -> None:
    _insert_item.send(
        conn,
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
    _update_item.send(conn, {"b_item": item_id, "b_qty": quantity, "b_at": added_at})


def set_cart_item_quantity(conn: Connection, item_id: str, quantity: int) -> None:
    """A new quantity for the item, keeping when it was added."""
    conn.execute(update(t.cart_items).where(t.cart_items.c.id == item_id).values(quantity=quantity))


def load_cart_item(conn: Connection, buyer_id: str, item_id: str) -> CartItem | None:
    """The buyer's cart item; None when they have none with this id."""
    r = conn.execute(
        _select_item.where(t.cart_items.c.id == item_id, t.cart_items.c.buyer_id == buyer_id)
    ).first()
    return CartItem(*r) if r else None


def delete_cart_item(conn: Connection, item_id: str) -> None:
    conn.execute(delete(t.cart_items).where(t.cart_items.c.id == item_id))


def hold_cart_items(conn: Connection, holds: Sequence[tuple[str, str]]) -> None:
    """Hold each (cart item, order) pair's item for its unpaid order."""
    _hold_item.run_many(conn, [{"b_item": item_id, "b_order": order_id} for item_id, order_id in holds])


_leave_cart = Statement.per_dialect(
    lambda array: delete(t.cart_items).where(in_list(t.cart_items.c.order_id, "b_ids", array=array))
)


def leave_cart(conn: Connection, order_ids: Sequence[str]) -> None:
    """The goods held by these orders leave their buyers' carts."""
    if order_ids:
        _leave_cart.send(conn, {"b_ids": sorted(order_ids)})
