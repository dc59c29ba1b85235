"""Shipments, their lines and their scans."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from orderguard.domain.shipments import Shipment
from orderguard.domain.shipping import CodeHolder, Place, Scan
from orderguard.store import tables as t
from orderguard.store.once import insert_once


def _shipments(conn: Connection, rows: Sequence[Any]) -> list[Shipment]:
    lines = lines_of(conn, [r.id for r in rows]) if rows else {}
    return [
        Shipment(
            r.id,
            r.order_id,
            r.carrier,
            r.tracking_code,
            r.state,
            r.shipped_at,
            r.state_since,
            lines.get(r.id, {}),
            r.sent_back_by,
            r.sent_back_at,
        )
        for r in rows
    ]


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
        select(t.shipments)
        .where(t.shipments.c.id.in_(sorted(set(ids))))
        .order_by(t.shipments.c.id)
        .with_for_update(skip_locked=skip_locked)
    ).all()
    return {s.id: s for s in _shipments(conn, rows)}


def shipped_quantities(conn: Connection, order_id: str) -> dict[str, int]:
    rows = conn.execute(
        select(t.shipment_lines.c.line_id, func.sum(t.shipment_lines.c.quantity))
        .join(t.shipments, t.shipments.c.id == t.shipment_lines.c.shipment_id)
        .where(t.shipments.c.order_id == order_id)
        .group_by(t.shipment_lines.c.line_id)
    )
    return {line_id: int(qty) for line_id, qty in rows}


def shipped_quantities_of(conn: Connection, order_ids: Iterable[str]) -> dict[str, dict[str, int]]:
    """Per order of these (a page of a listing), the quantity shipped of each line."""
    wanted = sorted(set(order_ids))
    if not wanted:
        return {}
    rows = conn.execute(
        select(t.shipments.c.order_id, t.shipment_lines.c.line_id, func.sum(t.shipment_lines.c.quantity))
        .join(t.shipments, t.shipments.c.id == t.shipment_lines.c.shipment_id)
        .where(t.shipments.c.order_id.in_(wanted))
        .group_by(t.shipments.c.order_id, t.shipment_lines.c.line_id)
    )
    out: dict[str, dict[str, int]] = {}
    for order_id, line_id, qty in rows:
        out.setdefault(order_id, {})[line_id] = int(qty)
    return out


def shipments_of(conn: Connection, order_ids: Iterable[str]) -> list[Shipment]:
    rows = conn.execute(
        select(t.shipments)
        .where(t.shipments.c.order_id.in_(sorted(set(order_ids))))
        .order_by(t.shipments.c.shipped_at, t.shipments.c.id)
    ).all()
    return _shipments(conn, rows)


def shipment(conn: Connection, shipment_id: str) -> Shipment | None:
    r = conn.execute(select(t.shipments).where(t.shipments.c.id == shipment_id)).first()
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
        select(t.shipments, t.orders.c.store_id, t.orders.c.buyer_id)
        .join(t.orders, t.orders.c.id == t.shipments.c.order_id)
        .where(t.shipments.c.carrier == carrier, t.shipments.c.tracking_code == code)
        .order_by(t.shipments.c.id)
    ).all()
    return list(zip(_shipments(conn, rows), [CodeHolder(r.store_id, r.buyer_id) for r in rows], strict=True))


def scans_of(conn: Connection, shipment_ids: Iterable[str]) -> dict[str, list[Scan]]:
    out: dict[str, list[Scan]] = defaultdict(list)
    rows = conn.execute(
        select(t.scans)
        .where(t.scans.c.shipment_id.in_(sorted(set(shipment_ids))))
        .order_by(t.scans.c.occurred_at, t.scans.c.id)
    )
    for r in rows:
        out[r.shipment_id].append(Scan(r.kind, r.occurred_at, Place(r.country, r.city, r.postal_code)))
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
    rows = conn.execute(
        select(t.shipment_lines).where(t.shipment_lines.c.shipment_id.in_(sorted(set(shipment_ids))))
    )
    for r in rows:
        out[r.shipment_id][r.line_id] = r.quantity
    return out


def remember_webhook(conn: Connection, carrier: str, signature: str, now: datetime) -> bool:
    """False when this exact signed delivery was seen before (a replay), even one running concurrently."""
    return insert_once(
        conn,
        t.carrier_webhooks,
        {"carrier": carrier, "signature": signature, "received_at": now},
        ("carrier", "signature"),
    )
