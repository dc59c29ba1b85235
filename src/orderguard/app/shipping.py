"""Shipping an order (R6.1) and carrier scans (R6.2) moving shipments and orders (R6.4)."""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orderguard.app import disputes
from orderguard.app.access import not_found, require_role, visible_order
from orderguard.app.context import Context, Principal
from orderguard.app.effects import run_after_commit
from orderguard.app.ports import UnitOfWork
from orderguard.domain import cancellation_requests, orders, shipments, shipping, unclaimed
from orderguard.domain.cancellation_requests import CancellationRequest
from orderguard.domain.decision import AfterCommit, Decision
from orderguard.domain.machine import Actor, Refusal, Refused, one_of
from orderguard.domain.shipments import Shipment
from orderguard.domain.shipping import Place, Scan
from orderguard.ids import new_id


def ship(
    ctx: Context,
    seller: Principal,
    order_id: str,
    carrier: str,
    tracking_code: str,
    lines: dict[str, int] | None,
) -> Shipment:
    """Ship `lines` (line id -> quantity; None: everything left) under one tracking code.

    The code is claimed for the order's store and buyer in the same transaction; another
    store's or buyer's code is refused (R6.1, `shipping.check_code_reuse`).
    """
    require_role(seller, Actor.SELLER)
    now = ctx.clock.now()
    with ctx.uow() as uow:
        order, _ = visible_order(
            uow, seller, uow.orders.load_orders([order_id], lock=True).get(order_id), order_id
        )
        decision = dispatch_locked(
            uow,
            ctx,
            order,
            seller.id,
            carrier,
            tracking_code,
            lines,
            now,
            uow.cancellations.open_requests(order.id),
        )
        uow.save([decision], now)
    return decision.subject


def dispatch_locked(
    uow: UnitOfWork,
    ctx: Context,
    order: orders.Order,
    seller_id: str,
    carrier: str,
    tracking_code: str,
    lines: dict[str, int] | None,
    now: datetime,
    open_requests: list[CancellationRequest],
) -> shipments.ShipmentDecision:
    """The parcel of `lines` of the locked `order`, its code claimed; refused for lines that an open
    cancellation request covers (R4.5). The caller saves the decision."""
    code = shipping.check_tracking_code(carrier, tracking_code)
    before = uow.shipments.shipped_quantities(order.id)
    wanted = (
        lines
        if lines is not None
        else {
            line.id: line.active - before.get(line.id, 0)
            for line in order.lines
            if line.active > before.get(line.id, 0)
        }
    )
    cancellation_requests.shipping_lock(wanted, open_requests)
    policy = ctx.policies.get(order.policy_key)
    decision = shipments.dispatch(new_id("shp"), order, seller_id, carrier, code, wanted, before, now, policy)
    shipper = shipping.CodeHolder(order.store_id, order.buyer_id)
    owner = uow.shipments.claim_tracking_code(carrier, code, shipper, now)
    shipping.check_code_reuse(owner, shipper, carrier, code)
    return decision


@dataclass(frozen=True, slots=True)
class ScanReport:
    tracking_code: str
    kind: str
    occurred_at: datetime
    place: Place


@dataclass(frozen=True, slots=True)
class ScanResult:
    accepted: int
    duplicates: int


def record_scans(
    ctx: Context, carrier: str, reports: list[ScanReport], source: str, signature: str | None = None
) -> ScanResult:
    """Apply a batch of scans, all or nothing: unknown codes or impossible times refuse the batch.

    A scan moves only the shipments that hold its code legitimately (`shipping.holds_code`).

    A signed delivery's `signature` is remembered in the same transaction, so a
    replay is refused while a delivery that failed may be retried. A parcel back with the seller
    is refunded (R6.6); the refund is sent to the provider after the commit.
    """
    now = ctx.clock.now()
    with ctx.uow() as uow:
        if signature is not None and not uow.shipments.remember_webhook(carrier, signature, now):
            raise Refused(Refusal("replayed_webhook", "this signed delivery was already received", 409))
        targets: list[tuple[Shipment, Scan]] = []
        returns: dict[str, list[Scan]] = {}
        for report in reports:
            if report.kind not in shipping.SCAN_KINDS:
                raise Refused(
                    Refusal("unknown_scan_kind", f"scan kind must be {one_of(shipping.SCAN_KINDS)}", 422)
                )
            if report.occurred_at > now + shipping.MAX_FUTURE:
                raise Refused(
                    Refusal("scan_in_future", f"scan of {report.tracking_code} is in the future", 422)
                )
            code = report.tracking_code.replace(" ", "").upper()
            owner = uow.shipments.code_owner(carrier, code)
            found = [
                s
                for s, holder in uow.shipments.by_tracking_code(carrier, code)
                if shipping.holds_code(owner, holder)
            ]
            scan = Scan(report.kind, report.occurred_at, report.place)
            if not found and owner is not None and owner.direction == "return":
                returns.setdefault(code, []).append(scan)  # a dispute's return parcel (R7.6)
                continue
            if not found:
                raise Refused(
                    Refusal(
                        "unknown_tracking_code", f"no {carrier} shipment has code {report.tracking_code}", 422
                    )
                )
            targets += [(s, scan) for s in found]
        if returns:  # every order of the batch, parcels' and returns', locked at once in id order:
            # two batches crossing one order's parcel with another's return would deadlock otherwise
            returning = {d.order_id for code in returns for d in uow.disputes.by_return_code(carrier, code)}
            uow.orders.load_orders({s.order_id for s, _ in targets} | returning, lock=True)
        result, after = _apply_scans(uow, ctx, targets, source, now) if targets else (ScanResult(0, 0), [])
        for code, scans in sorted(returns.items()):
            counted = disputes.record_return_scans(uow, ctx, carrier, code, scans, source, now)
            if counted is None:
                raise Refused(Refusal("unknown_tracking_code", f"no {carrier} parcel has code {code}", 422))
            result = ScanResult(result.accepted + counted[0], result.duplicates + counted[1])
    run_after_commit(ctx, after)
    return result


def _apply_scans(
    uow: UnitOfWork, ctx: Context, targets: list[tuple[Shipment, Scan]], source: str, now: datetime
) -> tuple[ScanResult, list[AfterCommit]]:
    order_ids = {s.order_id for s, _ in targets}
    current = uow.orders.load_orders(order_ids, lock=True)  # orders first: the lock order of commands
    known = uow.shipments.scans_of({s.id for s, _ in targets})
    seen = {sid: {scan.identity for scan in scans} for sid, scans in known.items()}
    fresh: list[tuple[str, Scan]] = []
    for s, scan in targets:
        if scan.identity in seen.setdefault(s.id, set()):
            continue
        seen[s.id].add(scan.identity)
        fresh.append((s.id, scan))
        known.setdefault(s.id, []).append(scan)
    uow.shipments.insert_scans(fresh, source, now)
    # States as they stand now that the orders are locked: `targets` were read before the lock, and a
    # concurrent batch may have moved them since (its event must not be written twice).
    parcels = uow.shipments.shipments_of(order_ids)
    locked = {s.id: s for s in parcels}
    touched = {s.id: locked[s.id] for s, _ in targets}
    moved: list[shipments.ShipmentDecision] = []
    for sid, s in touched.items():
        d = shipments.rescan(s, known[sid], now, ctx.policies.get(current[s.order_id].policy_key))
        if d is not None:
            moved.append(d)
    decisions: list[Decision[Any]] = [*moved, *_follow_parcels(uow, ctx, current, parcels, moved, now)]
    uow.save(decisions, now)
    for decided in decisions:
        if isinstance(decided.subject, orders.Order):
            current[decided.subject.id] = decided.subject
    _deliver_orders(uow, ctx, current, now)
    after = [effect for top in decisions for part in top.flatten() for effect in part.after_commit]
    return ScanResult(len(fresh), len(targets) - len(fresh)), after


def _follow_parcels(
    uow: UnitOfWork,
    ctx: Context,
    current: dict[str, orders.Order],
    parcels: list[Shipment],
    moved: list[shipments.ShipmentDecision],
    now: datetime,
) -> list[orders.OrderDecision]:
    """R6.6: what the moved parcels mean for their (locked) orders: notices, a refund for a parcel back
    with the seller, the order returning, returned or resumed (`domain.unclaimed.follow`)."""
    by_order: dict[str, list[shipments.ShipmentDecision]] = defaultdict(list)
    for d in moved:
        by_order[d.subject.order_id].append(d)
    now_parcels = {s.id: s for s in parcels} | {d.subject.id: d.subject for d in moved}
    out = []
    for order_id, mine in sorted(by_order.items()):
        order = current[order_id]
        payment, escrow, refunded = None, 0, frozenset[str]()
        if order.state == orders.OrderState.RETURNING or any(
            d.subject.state == shipping.RETURNED for d in mine
        ):
            payment = uow.payments.captured_payment(order_id)
            escrow = uow.ledger.order_money(order_id, order.currency).in_escrow
            refunded = frozenset(
                r.cause_id
                for r in uow.refunds.refunds_of(order_id)
                if r.cause_type == unclaimed.CAUSE and r.cause_id
            )
        of_order = [s for s in now_parcels.values() if s.order_id == order_id]
        decided = unclaimed.follow(
            order, of_order, mine, payment, escrow, now, ctx.policies.get(order.policy_key), refunded
        )
        if decided is not None:
            out.append(decided)
    return out


def _deliver_orders(uow: UnitOfWork, ctx: Context, current: dict[str, orders.Order], now: datetime) -> None:
    """Orders whose every parcel is now delivered move to delivered (protection may shorten)."""
    by_order: dict[str, list[Shipment]] = defaultdict(list)
    waiting = [oid for oid, o in current.items() if orders.ORDER.find(o.state, "all_delivered")]
    for s in uow.shipments.shipments_of(waiting):
        by_order[s.order_id].append(s)
    decisions = []
    for order_id, parcels in by_order.items():
        delivered_at = shipping.last_delivery([(p.state, p.state_since) for p in parcels])
        if delivered_at is not None:
            order = current[order_id]
            decisions.append(
                orders.all_delivered(order, delivered_at, now, ctx.policies.get(order.policy_key))
            )
    uow.save(decisions, now)


def inject_scan(
    ctx: Context, shipment_id: str, kind: str, occurred_at: datetime | None, place: Place | None
) -> ScanResult:
    """Sandbox carrier: a scan on demand; by default now, at the parcel's destination."""
    with ctx.reading() as uow:
        found = uow.shipments.shipment(shipment_id)
        if found is None:
            raise not_found("shipment", shipment_id)
        order = uow.orders.load_orders([found.order_id])[found.order_id]
    destination = Place(order.address.country, order.address.city, order.address.postal_code)
    report = ScanReport(found.tracking_code, kind, occurred_at or ctx.clock.now(), place or destination)
    return record_scans(ctx, found.carrier, [report], source="sandbox")


def inject_return_scan(
    ctx: Context, dispute_id: str, kind: str, occurred_at: datetime | None, place: Place | None
) -> ScanResult:
    """Sandbox carrier: a scan of a dispute's return parcel (R7.6) on demand, through the carrier's own
    path; by default now, where the order went."""
    with ctx.reading() as uow:
        dispute = uow.disputes.load_dispute(dispute_id)
        order = uow.orders.load_orders([dispute.order_id]).get(dispute.order_id) if dispute else None
    if dispute is None or order is None:
        raise not_found("dispute", dispute_id)
    if dispute.return_carrier is None or dispute.return_tracking_code is None:
        raise Refused(
            Refusal("return_not_shipped", f"dispute {dispute_id} has no return parcel to scan", 409)
        )
    where = place or Place(order.address.country, order.address.city, order.address.postal_code)
    report = ScanReport(dispute.return_tracking_code, kind, occurred_at or ctx.clock.now(), where)
    return record_scans(ctx, dispute.return_carrier, [report], source="sandbox")


def verify_signature(
    ctx: Context, carrier: str, timestamp: str | None, signature: str | None, body: bytes
) -> str:
    """Carrier webhooks are signed: v1=HMAC-SHA256(secret, f"{timestamp}.{body}") in hex.

    Refused: a carrier with no secret, a missing, stale (outside the policy's
    tolerance, by the clock port) or wrong signature. Returns the signature
    to remember against replays (see `record_scans`).
    """
    secret = ctx.carrier_secrets.get(carrier)
    if secret is None:
        raise Refused(Refusal("unknown_carrier", f"no webhook secret is configured for {carrier}", 401))
    if not timestamp or not signature or not timestamp.isdigit():
        raise Refused(Refusal("missing_signature", "send webhook-timestamp and webhook-signature", 401))
    tolerance = ctx.policies.current.policy.shipping.scan_signature_tolerance_seconds
    now = ctx.clock.now()
    if abs(now.timestamp() - int(timestamp)) > tolerance:
        raise Refused(Refusal("stale_signature", f"timestamp is more than {tolerance} s from now", 401))
    expected = sign(secret, timestamp, body)
    offered = [part.strip() for part in signature.split(" ") if part.strip()]
    if not any(hmac.compare_digest(expected, s) for s in offered):
        raise Refused(Refusal("bad_signature", "the signature does not match the body", 401))
    return expected


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"v1={mac}"
