"""A shipment as a lifecycle subject: created by the seller's dispatch, moved by its scans (R6.1, R6.2),
sent back by the platform when the buyer refuses it or it is not collected (R6.6)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, ClassVar

from orderguard.domain import orders
from orderguard.domain.decision import Decision, Event
from orderguard.domain.machine import Actor
from orderguard.domain.orders import Order
from orderguard.domain.policy import Policy
from orderguard.domain.shipping import RETURNED, RETURNING, SHIPMENT, Scan, check_chosen_carrier, fold

SYS = Actor.SYSTEM


@dataclass(frozen=True, slots=True)
class Shipment:
    """A parcel: the lines and quantities it carries under one carrier's tracking code."""

    lifecycle: ClassVar[str] = "shipment"

    id: str
    order_id: str
    carrier: str
    tracking_code: str
    state: str
    shipped_at: datetime
    state_since: datetime | None
    lines: dict[str, int] = field(default_factory=dict)  # order line id -> quantity
    # R6.6: the platform sent the parcel back (`refused` by the buyer, or `storage_ended` at the
    # pickup point), and when; a carrier's own return is a `returned_to_sender` scan instead
    sent_back_by: str | None = None
    sent_back_at: datetime | None = None

    @property
    def sent_back(self) -> tuple[str, datetime] | None:
        if self.sent_back_by is None or self.sent_back_at is None:
            return None
        return self.sent_back_by, self.sent_back_at


ShipmentDecision = Decision[Shipment]


def shipped_quantities(parcels: Iterable[Shipment]) -> dict[str, int]:
    """Order line id -> the quantity these parcels carry of it: what an order's shipments shipped."""
    shipped: dict[str, int] = {}
    for parcel in parcels:
        for line_id, quantity in parcel.lines.items():
            shipped[line_id] = shipped.get(line_id, 0) + quantity
    return shipped


def dispatch(
    shipment_id: str,
    order: Order,
    seller_id: str,
    carrier: str,
    code: str,
    wanted: dict[str, int],
    shipped_before: dict[str, int],
    now: datetime,
    policy: Policy,
) -> ShipmentDecision:
    """R6.1: a new parcel of `wanted` lines; the order is shipped partly or fully by it.

    The parcel goes with the carrier the buyer chose for each of its lines, or not at all
    (`shipping.check_chosen_carrier`)."""
    data: dict[str, Any] = {
        "shipment_id": shipment_id,
        "carrier": carrier,
        "tracking_code": code,
        "lines": wanted,
    }
    shipped = orders.ship(order, seller_id, wanted, shipped_before, now, policy, data)
    check_chosen_carrier(carrier, wanted, {line.id: line.carrier for line in order.lines})
    parcel = Shipment(shipment_id, order.id, carrier, code, SHIPMENT.initial, now, now, dict(wanted))
    return Decision(parcel, new=True, also=[shipped])


def rescan(
    shipment: Shipment, scans: Iterable[Scan], now: datetime, policy: Policy
) -> ShipmentDecision | None:
    """R6.2: the shipment's state as the fold of all its scans (and of the platform sending it back,
    R6.6); None when it does not change. The deadlines of the state left and entered (the storage
    at a pickup point) are cancelled and armed as the SHIPMENT table declares."""
    state, since = fold(scans, shipment.sent_back)
    if state == shipment.state:
        return None
    moved = replace(shipment, state=state, state_since=since)
    data = {
        "tracking_code": shipment.tracking_code,
        "carrier": shipment.carrier,
        "occurred_at": since.isoformat() if since else None,
    }
    cancel, arm = SHIPMENT.rearm(shipment.state, moved, now, policy)
    rule = "R6.6" if state in (RETURNING, RETURNED) else "R6.2"
    return Decision(moved, [Event(f"shipment_{state}", SYS, None, rule, now, data)], cancel, arm)
