"""Stores, products, and offers with their shipping options."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    String,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    true,
    union_all,
    update,
)

from orderguard.app.ports import ProductListing, StoreListing
from orderguard.domain.catalogue import Offer, ShippingOption
from orderguard.store import tables as t
from orderguard.store.driver import Reads, Rows, Statement, in_list, rows_together
from orderguard.store.once import insert_once

# The offer's columns in the order of `Offer`'s fields, before its shipping options.
_OFFER = (
    t.offers.c.id,
    t.offers.c.store_id,
    t.offers.c.product_id,
    t.offers.c.price,
    t.offers.c.currency,
    t.offers.c.stock,
    t.offers.c.handling_days,
)


# The statements of the buyer's hot path: built once, run straight on SQLite's driver, and lists
# bound as one array on PostgreSQL.
def _by_ids(array: bool) -> Select[Any]:
    return select(*_OFFER).where(in_list(t.offers.c.id, "b_ids", array=array)).order_by(t.offers.c.id)


# A shipping option's columns, after its offer's id.
_OPTION = (
    t.shipping_options.c.offer_id,
    t.shipping_options.c.id,
    t.shipping_options.c.carrier,
    t.shipping_options.c.price,
    t.shipping_options.c.promised_days,
)
_select_offers = Statement.per_dialect(_by_ids)
_select_offers_lock = Statement.per_dialect(lambda array: _by_ids(array).with_for_update())
_select_options = Statement.per_dialect(
    lambda array: (
        select(*_OPTION)
        .where(in_list(t.shipping_options.c.offer_id, "b_ids", array=array))
        .order_by(t.shipping_options.c.offer_id, t.shipping_options.c.position)
    )
)
_select_titles = Statement.per_dialect(
    lambda array: select(t.products.c.id, t.products.c.title).where(
        in_list(t.products.c.id, "b_ids", array=array)
    )
)
_take_stock = Statement(
    update(t.offers)
    .where(t.offers.c.id == bindparam("b_offer"))
    .values(stock=t.offers.c.stock - bindparam("b_qty"))
)


# A cart's offers, found from the cart in the statement itself so that they are read in the same
# round trip as the cart (see carts_repo.open_cart): those of its free items, locked (checkout), or
# those of all its items and of the offer being added.
_ci = t.cart_items.c
_free_offers_of_cart = select(_ci.offer_id).where(
    _ci.buyer_id == bindparam("b_buyer"), _ci.order_id.is_(None)
)
# One IN over a UNION, not `IN (...) OR id = :adding`: PostgreSQL cannot look an OR with a
# subquery up by index, and would scan every offer.
_offers_of_cart = t.offers.c.id.in_(
    union_all(
        select(_ci.offer_id).where(_ci.buyer_id == bindparam("b_buyer")),
        select(bindparam("b_adding", type_=String)),
    )
)
_CART_OFFERS = {
    True: t.offers.c.id.in_(_free_offers_of_cart),
    False: _offers_of_cart,
}
_cart_offers = {
    locked: Statement(
        select(*_OFFER).where(where).order_by(t.offers.c.id).with_for_update()
        if locked
        else select(*_OFFER).where(where).order_by(t.offers.c.id)
    )
    for locked, where in _CART_OFFERS.items()
}
_cart_options = {
    locked: Statement(
        select(*_OPTION)
        .where(t.shipping_options.c.offer_id.in_(select(t.offers.c.id).where(where)))
        .order_by(t.shipping_options.c.offer_id, t.shipping_options.c.position)
    )
    for locked, where in _CART_OFFERS.items()
}
_cart_titles = {
    locked: Statement(
        select(t.products.c.id, t.products.c.title).where(
            t.products.c.id.in_(select(t.offers.c.product_id).where(where))
        )
    )
    for locked, where in _CART_OFFERS.items()
}


def cart_offer_queries(
    buyer_id: str, *, adding: str | None, lock_free_offers: bool
) -> list[tuple[Statement, dict[str, Any]]]:
    """The queries of a cart's offers, their options and their products' titles, for `rows_together`;
    `cart_offers_from` reads their rows."""
    params: dict[str, Any] = {"b_buyer": buyer_id}
    if not lock_free_offers:
        params["b_adding"] = adding
    return [
        (_cart_offers[lock_free_offers], params),
        (_cart_options[lock_free_offers], params),
        (_cart_titles[lock_free_offers], params),
    ]


def cart_offers_from(
    rows: Sequence[Sequence[Any]], option_rows: Sequence[Sequence[Any]], title_rows: Sequence[Sequence[Any]]
) -> tuple[dict[str, Offer], dict[str, str]]:
    return _offers(rows, option_rows), {product_id: title for product_id, title in title_rows}


def load_offers(conn: Connection, offer_ids: Iterable[str], *, lock: bool = False) -> dict[str, Offer]:
    """Offers by id; with `lock`, their rows are locked in id order (stock is about to change)."""
    ids = sorted(set(offer_ids))
    if not ids:
        return {}
    query = _select_offers_lock if lock else _select_offers
    # The options of the ids asked for, in the same round trip (those of a missing offer are none).
    rows, option_rows = rows_together(conn, [(query, {"b_ids": ids}), (_select_options, {"b_ids": ids})])
    return _offers(rows, option_rows)


def offers_from_rows(conn: Connection, rows: Sequence[Sequence[Any]]) -> dict[str, Offer]:
    """Offers from rows of `_OFFER`'s columns, with their shipping options."""
    option_rows = _select_options.rows(conn, {"b_ids": [r[0] for r in rows]}) if rows else []
    return _offers(rows, option_rows)


def _offers(rows: Sequence[Sequence[Any]], option_rows: Sequence[Sequence[Any]]) -> dict[str, Offer]:
    options: dict[str, list[ShippingOption]] = defaultdict(list)
    for offer_id, *option in option_rows:
        options[offer_id].append(ShippingOption(*option))
    return {
        offer_id: Offer(
            offer_id, store_id, product_id, price, currency, stock, handling, tuple(options[offer_id])
        )
        for offer_id, store_id, product_id, price, currency, stock, handling in rows
    }


_product_offers = Statement(
    select(*_OFFER)
    .where(t.offers.c.product_id == bindparam("b_product"))
    .order_by(t.offers.c.created_at, t.offers.c.id)
)
_product_options = Statement(
    select(*_OPTION)
    .join(t.offers, t.offers.c.id == t.shipping_options.c.offer_id)
    .where(t.offers.c.product_id == bindparam("b_product"))
    .order_by(t.shipping_options.c.offer_id, t.shipping_options.c.position)
)


def offers_of_product(conn: Connection, product_id: str) -> list[Offer]:
    """The product's offers, oldest first."""
    wanted = {"b_product": product_id}
    return _offers_in_order(*rows_together(conn, [(_product_offers, wanted), (_product_options, wanted)]))


def _offers_in_order(rows: Rows, option_rows: Rows) -> list[Offer]:
    offers = _offers(rows, option_rows)
    return [offers[r[0]] for r in rows]


_store_names_of_product = Statement(
    select(t.stores.c.id, t.stores.c.name)
    .join(t.offers, t.offers.c.store_id == t.stores.c.id)
    .where(t.offers.c.product_id == bindparam("b_product"))
)


def product_comparison(
    conn: Connection, product_id: str
) -> tuple[dict[str, str] | None, list[Offer], dict[str, str]]:
    """`load_product`, `offers_of_product` and the `store_names` of those offers, read together (one
    round trip on PostgreSQL); no offers and no names when there is no such product."""
    wanted = {"b_product": product_id}
    reads = Reads(conn)
    product = reads.add(([(_select_product, {"b_id": product_id})], _product_from))
    offers = reads.add(([(_product_offers, wanted), (_product_options, wanted)], _offers_in_order))
    names = reads.add(([(_store_names_of_product, wanted)], _names_from))
    reads.send()
    found = product()
    if found is None:
        return None, [], {}
    return found, offers(), names()


def _names_from(rows: Rows) -> dict[str, str]:
    return dict(rows)


def offer_id_of(conn: Connection, store_id: str, product_id: str) -> str | None:
    """The store's offer of the product, if it has one."""
    return conn.execute(
        select(t.offers.c.id).where(t.offers.c.store_id == store_id, t.offers.c.product_id == product_id)
    ).scalar()


def insert_offer(conn: Connection, offer: Offer, created_at: datetime) -> bool:
    """The offer and its shipping options, in their order; False (nothing written) when the store
    already offers the product, even if that offer was created concurrently (see store/once.py)."""
    inserted = insert_once(
        conn,
        t.offers,
        {
            "id": offer.id,
            "store_id": offer.store_id,
            "product_id": offer.product_id,
            "price": offer.price,
            "currency": offer.currency,
            "stock": offer.stock,
            "handling_days": offer.handling_days,
            "created_at": created_at,
        },
        ("store_id", "product_id"),
    )
    if not inserted:
        return False
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
    return True


def take_stock(conn: Connection, taken: Mapping[str, int]) -> None:
    """Take the quantities off the offers' stock, in offer id order."""
    _take_stock.run_many(conn, [{"b_offer": k, "b_qty": taken[k]} for k in sorted(taken)])


def insert_store(conn: Connection, store_id: str, seller_id: str, name: str, created_at: datetime) -> None:
    conn.execute(insert(t.stores).values(id=store_id, seller_id=seller_id, name=name, created_at=created_at))


def store_owner(conn: Connection, store_id: str) -> str | None:
    """The seller who owns the store; None when there is no such store."""
    return conn.execute(select(t.stores.c.seller_id).where(t.stores.c.id == store_id)).scalar()


def store_ids_of(conn: Connection, seller_id: str) -> set[str]:
    """The ids of the seller's stores."""
    return set(conn.execute(select(t.stores.c.id).where(t.stores.c.seller_id == seller_id)).scalars())


_store_names = Statement.per_dialect(
    lambda array: select(t.stores.c.id, t.stores.c.name).where(in_list(t.stores.c.id, "b_ids", array=array))
)


def store_names(conn: Connection, store_ids: set[str]) -> dict[str, str]:
    """Store name by id."""
    wanted = sorted(store_ids)
    return dict(_store_names.rows(conn, {"b_ids": wanted})) if wanted else {}


def insert_product(
    conn: Connection, product_id: str, title: str, description: str, created_by: str, created_at: datetime
) -> None:
    conn.execute(
        insert(t.products).values(
            id=product_id,
            title=title,
            description=description,
            created_by=created_by,
            created_at=created_at,
        )
    )


def product_exists(conn: Connection, product_id: str) -> bool:
    return conn.execute(select(t.products.c.id).where(t.products.c.id == product_id)).first() is not None


_select_product = Statement(
    select(t.products.c.id, t.products.c.title, t.products.c.description).where(
        t.products.c.id == bindparam("b_id")
    )
)


def load_product(conn: Connection, product_id: str) -> dict[str, str] | None:
    """The product's id, title and description; None when there is no such product."""
    return _product_from(_select_product.rows(conn, {"b_id": product_id}))


def _product_from(rows: Rows) -> dict[str, str] | None:
    if not rows:
        return None
    [(id_, title, description)] = rows
    return {"id": id_, "title": title, "description": description}


def product_titles(conn: Connection, product_ids: set[str]) -> dict[str, str]:
    """Product title by id."""
    return dict(_select_titles.rows(conn, {"b_ids": sorted(product_ids)})) if product_ids else {}


_restock = Statement(
    update(t.offers)
    .where(t.offers.c.id == bindparam("b_offer"))
    .values(stock=t.offers.c.stock + bindparam("b_qty"))
)


def restock(conn: Connection, returns: Iterable[dict[str, int]]) -> None:
    """Stock goes back to offers: each of `returns` maps offer ids to quantities."""
    back: dict[str, int] = defaultdict(int)
    for quantities in returns:
        for offer_id, quantity in quantities.items():
            back[offer_id] += quantity
    if back:  # sorted: offers are always locked in the same order, so no deadlock
        _restock.run_many(conn, [{"b_offer": k, "b_qty": back[k]} for k in sorted(back)])


# --- browsing the catalogue (GET /v1/products, /v1/stores) ------------------------------------------

_offers_of_product = (
    select(func.count()).where(t.offers.c.product_id == t.products.c.id).scalar_subquery()
)  # counted on the offers' product_id index
_offers_of_store = (
    select(func.count()).where(t.offers.c.store_id == t.stores.c.id).scalar_subquery()
)  # on the (store_id, product_id) unique index
_PRODUCT = (
    t.products.c.id,
    t.products.c.title,
    t.products.c.description,
    t.products.c.created_at,
    _offers_of_product,
)
_STORE = (t.stores.c.id, t.stores.c.name, t.stores.c.seller_id, t.stores.c.created_at, _offers_of_store)


def _after(table: Any, after: tuple[datetime, str] | None) -> Any:
    """Rows past the (created_at, id) key `after`, in that order."""
    if after is None:
        return true()
    at, last_id = after
    return or_(table.c.created_at > at, and_(table.c.created_at == at, table.c.id > last_id))


def products_page(
    conn: Connection, terms: Sequence[str], after: tuple[datetime, str] | None, limit: int
) -> list[ProductListing]:
    """A page of products whose title holds every term, case-insensitively (`lower` on both sides:
    PostgreSQL lowers every letter, SQLite only A to Z). `%` and `_` in a term are plain characters."""
    query = select(*_PRODUCT).where(
        _after(t.products, after), *(t.products.c.title.icontains(term, autoescape=True) for term in terms)
    )
    rows = conn.execute(query.order_by(t.products.c.created_at, t.products.c.id).limit(limit))
    return [ProductListing(*row) for row in rows]


def product_listing(conn: Connection, product_id: str) -> ProductListing | None:
    row = conn.execute(select(*_PRODUCT).where(t.products.c.id == product_id)).first()
    return ProductListing(*row) if row else None


def stores_page(
    conn: Connection, seller_id: str | None, after: tuple[datetime, str] | None, limit: int
) -> list[StoreListing]:
    query = select(*_STORE).where(_after(t.stores, after))
    if seller_id is not None:
        query = query.where(t.stores.c.seller_id == seller_id)
    rows = conn.execute(query.order_by(t.stores.c.created_at, t.stores.c.id).limit(limit))
    return [StoreListing(*row) for row in rows]


def store_listing(conn: Connection, store_id: str) -> StoreListing | None:
    row = conn.execute(select(*_STORE).where(t.stores.c.id == store_id)).first()
    return StoreListing(*row) if row else None
