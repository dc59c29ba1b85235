"""The buyer's cart (R3.1) and checkout into one order per store (R3.2, R3.3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from orderguard.app.access import not_found, require_role
from orderguard.app.catalogue import load_offers
from orderguard.app.context import Context, Principal
from orderguard.domain import checkout
from orderguard.domain.checkout import CartItem
from orderguard.domain.machine import Actor, Refusal, Refused
from orderguard.domain.orders import Address, Line, Order, place
from orderguard.store import tables as t
from orderguard.store.db import reading, unit_of_work
from orderguard.store.ids import new_id
from orderguard.store.orders_repo import save_decisions


@dataclass(frozen=True, slots=True)
class CartView:
    last_added_at: datetime | None
    items: list[dict[str, Any]]


def _items(conn: Connection, buyer_id: str) -> list[CartItem]:
    rows = conn.execute(
        select(t.cart_items)
        .where(t.cart_items.c.buyer_id == buyer_id)
        .order_by(t.cart_items.c.added_at, t.cart_items.c.id)
    )
    return [CartItem(r.id, r.offer_id, r.shipping_option_id, r.quantity, r.order_id) for r in rows]


def view_cart(ctx: Context, buyer: Principal) -> CartView:
    require_role(buyer, Actor.BUYER)
    with reading(ctx.engine) as conn:
        return _view(conn, buyer.id)


def _view(conn: Connection, buyer_id: str) -> CartView:
    last = conn.execute(select(t.carts.c.last_added_at).where(t.carts.c.buyer_id == buyer_id)).scalar()
    items = _items(conn, buyer_id)
    offers = load_offers(conn, [i.offer_id for i in items])
    titles = dict(
        conn.execute(
            select(t.products.c.id, t.products.c.title).where(
                t.products.c.id.in_({o.product_id for o in offers.values()})
            )
        ).all()
    )
    out = []
    for item in items:
        offer = offers[item.offer_id]
        option = offer.option(item.shipping_option_id)
        out.append(
            {
                "id": item.id,
                "offer_id": offer.id,
                "store_id": offer.store_id,
                "product_id": offer.product_id,
                "title": titles.get(offer.product_id, ""),
                "quantity": item.quantity,
                "unit_price": offer.price,
                "currency": offer.currency,
                "shipping_option_id": item.shipping_option_id,
                "shipping_price": option.price if option else None,
                "order_id": item.order_id,
            }
        )
    return CartView(last, out)


def add_item(
    ctx: Context, buyer: Principal, offer_id: str, quantity: int, shipping_option_id: str | None
) -> CartView:
    require_role(buyer, Actor.BUYER)
    policy = ctx.policies.current.policy
    now = ctx.clock.now()
    with unit_of_work(ctx.engine) as conn:
        offer = load_offers(conn, [offer_id]).get(offer_id)
        if offer is None:
            raise not_found("offer", offer_id)
        if shipping_option_id is None:
            if not offer.shipping_options:
                raise Refused(Refusal("unknown_shipping_option", "offer has no shipping option", 409))
            shipping_option_id = offer.shipping_options[0].id
        elif offer.option(shipping_option_id) is None:
            raise Refused(Refusal("unknown_shipping_option", "not a shipping option of this offer", 422))
        same = next(
            (
                i
                for i in _items(conn, buyer.id)
                if i.order_id is None
                and i.offer_id == offer_id
                and i.shipping_option_id == shipping_option_id
            ),
            None,
        )
        checkout.check_quantity(quantity + (same.quantity if same else 0), offer, policy)
        if same:
            conn.execute(
                update(t.cart_items)
                .where(t.cart_items.c.id == same.id)
                .values(quantity=same.quantity + quantity, added_at=now)
            )
        else:
            conn.execute(
                insert(t.cart_items).values(
                    id=new_id("cit"),
                    buyer_id=buyer.id,
                    offer_id=offer_id,
                    shipping_option_id=shipping_option_id,
                    quantity=quantity,
                    added_at=now,
                )
            )
        _touch_cart(conn, buyer.id, now)
        return _view(conn, buyer.id)


def _touch_cart(conn: Connection, buyer_id: str, now: datetime) -> None:
    updated = conn.execute(update(t.carts).where(t.carts.c.buyer_id == buyer_id).values(last_added_at=now))
    if updated.rowcount == 0:
        conn.execute(insert(t.carts).values(buyer_id=buyer_id, last_added_at=now))


def remove_item(ctx: Context, buyer: Principal, item_id: str) -> CartView:
    require_role(buyer, Actor.BUYER)
    with unit_of_work(ctx.engine) as conn:
        row = conn.execute(
            select(t.cart_items).where(t.cart_items.c.id == item_id, t.cart_items.c.buyer_id == buyer.id)
        ).first()
        if row is None:
            raise not_found("cart_item", item_id)
        if row.order_id is not None:
            raise Refused(
                Refusal(
                    "item_in_order",
                    f"this item belongs to unpaid order {row.order_id}: cancel the order instead",
                    409,
                )
            )
        conn.execute(delete(t.cart_items).where(t.cart_items.c.id == item_id))
        return _view(conn, buyer.id)


_take_stock = (
    update(t.offers)
    .where(t.offers.c.id == bindparam("b_offer"))
    .values(stock=t.offers.c.stock - bindparam("b_qty"))
)
_hold_item = (
    update(t.cart_items).where(t.cart_items.c.id == bindparam("b_item")).values(order_id=bindparam("b_order"))
)


def check_out(ctx: Context, buyer: Principal, address: Address) -> list[Order]:
    """Place one order per store from the cart's free items; stock is reserved at once.

    The goods stay in the cart, held by their unpaid order, until it is paid or
    ends (R3.3: an expired order's goods leave the cart). Pay-by is pinned at
    checkout: last cart addition + the policy's unpaid-expiry days.
    """
    require_role(buyer, Actor.BUYER)
    version = ctx.policies.current
    now = ctx.clock.now()
    with unit_of_work(ctx.engine) as conn:
        items = _items(conn, buyer.id)
        offers = load_offers(conn, [i.offer_id for i in items if i.order_id is None], lock=True)
        drafts = checkout.plan_checkout(items, offers, version.policy)
        last_added = conn.execute(
            select(t.carts.c.last_added_at).where(t.carts.c.buyer_id == buyer.id)
        ).scalar_one()
        pay_by = checkout.pay_by(last_added, version.policy)
        titles = dict(
            conn.execute(
                select(t.products.c.id, t.products.c.title).where(
                    t.products.c.id.in_({o.product_id for o in offers.values()})
                )
            ).all()
        )
        placed: list[Order] = []
        holds: list[dict[str, str]] = []
        for draft in drafts:
            order_id = new_id("ord")
            lines = tuple(
                Line(
                    new_id("lin"),
                    d.offer.id,
                    d.offer.product_id,
                    titles[d.offer.product_id],
                    d.offer.price,
                    d.quantity,
                    d.shipping.price,
                    d.shipping.carrier,
                    d.shipping.promised_days,
                )
                for d in draft.lines
            )
            placed.append(
                Order(
                    order_id,
                    buyer.id,
                    draft.store_id,
                    "awaiting_payment",
                    draft.currency,
                    lines,
                    address,
                    version.key,
                    now,
                    pay_by,
                )
            )
            holds += [{"b_item": d.cart_item_id, "b_order": order_id} for d in draft.lines]
        taken: dict[str, int] = {}
        for draft in drafts:
            for d in draft.lines:
                taken[d.offer.id] = taken.get(d.offer.id, 0) + d.quantity
        conn.execute(_take_stock, [{"b_offer": k, "b_qty": taken[k]} for k in sorted(taken)])
        save_decisions(conn, [place(o, now) for o in placed], now, placed=True)
        conn.execute(_hold_item, holds)
    return placed
