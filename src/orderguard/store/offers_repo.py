"""Loading offers with their shipping options."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Row, bindparam, select

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
