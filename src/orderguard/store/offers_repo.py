"""Stores, products, and offers with their shipping options."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, insert, select, update

from orderguard.domain.catalogue import Offer, ShippingOption
from orderguard.store import tables as t

# Built once: on the cart's hot path building a statement costs more than running it.
_select_offers = (
    select(t.offers).where(t.offers.c.id.in_(bindparam("b_ids", expanding=True))).order_by(t.offers.c.id)
)
_select_offers_lock = _select_offers.with_for_update()
_select_options = (
    select(t.shipping_options)
    .where(t.shipping_options.c.offer_id.in_(bindparam("b_ids", expanding=True)))
    .order_by(t.shipping_options.c.offer_id, t.shipping_options.c.position)
)
_select_titles = select(t.products.c.id, t.products.c.title).where(
    t.products.c.id.in_(bindparam("b_ids", expanding=True))
)
_take_stock = (
    update(t.offers)
    .where(t.offers.c.id == bindparam("b_offer"))
    .values(stock=t.offers.c.stock - bindparam("b_qty"))
)


def load_offers(conn: Connection, offer_ids: Iterable[str], *, lock: bool = False) -> dict[str, Offer]:
    """Offers by id; with `lock`, their rows are locked in id order (stock is about to change)."""
    ids = sorted(set(offer_ids))
    if not ids:
        return {}
    return offers_from_rows(
        conn, conn.execute(_select_offers_lock if lock else _select_offers, {"b_ids": ids}).all()
    )


def offers_from_rows(conn: Connection, rows: Sequence[Row[Any]]) -> dict[str, Offer]:
    options: dict[str, list[ShippingOption]] = defaultdict(list)
    if rows:
        for o in conn.execute(_select_options, {"b_ids": [r.id for r in rows]}):
            options[o.offer_id].append(ShippingOption(o.id, o.carrier, o.price, o.promised_days))
    return {
        r.id: Offer(
            r.id,
            r.store_id,
            r.product_id,
            r.price,
            r.currency,
            r.stock,
            r.handling_days,
            tuple(options[r.id]),
        )
        for r in rows
    }


def offers_of_product(conn: Connection, product_id: str) -> list[Offer]:
    """The product's offers, oldest first."""
    rows = conn.execute(
        select(t.offers)
        .where(t.offers.c.product_id == product_id)
        .order_by(t.offers.c.created_at, t.offers.c.id)
    ).all()
    offers = offers_from_rows(conn, rows)
    return [offers[r.id] for r in rows]


def offer_id_of(conn: Connection, store_id: str, product_id: str) -> str | None:
    """The store's offer of the product, if it has one."""
    return conn.execute(
        select(t.offers.c.id).where(t.offers.c.store_id == store_id, t.offers.c.product_id == product_id)
    ).scalar()


def insert_offer(conn: Connection, offer: Offer, created_at: datetime) -> None:
    """The offer and its shipping options, in their order."""
    conn.execute(
        insert(t.offers).values(
            id=offer.id,
            store_id=offer.store_id,
            product_id=offer.product_id,
            price=offer.price,
            currency=offer.currency,
            stock=offer.stock,
            handling_days=offer.handling_days,
            created_at=created_at,
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


def take_stock(conn: Connection, taken: Mapping[str, int]) -> None:
    """Take the quantities off the offers' stock, in offer id order."""
    conn.execute(_take_stock, [{"b_offer": k, "b_qty": taken[k]} for k in sorted(taken)])


def insert_store(conn: Connection, store_id: str, seller_id: str, name: str, created_at: datetime) -> None:
    conn.execute(insert(t.stores).values(id=store_id, seller_id=seller_id, name=name, created_at=created_at))


def store_owner(conn: Connection, store_id: str) -> str | None:
    """The seller who owns the store; None when there is no such store."""
    return conn.execute(select(t.stores.c.seller_id).where(t.stores.c.id == store_id)).scalar()


def store_ids_of(conn: Connection, seller_id: str) -> set[str]:
    """The ids of the seller's stores."""
    return set(conn.execute(select(t.stores.c.id).where(t.stores.c.seller_id == seller_id)).scalars())


def store_names(conn: Connection, store_ids: set[str]) -> dict[str, str]:
    """Store name by id."""
    return dict(
        conn.execute(select(t.stores.c.id, t.stores.c.name).where(t.stores.c.id.in_(store_ids))).all()
    )


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


def load_product(conn: Connection, product_id: str) -> dict[str, str] | None:
    """The product's id, title and description; None when there is no such product."""
    row = conn.execute(select(t.products).where(t.products.c.id == product_id)).first()
    if row is None:
        return None
    return {"id": row.id, "title": row.title, "description": row.description}


def product_titles(conn: Connection, product_ids: set[str]) -> dict[str, str]:
    """Product title by id."""
    return dict(conn.execute(_select_titles, {"b_ids": sorted(product_ids)}).all()) if product_ids else {}
