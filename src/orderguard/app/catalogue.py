"""Stores, products, offers, and the ranked comparison of a product's offers (R2.1, R2.2)."""

from __future__ import annotations

from dataclasses import dataclass

from orderguard.app.access import not_found, require_role
from orderguard.app.context import Context, Principal
from orderguard.app.cursors import decode_cursor, encode_cursor
from orderguard.app.ports import ProductListing, StoreListing, UnitOfWork
from orderguard.domain.catalogue import Offer, RankedOffer, ShippingOption, rank_offers
from orderguard.domain.machine import Actor, Refusal, Refused
from orderguard.domain.money import MoneyError, check_amount, check_currency
from orderguard.domain.shipping import check_carrier
from orderguard.ids import new_id


@dataclass(frozen=True, slots=True)
class OptionInput:
    carrier: str
    price: int
    promised_days: int


def create_store(ctx: Context, seller: Principal, name: str) -> dict[str, str]:
    require_role(seller, Actor.SELLER)
    store_id = new_id("sto")
    with ctx.uow() as uow:
        uow.catalogue.insert_store(store_id, seller.id, name, ctx.clock.now())
    return {"id": store_id, "name": name, "seller_id": seller.id}


def create_product(ctx: Context, seller: Principal, title: str, description: str) -> dict[str, str]:
    require_role(seller, Actor.SELLER, Actor.ADMIN)
    product_id = new_id("prd")
    with ctx.uow() as uow:
        uow.catalogue.insert_product(product_id, title, description, seller.id, ctx.clock.now())
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
        check_carrier(option.carrier)
    with ctx.uow() as uow:
        if uow.catalogue.store_owner(store_id) != seller.id:
            raise not_found("store", store_id)
        if not uow.catalogue.product_exists(product_id):
            raise not_found("product", product_id)
        if uow.catalogue.offer_id_of(store_id, product_id):
            raise _offer_exists(uow, store_id, product_id)
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
        if not uow.catalogue.insert_offer(offer, ctx.clock.now()):  # created meanwhile, concurrently
            raise _offer_exists(uow, store_id, product_id)
    return offer


def _offer_exists(uow: UnitOfWork, store_id: str, product_id: str) -> Refused:
    taken = uow.catalogue.offer_id_of(store_id, product_id)
    return Refused(Refusal("offer_exists", f"store already offers this product ({taken})", 409))


def _check_money(amount: int, currency: str) -> None:
    try:
        check_currency(currency)
        check_amount(amount)
    except MoneyError as e:
        raise Refused(Refusal(e.code, e.detail, 422)) from e


def ranked_offers(ctx: Context, product_id: str) -> tuple[dict[str, str], list[RankedOffer], dict[str, str]]:
    """(product, offers ranked by score, store names) for the comparison page."""
    with ctx.reading() as uow:
        product, offers, names = uow.catalogue.product_comparison(product_id)
    if product is None:
        raise not_found("product", product_id)
    ranked = rank_offers(offers, ctx.policies.current.policy.catalogue.delivery_weight)
    return product, ranked, names


# --- browsing: products and stores, a page at a time -------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProductPage:
    products: list[ProductListing]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class StorePage:
    stores: list[StoreListing]
    next_cursor: str | None


def search_terms(q: str | None) -> list[str]:
    """The words of a search: a title matches when it holds every one of them, in any case."""
    return (q or "").split()


def list_products(ctx: Context, who: Principal, q: str | None, cursor: str | None, limit: int) -> ProductPage:
    """Products whose title holds every word of `q` (all when `q` is empty), oldest first; any
    account may browse. The cursor is the (created_at, id) of the previous page's last product."""
    terms = search_terms(q)
    after = decode_cursor(cursor) if cursor else None
    with ctx.reading() as uow:
        found = uow.catalogue.products_page(terms, after, limit + 1)
    page = found[:limit]
    more = len(found) > limit
    return ProductPage(page, encode_cursor(page[-1].created_at, page[-1].id) if more else None)


def get_product(ctx: Context, who: Principal, product_id: str) -> ProductListing:
    with ctx.reading() as uow:
        found = uow.catalogue.product_listing(product_id)
    if found is None:
        raise not_found("product", product_id)
    return found


def list_stores(ctx: Context, who: Principal, mine: bool, cursor: str | None, limit: int) -> StorePage:
    """Stores, oldest first; with `mine`, only the caller's own (a buyer or administrator owns none)."""
    after = decode_cursor(cursor) if cursor else None
    with ctx.reading() as uow:
        found = uow.catalogue.stores_page(who.id if mine else None, after, limit + 1)
    page = found[:limit]
    more = len(found) > limit
    return StorePage(page, encode_cursor(page[-1].created_at, page[-1].id) if more else None)


def get_store(ctx: Context, who: Principal, store_id: str) -> StoreListing:
    with ctx.reading() as uow:
        found = uow.catalogue.store_listing(store_id)
    if found is None:
        raise not_found("store", store_id)
    return found
