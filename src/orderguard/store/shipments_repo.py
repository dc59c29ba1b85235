"""Shipments, their lines and their scans."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from orderguard.domain.shipments import Shipment
from orderguard.domain.shipping import CodeHolder, Place, Scan
from orderguard.store import tables as t
from orderguard.store.driver import Read, Rows, Statement, in_list, read
from orderguard.store.once import insert_once

_s = t.shipments.c
_SHIPMENT_COLUMNS = (
    _s.id, _s.order_id, _s.carrier, _s.tracking_code, _s.state, _s.shipped_at, _s.state_since,
    _s.sent_back_by, _s.sent_back_at,
)  # fmt: skip
_l = t.shipment_lines.c
_SCAN_COLUMNS = (
    t.scans.c.shipment_id, t.scans.c.kind, t.scans.c.occurred_at, t.scans.c.country, t.scans.c.city,
    t.scans.c.postal_code,
)  # fmt: skip
# The reads of an order's page (GET /v1/orders/{id}), built once. A shipment's lines come in
# line id order, whichever way they are read.
_shipments_with_lines_of = Statement.per_dialect(
    lambda array: (
        select(*_SHIPMENT_COLUMNS, _l.line_id, _l.quantity)
        .outerjoin(t.shipment_lines, _l.shipment_id == _s.id)
        .where(in_list(_s.order_id, "b_orders", array=array))
        .order_by(_s.shipped_at, _s.id, _l.line_id)
    )
)
_lines_of = Statement.per_dialect(
    lambda array: (
        select(_l.shipment_id, _l.line_id, _l.quantity)
        .where(in_list(_l.shipment_id, "b_ids", array=array))
        .order_by(_l.shipment_id, _l.line_id)
    )
)
_scans_of = Statement.per_dialect(
    lambda array: (
        select(*_SCAN_COLUMNS)
        .where(in_list(t.scans.c.shipment_id, "b_ids", array=array))
        .order_by(t.scans.c.occurred_at, t.scans.c.id)
    )
)
_scans_of_orders = Statement.per_dialect(
    lambda array: (
        select(*_SCAN_COLUMNS)
        .join(t.shipments, _s.id == t.scans.c.shipment_id)
        .where(in_list(_s.order_id, "b_orders", array=array))
        .order_by(t.scans.c.occurred_at, t.scans.c.id)
    )
)
_shipped_quantities = Statement(
    select(t.shipment_lines.c.line_id, func.sum(t.shipment_lines.c.quantity))
    .join(t.shipments, _s.id == t.shipment_lines.c.shipment_id)
    .where(_s.order_id == bindparam("b_order"))
    .group_by(t.shipment_lines.c.line_id)
)


def _shipments(conn: Connection, rows: Sequence[Any]) -> list[Shipment]:
    """Shipments from rows of `_SHIPMENT_COLUMNS`, with their lines."""
    lines = lines_of(conn, [r[0] for r in rows]) if rows else {}
    return [_shipment(row, lines.get(row[0], {})) for row in rows]


def _shipment(row: Sequence[Any], lines: dict[str, int]) -> Shipment:
    id_, order_id, carrier, code, state, shipped_at, since, back_by, back_at = row
    return Shipment(id_, order_id, carrier, code, state, shipped_at, since, lines, back_by, back_at)


def _shipments_with_lines(rows: Rows) -> list[Shipment]:
    """Shipments from rows of `_SHIPMENT_COLUMNS` followed by one of its lines (None: it has none),
    a shipment's rows one after the other."""
    out: list[Shipment] = []
    for *shipment, line_id, quantity in rows:
        if not out or out[-1].id != shipment[0]:
            out.append(_shipment(shipment, {}))
        if line_id is not None:
            out[-1].lines[line_id] = quantity
    return out


def insert_shipments(conn: Connection, new: Sequence[Shipment]) -> None:
    """New shipments with the lines they carry."""
    for s in new:
        conn.execute(
            insert(t.shipments).values(
                id=s.id,
                order_id=s.order_id,
                carrier=s.carrier,
                tracking_code=s.tracking_code,
                state=s.state,
                shipped_at=s.shipped_at,
                state_since=s.state_since,
                sent_back_by=s.sent_back_by,
                sent_back_at=s.sent_back_at,
            )
        )
        conn.execute(
            insert(t.shipment_lines),
            [{"shipment_id": s.id, "line_id": line_id, "quantity": qty} for line_id, qty in s.lines.items()],
        )


def update_shipments(conn: Connection, changed: Sequence[Shipment]) -> None:
    for s in changed:
        conn.execute(
            update(t.shipments)
            .where(t.shipments.c.id == s.id)
            .values(
                state=s.state,
                state_since=s.state_since,
                sent_back_by=s.sent_back_by,
                sent_back_at=s.sent_back_at,
            )
        )


def load_shipments(conn: Connection, ids: Iterable[str], *, skip_locked: bool = False) -> dict[str, Shipment]:
    """Shipments by id, locked (their storage deadlines fire on them); with `skip_locked`, those
    another transaction holds are left out."""
    rows = conn.execute(
        select(*_SHIPMENT_COLUMNS)
        .where(_s.id.in_(sorted(set(ids))))
        .order_by(_s.id)
        .with_for_update(skip_locked=skip_locked)
    ).all()
    return {s.id: s for s in _shipments(conn, rows)}


def shipped_quantities_read(order_id: str) -> Read[dict[str, int]]:
    return [(_shipped_quantities, {"b_order": order_id})], _shipped_from


def _shipped_from(rows: Rows) -> dict[str, int]:
    return {line_id: int(qty) for line_id, qty in rows}


def shipped_quantities(conn: Connection, order_id: str) -> dict[str, int]:
    return read(conn, shipped_quantities_read(order_id))


def shipments_of_read(order_ids: Iterable[str]) -> Read[list[Shipment]]:
    """The orders' shipments with their lines, in one query, oldest first."""
    return [(_shipments_with_lines_of, {"b_orders": sorted(set(order_ids))})], _shipments_with_lines


def shipments_of(conn: Connection, order_ids: Iterable[str]) -> list[Shipment]:
    wanted = sorted(set(order_ids))
    return read(conn, shipments_of_read(wanted)) if wanted else []


def shipment(conn: Connection, shipment_id: str) -> Shipment | None:
    r = conn.execute(select(*_SHIPMENT_COLUMNS).where(_s.id == shipment_id)).first()
    return _shipments(conn, [r])[0] if r else None


def claim_tracking_code(
    conn: Connection, carrier: str, code: str, shipper: CodeHolder, now: datetime
) -> CodeHolder:
    """The owner of (carrier, code): `shipper` if nobody held it, else whoever did first.

    Race-safe: of concurrent first claims exactly one owns the code (see store/once.py).
    """
    insert_once(
        conn,
        t.tracking_codes,
        {
            "carrier": carrier,
            "tracking_code": code,
            "store_id": shipper.store_id,
            "buyer_id": shipper.buyer_id,
            "claimed_at": now,
            "direction": shipper.direction,
        },
        ("carrier", "tracking_code"),
    )
    owner = code_owner(conn, carrier, code)
    assert owner is not None, "claimed just now, or by a transaction that committed"
    return owner


def code_owner(conn: Connection, carrier: str, code: str) -> CodeHolder | None:
    tc = t.tracking_codes.c
    r = conn.execute(
        select(tc.store_id, tc.buyer_id, tc.direction).where(tc.carrier == carrier, tc.tracking_code == code)
    ).first()
    return CodeHolder(r.store_id, r.buyer_id, r.direction) if r else None


def by_tracking_code(conn: Connection, carrier: str, code: str) -> list[tuple[Shipment, CodeHolder]]:
    """Every shipment under (carrier, code), with the store and buyer of its order."""
    rows = conn.execute(
        select(*_SHIPMENT_COLUMNS, t.orders.c.store_id, t.orders.c.buyer_id)
        .join(t.orders, t.orders.c.id == _s.order_id)
        .where(_s.carrier == carrier, _s.tracking_code == code)
        .order_by(_s.id)
    ).all()
    found = _shipments(conn, [r[: len(_SHIPMENT_COLUMNS)] for r in rows])
    return list(zip(found, [CodeHolder(r.store_id, r.buyer_id) for r in rows], strict=True))


def scans_of(conn: Connection, shipment_ids: Iterable[str]) -> dict[str, list[Scan]]:
    wanted = sorted(set(shipment_ids))
    return _scans_from(_scans_of.rows(conn, {"b_ids": wanted}) if wanted else [])


def scans_of_orders_read(order_ids: Iterable[str]) -> Read[dict[str, list[Scan]]]:
    """`scans_of` the orders' shipments, found through their orders (no need to know them first)."""
    return [(_scans_of_orders, {"b_orders": sorted(set(order_ids))})], _scans_from


def _scans_from(rows: Rows) -> dict[str, list[Scan]]:
    out: dict[str, list[Scan]] = defaultdict(list)
    for shipment_id, kind, at, country, city, postal_code in rows:
        out[shipment_id].append(Scan(kind, at, Place(country, city, postal_code)))
    return out


def insert_scans(conn: Connection, rows: Sequence[tuple[str, Scan]], source: str, now: datetime) -> None:
    if rows:
        conn.execute(
            insert(t.scans),
            [
                {
                    "shipment_id": sid,
                    "kind": s.kind,
                    "occurred_at": s.occurred_at,
                    "country": s.place.country,
                    "city": s.place.city,
                    "postal_code": s.place.postal_code,
                    "source": source,
                    "received_at": now,
                }
                for sid, s in rows
            ],
        )


def lines_of(conn: Connection, shipment_ids: Iterable[str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(dict)
    wanted = sorted(set(shipment_ids))
    if wanted:
        for shipment_id, line_id, quantity in _lines_of.rows(conn, {"b_ids": wanted}):
            out[shipment_id][line_id] = quantity
    return out


def remember_webhook(conn: Connection, carrier: str, signature: str, now: datetime) -> bool:
    """False when this exact signed delivery was seen before (a replay), even one running concurrently."""
    return insert_once(
        conn,
        t.carrier_webhooks,
        {"carrier": carrier, "signature": signature, "received_at": now},
        ("carrier", "signature"),
    )
