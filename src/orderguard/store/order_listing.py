"""A page of a listing of orders (GET /v1/orders) read in two exchanges: the page's orders, then
their lines and what their overviews show, together (one round trip on PostgreSQL). Each part is
read and decoded as its repository's own function reads it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection

from orderguard.app.ports import OrderListingData
from orderguard.domain.cancellation import CANCELLABLE_STATES
from orderguard.domain.cancellation_requests import CancellationRequest
from orderguard.domain.disputes import Dispute
from orderguard.domain.shipments import Shipment, shipped_quantities
from orderguard.store import cancellations_repo, disputes_repo, order_queries, orders_repo, shipments_repo
from orderguard.store.driver import Reads, read

_STATE_AT = [c.name for c in orders_repo.ORDER_COLUMNS].index("state")


def order_listing(
    conn: Connection,
    *,
    buyer_id: str | None,
    store_ids: set[str] | None,
    status: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
    buyer_parts: bool,
) -> OrderListingData:
    rows = read(
        conn,
        order_queries.orders_page_read(
            buyer_id=buyer_id, store_ids=store_ids, status=status, after=after, limit=limit + 1
        ),
    )
    more, rows = len(rows) > limit, rows[:limit]
    if not rows:
        return OrderListingData([], more, {}, {}, {}, {}, dict)
    ids = [row[0] for row in rows]
    reads = Reads(conn)
    lines = reads.add(orders_repo.lines_read(ids))
    dues = reads.add(order_queries.armed_deadline_dues_of_read(ids))
    open_requests: Callable[[], dict[str, list[CancellationRequest]]] = dict
    shipments: Callable[[], list[Shipment]] = list
    disputes: Callable[[], dict[str, list[Dispute]]] = dict
    cancellable: list[str] = []
    if buyer_parts:
        cancellable = [row[0] for row in rows if row[_STATE_AT] in CANCELLABLE_STATES]
        if cancellable:
            open_requests = reads.add(cancellations_repo.open_requests_of_read(cancellable))
        shipments = reads.add(shipments_repo.shipments_of_read(ids))
        disputes = reads.add(disputes_repo.disputes_of_orders_read(ids))
    reads.send()
    parcels: dict[str, list[Shipment]] = {}
    for s in shipments():
        parcels.setdefault(s.order_id, []).append(s)
    shipped = {oid: shipped_quantities(parcels[oid]) for oid in cancellable if oid in parcels}
    return OrderListingData(
        orders_repo.orders_with_lines(rows, lines()),
        more,
        dues(),
        shipped,
        open_requests(),
        parcels,
        disputes,
    )
