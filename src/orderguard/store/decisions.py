"""Writing decisions of every lifecycle: one path, one statement per kind of change."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from orderguard.domain.decision import Decision
from orderguard.domain.orders import LEAVE_CART, LINES_CHANGED, Order
from orderguard.store.cancellations_repo import (
    insert_fines,
    insert_requests,
    load_requests,
    update_fines,
    update_requests,
)
from orderguard.store.carts_repo import leave_cart
from orderguard.store.deadlines_repo import arm_deadlines, cancel_deadlines
from orderguard.store.disputes_repo import (
    insert_disputes,
    insert_proposals,
    load_disputes,
    update_disputes,
    update_proposals,
)
from orderguard.store.events_repo import write_events
from orderguard.store.ledger_repo import write_ledger
from orderguard.store.notifications_repo import notify
from orderguard.store.offers_repo import restock
from orderguard.store.orders_repo import insert_orders, load_orders, update_line_quantities, update_orders
from orderguard.store.payments_repo import insert_payments, load_payments, update_payments
from orderguard.store.proofs_repo import (
    insert_complaints,
    insert_proof_requests,
    load_proof_requests,
    update_complaints,
    update_proof_requests,
)
from orderguard.store.refunds_repo import insert_refunds, load_refunds, update_refunds
from orderguard.store.shipments_repo import insert_shipments, load_shipments, update_shipments

Writer = Callable[[Connection, Sequence[Any]], None]

# lifecycle -> (insert new subjects, update changed ones), in the order their tables are written
WRITERS: dict[str, tuple[Writer, Writer]] = {
    "order": (insert_orders, update_orders),
    "payment": (insert_payments, update_payments),
    "shipment": (insert_shipments, update_shipments),
    "cancellation_request": (insert_requests, update_requests),
    "fine": (insert_fines, update_fines),
    "dispute": (insert_disputes, update_disputes),
    "dispute_proposal": (insert_proposals, update_proposals),
    "refund": (insert_refunds, update_refunds),
    "proof_request": (insert_proof_requests, update_proof_requests),
    "complaint": (insert_complaints, update_complaints),
}


def load_subjects(conn: Connection, lifecycle: str, ids: Iterable[str]) -> dict[str, Any]:
    """A lifecycle's subjects by id, locked; those another transaction holds are left out."""
    if lifecycle == "order":
        return load_orders(conn, ids, skip_locked=True)
    if lifecycle == "payment":
        return load_payments(conn, ids, skip_locked=True)
    if lifecycle == "cancellation_request":
        return load_requests(conn, ids, skip_locked=True)
    if lifecycle == "refund":
        return load_refunds(conn, ids, skip_locked=True)
    if lifecycle == "proof_request":
        return load_proof_requests(conn, ids, skip_locked=True)
    if lifecycle == "dispute":
        return load_disputes(conn, ids, skip_locked=True)
    if lifecycle == "shipment":
        return load_shipments(conn, ids, skip_locked=True)
    raise ValueError(f"no {lifecycle} subjects have timers")


def save_decisions(conn: Connection, decisions: Sequence[Decision[Any]], now: datetime) -> Counter[str]:
    """Write every change of these decisions, and of those they entail, in the connection's transaction.

    Returns how many deadlines of each kind were armed (for the metrics, once committed)."""
    changed = [d for top in decisions for d in top.flatten() if d.changed]
    if not changed:
        return Counter()
    by_lifecycle: dict[str, list[Decision[Any]]] = defaultdict(list)
    for d in changed:
        by_lifecycle[d.subject.lifecycle].append(d)
    for lifecycle, (insert, update) in WRITERS.items():
        mine = by_lifecycle.pop(lifecycle, [])
        insert(conn, [d.subject for d in mine if d.new])
        update(conn, [d.subject for d in mine if not d.new])
    update_line_quantities(conn, [d.subject for d in changed if LINES_CHANGED in d.effects])
    if by_lifecycle:
        raise ValueError(f"no writer for {sorted(by_lifecycle)}")
    write_events(
        conn, [(d.subject.order_id, d.subject.lifecycle, d.subject.id, e) for d in changed for e in d.events]
    )
    cancel_deadlines(conn, [(d.subject.id, k) for d in changed for k in d.cancel], now)
    armed = [
        (d.subject.lifecycle, d.subject.id, d.subject.order_id, a.kind, a.due_at)
        for d in changed
        for a in d.arm
    ]
    arm_deadlines(conn, armed, now)
    write_ledger(conn, [txn for d in changed for txn in d.ledger], now)
    notify(
        conn,
        [(d.subject.order_id, n.recipient, n.kind, n.text) for d in changed for n in d.notifications],
        now,
        buyers={d.subject.id: d.subject.buyer_id for d in changed if isinstance(d.subject, Order)},
    )
    leave_cart(conn, [d.subject.id for d in changed if LEAVE_CART in d.effects])
    # Last: offers are rows that every worker and checkout updates, so their locks are held briefly.
    restock(conn, [d.restock for d in changed if d.restock])
    return Counter(kind for _, _, _, kind, _ in armed)
