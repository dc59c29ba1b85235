"""Stores, products, offers, and the ranked comparison of a product's offers (R2.1, R2.2)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select

from orderguard.app.access import not_found, require_role
from orderguard.app.context import Context, Principal
from orderguard.domain.catalogue import Offer, RankedOffer, ShippingOption, rank_offers
from orderguard.domain.machine import Actor, Refusal, Refused
from orderguard.domain.money import MoneyError, check_amount, check_currency
from orderguard.store import tables as t
from orderguard.store.db import reading, unit_of_work
from orderguard.store.ids import new_id
from orderguard.store.offers_repo import offers_from_rows


@dataclass(frozen=True, slots=True)
class OptionInput:
    carrier: str
    price: int
    promised_days: int


def create_store(ctx: Context, seller: Principal, name: str) -> dict[str, str]:
    require_role(seller, Actor.SELLER)
    store_id = new_id("sto")
    with unit_of_work(ctx.engine) as conn:
        conn.execute(
            insert(t.stores).values(id=store_id, seller_id=seller.id, name=name, created_at=ctx.clock.now())
        )
    return {"id": store_id, "name": name, "seller_id": seller.id}


def create_product(ctx: Context, seller: Principal, title: str, description: str) -> dict[str, str]:
    require_role(seller, Actor.SELLER, Actor.ADMIN)
    product_id = new_id("prd")
    with unit_of_work(ctx.engine) as conn:
        conn.execute(
            insert(t.products).values(
                id=product_id,
                title=title,
                description=description,
                created_by=seller.id,
                created_at=ctx.clock.now(),
            )
        )
    return {"id": product_id, "title": title, "description": description}


def create_offer(
    ctx: Context,
    seller: Principal,
    store_id: str,
    product_id: str,
    price: int,
    currency: str,
    stock: int,
    handling_days: int,
    options: list[OptionInput],
) -> Offer:
    require_role(seller, Actor.SELLER)
    _check_money(price, currency)
    for option in options:
        _check_money(option.price, currency)
    with unit_of_work(ctx.engine) as conn:
        owner = conn.execute(select(t.stores.c.seller_id).where(t.stores.c.id == store_id)).scalar()
        if owner != seller.id:
            raise not_found("store", store_id)
        if conn.execute(select(t.products.c.id).where(t.products.c.id == product_id)).first() is None:
            raise not_found("product", product_id)
        taken = conn.execute(
            select(t.offers.c.id).where(t.offers.c.store_id == store_id, t.offers.c.product_id == product_id)
        ).first()
        if taken:
            raise Refused(Refusal("offer_exists", f"store already offers this product ({taken.id})", 409))
        offer = Offer(
            new_id("ofr"),
            store_id,
            product_id,
            price,
            currency,
            stock,
            handling_days,
            tuple(ShippingOption(new_id("shp"), o.carrier, o.price, o.promised_days) for o in options),
        )
        conn.execute(
            insert(t.offers).values(
                id=offer.id,
                store_id=store_id,
                product_id=product_id,
                price=price,
                currency=currency,
                stock=stock,
                handling_days=handling_days,
                created_at=ctx.clock.now(),
            )
        )
        conn.execute(
            insert(t.shipping_options),
            [
                {
                    "id": o.id,
                    "offer_id": offer.id,
                    "position": i,
                    "carrier": o.carrier,
                    "price": o.price,
                    "promised_days": o.promised_days,
                }
                for i, o in enumerate(offer.shipping_options)
            ],
        )
    return offer


def _check_money(amount: int, currency: str) -> None:
    try:
        check_currency(currency)
        check_amount(amount)
    except MoneyError as e:
        raise Refused(Refusal(e.code, e.detail, 422)) from e


def ranked_offers(ctx: Context, product_id: str) -> tuple[dict[str, str], list[RankedOffer], dict[str, str]]:
    """(product, offers ranked by score, store names) for the comparison page."""
    with reading(ctx.engine) as conn:
        product = conn.execute(select(t.products).where(t.products.c.id == product_id)).first()
        if product is None:
            raise not_found("product", product_id)
        rows = conn.execute(
            select(t.offers)
            .where(t.offers.c.product_id == product_id)
            .order_by(t.offers.c.created_at, t.offers.c.id)
        ).all()
        offers = offers_from_rows(conn, rows)
        store_names = dict(
            conn.execute(
                select(t.stores.c.id, t.stores.c.name).where(
                    t.stores.c.id.in_({o.store_id for o in offers.values()})
                )
            ).all()
        )
    ranked = rank_offers([offers[r.id] for r in rows], ctx.policies.current.policy.catalogue.delivery_weight)
    return {"id": product.id, "title": product.title, "description": product.description}, ranked, store_names
