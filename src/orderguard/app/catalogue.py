"""Stores, products, offers, and the ranked comparison of a product's offers (R2.1, R2.2)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from orderguard.app.access import not_found, require_role
from orderguard.app.context import Context, Principal
from orderguard.domain.catalogue import Offer, RankedOffer, ShippingOption, rank_offers
from orderguard.domain.machine import Actor, Refusal, Refused
from orderguard.domain.money import MoneyError, check_amount, check_currency
from orderguard.store.db import reading, unit_of_work
from orderguard.store.ids import new_id
from orderguard.store.offers_repo import (
    insert_offer,
    insert_product,
    insert_store,
    load_product,
    offer_id_of,
    offers_of_product,
    product_exists,
    store_names,
    store_owner,
)


@dataclass(frozen=True, slots=True)
class OptionInput:
    carrier: str
    price: int
    promised_days: int


def create_store(ctx: Context, seller: Principal, name: str) -> dict[str, str]:
    require_role(seller, Actor.SELLER)
    store_id = new_id("sto")
    with unit_of_work(ctx.engine) as conn:
        insert_store(conn, store_id, seller.id, name, ctx.clock.now())
    return {"id": store_id, "name": name, "seller_id": seller.id}


def create_product(ctx: Context, seller: Principal, title: str, description: str) -> dict[str, str]:
    require_role(seller, Actor.SELLER, Actor.ADMIN)
    product_id = new_id("prd")
    with unit_of_work(ctx.engine) as conn:
        insert_product(conn, product_id, title, description, seller.id, ctx.clock.now())
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
        if store_owner(conn, store_id) != seller.id:
            raise not_found("store", store_id)
        if not product_exists(conn, product_id):
            raise not_found("product", product_id)
        if offer_id_of(conn, store_id, product_id):
            raise _offer_exists(conn, store_id, product_id)
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
        if not insert_offer(conn, offer, ctx.clock.now()):  # created meanwhile by a concurrent request
            raise _offer_exists(conn, store_id, product_id)
    return offer


def _offer_exists(conn: Connection, store_id: str, product_id: str) -> Refused:
    taken = offer_id_of(conn, store_id, product_id)
    return Refused(Refusal("offer_exists", f"store already offers this product ({taken})", 409))


def _check_money(amount: int, currency: str) -> None:
    try:
        check_currency(currency)
        check_amount(amount)
    except MoneyError as e:
        raise Refused(Refusal(e.code, e.detail, 422)) from e


def ranked_offers(ctx: Context, product_id: str) -> tuple[dict[str, str], list[RankedOffer], dict[str, str]]:
    """(product, offers ranked by score, store names) for the comparison page."""
    with reading(ctx.engine) as conn:
        product = load_product(conn, product_id)
        if product is None:
            raise not_found("product", product_id)
        offers = offers_of_product(conn, product_id)
        names = store_names(conn, {o.store_id for o in offers})
    ranked = rank_offers(offers, ctx.policies.current.policy.catalogue.delivery_weight)
    return product, ranked, names
