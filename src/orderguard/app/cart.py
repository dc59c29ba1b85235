"""The buyer's cart (R3.1) and checkout into one order per store (R3.2, R3.3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orderguard.app.access import not_found, require_role
from orderguard.app.context import Context, Principal
from orderguard.app.ports import UnitOfWork
from orderguard.domain import checkout
from orderguard.domain.catalogue import Offer, best_option
from orderguard.domain.checkout import CartItem
from orderguard.domain.machine import Actor, Refusal, Refused
from orderguard.domain.orders import ORDER, Address, Line, Order, place
from orderguard.ids import new_id


@dataclass(frozen=True, slots=True)
class CartView:
    last_added_at: datetime | None
    items: list[dict[str, Any]]


def _items(uow: UnitOfWork, buyer_id: str) -> list[CartItem]:
    return [item for item, _ in uow.carts.cart_item_rows(buyer_id)]


def view_cart(ctx: Context, buyer: Principal) -> CartView:
    require_role(buyer, Actor.BUYER)
    with ctx.reading() as uow:
        return _view(uow, buyer.id)


def _view(uow: UnitOfWork, buyer_id: str) -> CartView:
    last = uow.carts.last_added_at(buyer_id)
    items = _items(uow, buyer_id)
    offers = uow.catalogue.load_offers([i.offer_id for i in items])
    titles = uow.catalogue.product_titles({o.product_id for o in offers.values()})
    return _render(last, items, offers, titles)


def _render(
    last: datetime | None, items: list[CartItem], offers: dict[str, Offer], titles: dict[str, str]
) -> CartView:
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
    """Add `quantity` (at least 1) of the offer; the cart's last-added time becomes now (R3.1, R3.3)."""
    require_role(buyer, Actor.BUYER)
    policy = ctx.policies.current.policy
    now = ctx.clock.now()
    with ctx.uow() as uow:
        # The cart, and the offers of the whole cart at once (the one added is checked, the others
        # are shown), with their titles: one exchange with the store.
        cart = uow.carts.open_cart(buyer.id, adding=offer_id)
        rows, offers = cart.items, cart.offers
        offer = offers.get(offer_id)
        if offer is None:
            raise not_found("offer", offer_id)
        if shipping_option_id is None:
            if not offer.shipping_options:
                raise Refused(Refusal("unknown_shipping_option", "offer has no shipping option", 409))
            shipping_option_id = best_option(offer, policy.catalogue.delivery_weight).id
        elif offer.option(shipping_option_id) is None:
            raise Refused(Refusal("unknown_shipping_option", "not a shipping option of this offer", 422))
        same = next(
            (
                i
                for i, _ in rows
                if i.order_id is None
                and i.offer_id == offer_id
                and i.shipping_option_id == shipping_option_id
            ),
            None,
        )
        checkout.check_addition(quantity)
        checkout.check_quantity(quantity + (same.quantity if same else 0), offer, policy)
        if same:
            changed = CartItem(same.id, offer_id, shipping_option_id, same.quantity + quantity, None)
            uow.carts.update_cart_item(same.id, changed.quantity, now)
            rows = [(changed, now) if i.id == same.id else (i, at) for i, at in rows]
        else:
            changed = CartItem(new_id("cit"), offer_id, shipping_option_id, quantity, None)
            uow.carts.insert_cart_item(buyer.id, changed, now)
            rows.append((changed, now))
        uow.carts.touch_cart(buyer.id, now)
        # The cart as it now stands, without reading back what was just written (same order as _items).
        rows.sort(key=lambda r: (r[1], r[0].id))
        return _render(now, [i for i, _ in rows], offers, cart.titles)


def remove_item(ctx: Context, buyer: Principal, item_id: str) -> CartView:
    require_role(buyer, Actor.BUYER)
    with ctx.uow() as uow:
        _free_item(uow, buyer.id, item_id)
        uow.carts.delete_cart_item(item_id)
        return _view(uow, buyer.id)


def _free_item(uow: UnitOfWork, buyer_id: str, item_id: str) -> CartItem:
    """The buyer's cart line, with the cart locked; refused when it is held by an unpaid order."""
    uow.carts.lock_cart(buyer_id)
    row = uow.carts.load_cart_item(buyer_id, item_id)
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
    return row


def decrease_item(ctx: Context, buyer: Principal, item_id: str, quantity: int) -> CartView:
    """Lower a free line to `quantity` (1 up to what it holds).

    A decrease is not an addition: neither the cart's last-added time nor the line's
    added time moves, so it never pushes pay-by out (R3.3). Idempotent: the same
    quantity again changes nothing.
    """
    require_role(buyer, Actor.BUYER)
    with ctx.uow() as uow:
        row = _free_item(uow, buyer.id, item_id)
        checkout.check_decrease(row.quantity, quantity)
        if quantity != row.quantity:
            uow.carts.set_cart_item_quantity(item_id, quantity)
        return _view(uow, buyer.id)


def check_out(ctx: Context, buyer: Principal, address: Address) -> list[Order]:
    """Place one order per store from the cart's free items; stock is reserved at once.

    The goods stay in the cart, held by their unpaid order, until it is paid or
    ends (R3.3: an expired order's goods leave the cart). Pay-by is pinned at
    checkout: last cart addition + the policy's unpaid-expiry days.
    """
    require_role(buyer, Actor.BUYER)
    version = ctx.policies.current
    now = ctx.clock.now()
    with ctx.uow() as uow:
        cart = uow.carts.open_cart(buyer.id, lock_free_offers=True)  # one exchange with the store
        items, offers, titles = [i for i, _ in cart.items], cart.offers, cart.titles
        drafts = checkout.plan_checkout(items, offers, version.policy)
        assert cart.last_added_at is not None, "a cart with free items has its row: each addition touches it"
        pay_by = checkout.pay_by(cart.last_added_at, version.policy)
        placed: list[Order] = []
        holds: list[tuple[str, str]] = []
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
                    d.offer.handling_days,
                )
                for d in draft.lines
            )
            placed.append(
                Order(
                    order_id,
                    buyer.id,
                    draft.store_id,
                    ORDER.initial,
                    draft.currency,
                    lines,
                    address,
                    version.key,
                    now,
                    pay_by,
                )
            )
            holds += [(d.cart_item_id, order_id) for d in draft.lines]
        taken: dict[str, int] = {}
        for draft in drafts:
            for d in draft.lines:
                taken[d.offer.id] = taken.get(d.offer.id, 0) + d.quantity
        uow.catalogue.take_stock(taken)
        uow.save([place(o, now, version.policy) for o in placed], now)
        uow.carts.hold_cart_items(holds)
    return placed
