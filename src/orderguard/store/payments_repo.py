"""Payment rows."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from orderguard.domain.payments import Payment
from orderguard.store import tables as t
from orderguard.store.driver import Statement

_PAYMENT_FIELDS = tuple(f.name for f in fields(Payment))  # `asdict` would deep-copy every value
_insert_payment = Statement(insert(t.payments))  # hot: built once, run straight on SQLite's driver


def insert_payment(conn: Connection, p: Payment, settled_at: datetime | None) -> None:
    _insert_payment.run(conn, {**{f: getattr(p, f) for f in _PAYMENT_FIELDS}, "settled_at": settled_at})


def load_payment(
    conn: Connection, payment_id: str, *, lock: bool = False, skip_locked: bool = False
) -> Payment | None:
    query = select(t.payments).where(t.payments.c.id == payment_id)
    if lock:
        query = query.with_for_update(skip_locked=skip_locked)
    r = conn.execute(query).first()
    if r is None:
        return None
    return Payment(r.id, r.order_id, r.method, r.state, r.amount, r.currency, r.provider_ref, r.created_at)


def settle_payment(conn: Connection, payment_id: str, state: str, now: datetime, reason: str | None) -> None:
    conn.execute(
        update(t.payments)
        .where(t.payments.c.id == payment_id)
        .values(
            state=state,
            settled_at=now,
            failure_reason=reason,
        )
    )


def payments_of(conn: Connection, order_id: str) -> list[dict[str, object]]:
    rows = conn.execute(
        select(t.payments).where(t.payments.c.order_id == order_id).order_by(t.payments.c.created_at)
    )
    return [
        {
            "id": r.id,
            "method": r.method,
            "state": r.state,
            "amount": r.amount,
            "currency": r.currency,
            "provider_ref": r.provider_ref,
            "created_at": r.created_at,
            "settled_at": r.settled_at,
            "failure_reason": r.failure_reason,
        }
        for r in rows
    ]
