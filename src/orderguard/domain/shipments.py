"""A shipment as a lifecycle subject: created by the seller's dispatch, moved by its scans (R6.1, R6.2)."""

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
from orderguard.domain.shipping import SHIPMENT, Scan, check_chosen_carrier, fold

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


ShipmentDecision = Decision[Shipment]


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


def rescan(shipment: Shipment, scans: Iterable[Scan], now: datetime) -> ShipmentDecision | None:
    """R6.2: the shipment's state as the fold of all its scans; None when it does not change."""
    state, since = fold(scans)
    if state == shipment.state:
        return None
    moved = replace(shipment, state=state, state_since=since)
    data = {
        "tracking_code": shipment.tracking_code,
        "carrier": shipment.carrier,
        "occurred_at": since.isoformat() if since else None,
    }
    return Decision(moved, [Event(f"shipment_{state}", SYS, None, "R6.2", now, data)])
