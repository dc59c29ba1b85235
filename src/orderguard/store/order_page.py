"""An order's page (GET /v1/orders/{id}) read at once: the order and everything it shows, in one
round trip on PostgreSQL. Each part is read and decoded as its repository's own function reads it."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

from orderguard.app.ports import OrderPageData
from orderguard.domain.cancellation_requests import CancellationRequest
from orderguard.domain.disputes import Dispute
from orderguard.domain.orders import Order
from orderguard.domain.shipments import shipped_quantities
from orderguard.store import (
    cancellations_repo,
    disputes_repo,
    ledger_repo,
    order_queries,
    orders_repo,
    payments_repo,
    shipments_repo,
)
from orderguard.store.driver import Reads


def order_page(
    conn: Connection, order_id: str, *, buyer_parts: bool, loaded: Order | None = None
) -> OrderPageData | None:
    """Every part is keyed by the order's id, so none waits for another; the scans are found
    through the order's shipments, and what was shipped of each line is summed from them. Nothing
    is locked."""
    reads = Reads(conn)
    load = None if loaded is not None else reads.add(orders_repo.orders_read([order_id]))
    shipments = reads.add(shipments_repo.shipments_of_read([order_id]))
    scans = reads.add(shipments_repo.scans_of_orders_read([order_id]))
    sums = reads.add(ledger_repo.escrow_sums_read(conn, order_id))
    dues = reads.add(order_queries.armed_deadline_dues_read(order_id))
    payments = reads.add(payments_repo.payments_of_read(order_id))
    open_requests: Callable[[], list[CancellationRequest]] = list
    disputes: Callable[[], list[Dispute]] = list
    if buyer_parts:
        open_requests = reads.add(cancellations_repo.open_requests_read(order_id))
        disputes = reads.add(disputes_repo.disputes_of_read(order_id))
    reads.send()
    order = load().get(order_id) if load is not None else loaded
    if order is None:
        return None
    parcels = shipments()
    return OrderPageData(
        order,
        parcels,
        scans() if parcels else {},  # SQLite: no query when there is no parcel
        ledger_repo.money_from(sums(), order.currency),
        dues(),
        payments(),
        shipped_quantities(parcels) if buyer_parts else {},
        open_requests(),
        disputes(),
    )
