"""How resources look in responses: domain objects and app views into the models of api/models.py."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import Response

from orderguard.api import models as m
from orderguard.api import rendering
from orderguard.app.cancellations import RequestView
from orderguard.app.cart import CartView
from orderguard.app.orders import CancellationReasons, DeadlineView, OrderOverview, OrderView, ParcelView
from orderguard.app.proofs import ComplaintView, ProofView
from orderguard.app.refund_views import RefundView
from orderguard.domain.catalogue import Offer, RankedOffer
from orderguard.domain.complaints import Timing
from orderguard.domain.fines import Fine
from orderguard.domain.messages import Message
from orderguard.domain.orders import Action, Order
from orderguard.domain.payments import Payment
from orderguard.domain.shipping import Scan


def offer(o: Offer) -> m.Offer:
    return m.Offer.model_validate(_offer_fields(o))


def _offer_fields(o: Offer) -> dict[str, Any]:
    return {
        "id": o.id,
        "store_id": o.store_id,
        "product_id": o.product_id,
        "price": o.price,
        "currency": o.currency,
        "stock": o.stock,
        "handling_days": o.handling_days,
        "shipping_options": [
            {"id": s.id, "carrier": s.carrier, "price": s.price, "promised_days": s.promised_days}
            for s in o.shipping_options
        ],
    }


def product_offers(
    product: dict[str, str], ranking: str, ranked: list[RankedOffer], store_names: dict[str, str]
) -> Response:
    """The comparison page (`m.ProductOffers`), rendered from its fields (api/rendering.py): a model
    built per offer and per shipping option costs a Python call each."""
    return rendering.render(
        m.ProductOffers,
        {
            "product": product,
            "ranking": ranking,
            "offers": [_ranked_fields(r, store_names.get(r.offer.store_id, "")) for r in ranked],
        },
    )


def _ranked_fields(r: RankedOffer, store_name: str) -> dict[str, Any]:
    return {
        **_offer_fields(r.offer),
        "rank": r.rank,
        "score": r.score,
        "store_name": store_name,
        "landed_price": r.landed_price,
        "delivery_days": r.delivery_days,
        "best_shipping_option_id": r.best_option.id,
    }


def cart(view: CartView) -> m.Cart:
    return m.Cart(last_added_at=view.last_added_at, items=[m.CartItem(**i) for i in view.items])


def _summary_fields(o: Order) -> dict[str, Any]:
    items_total, shipping_total, total = o.totals()
    return {
        "id": o.id,
        "status": o.state,
        "store_id": o.store_id,
        "buyer_id": o.buyer_id,
        "currency": o.currency,
        "items_total": items_total,
        "shipping_total": shipping_total,
        "total": total.minor,
        "placed_at": o.placed_at,
        "pay_by_at": o.pay_by_at,
        "policy_version": o.policy_key,
    }


def order_summary(o: Order) -> m.OrderSummary:
    return m.OrderSummary(**_summary_fields(o))


def order_overview(v: OrderOverview) -> m.OrderOverview:
    return m.OrderOverview(**_overview_fields(v))


def order_page(overviews: list[OrderOverview], next_cursor: str | None) -> Response:
    """A page of a listing (`m.OrderPage`), rendered from its fields (api/rendering.py): 50 orders
    hold about 450 models (orders, actions, deadlines), each a Python call to build and to write."""
    return rendering.render(
        m.OrderPage, {"orders": [_overview_fields(v) for v in overviews], "next_cursor": next_cursor}
    )


def _overview_fields(v: OrderOverview) -> dict[str, Any]:
    return {
        **_summary_fields(v.order),
        "your_role": str(v.role),
        "actions": [_action_fields(a) for a in v.actions],
        "deadlines": [_deadline_fields(d) for d in v.deadlines],
    }


@functools.lru_cache(maxsize=4096)
def action(a: Action) -> m.Action:
    """Built once per distinct action (frozen on both sides): a list of 50 orders holds hundreds of
    actions, mostly the same few unavailable ones with the same reason."""
    return m.Action(**_action_fields(a))


@functools.lru_cache(maxsize=4096)
def _action_fields(a: Action) -> dict[str, Any]:
    """`action`'s fields, built once per distinct action as it is; shared, so never changed."""
    return {"action": a.name, "available": a.available, "code": a.code, "reason": a.reason, "until": a.until}


def payment(p: Payment) -> m.Payment:
    return m.Payment(
        id=p.id,
        order_id=p.order_id,
        method=p.method,
        state=p.state,
        amount=p.amount,
        currency=p.currency,
        provider_ref=p.provider_ref,
        created_at=p.created_at,
        settled_at=p.settled_at,
        failure_reason=p.failure_reason,
    )


def _shipment(p: ParcelView) -> m.Shipment:
    s = p.shipment
    return m.Shipment(
        id=s.id,
        carrier=s.carrier,
        tracking_code=s.tracking_code,
        status=s.state,
        shipped_at=s.shipped_at,
        status_since=s.state_since or s.shipped_at,
        sent_back_by=s.sent_back_by,
        sent_back_at=s.sent_back_at,
        lines=[m.ShipmentLine(line_id=line_id, quantity=q) for line_id, q in s.lines.items()],
        scans=[scan(x) for x in p.scans],
    )


def scan(s: Scan) -> m.Scan:
    return m.Scan(
        kind=s.kind,
        occurred_at=s.occurred_at,
        country=s.place.country,
        city=s.place.city,
        postal_code=s.place.postal_code,
    )


def order(v: OrderView) -> m.Order:
    o = v.order
    return m.Order(
        **_summary_fields(o),
        your_role=str(v.role),
        lines=[
            m.OrderLine(
                id=ln.id,
                offer_id=ln.offer_id,
                product_id=ln.product_id,
                title=ln.title,
                unit_price=ln.unit_price,
                quantity=ln.quantity,
                shipping_price=ln.shipping_price,
                carrier=ln.carrier,
                promised_days=ln.promised_days,
                cancelled_quantity=ln.cancelled,
            )
            for ln in o.lines
        ],
        shipping_address=m.Address(
            name=o.address.name,
            line1=o.address.line1,
            line2=o.address.line2,
            city=o.address.city,
            postal_code=o.address.postal_code,
            country=o.address.country,
        ),
        money=m.OrderMoney(paid=v.money.paid, in_escrow=v.money.in_escrow, refundable=v.money.in_escrow),
        payments=[payment(p) for p in v.payments],
        shipments=[_shipment(s) for s in v.shipments],
        times=m.OrderTimes(
            paid_at=o.paid_at,
            shipped_at=o.shipped_at,
            delivered_at=o.delivered_at,
            protection_ends_at=o.protection_ends_at,
            completed_at=o.completed_at,
            dispute_window_ends_at=o.dispute_window_ends_at,
            closed_at=o.closed_at,
            cancelled_at=o.cancelled_at,
            ship_by_at=o.ship_by_at,
        ),
        actions=[action(a) for a in v.actions],
        deadlines=[deadline(d) for d in v.deadlines],
    )


def cancellation_reasons(v: CancellationReasons) -> m.CancellationReasons:
    return m.CancellationReasons(
        order_id=v.order.id,
        currency=v.order.currency,
        lines=[m.CancellableLine(line_id=c.line_id, quantity=c.quantity, refund=c.refund) for c in v.lines],
        reasons=[
            m.ReasonPreview(
                reason=r.reason, fault=r.fault, consequence=r.consequence, refund=r.refund, fine=r.fine
            )
            for r in v.reasons
        ],
    )


def refund(v: RefundView) -> m.Refund:
    r = v.refund
    assert r.expected_at is not None
    return m.Refund(
        id=r.id,
        order_id=r.order_id,
        payment_id=r.payment_id,
        method=r.method,
        status=r.state,
        amount=r.amount,
        currency=r.currency,
        lines=[m.RefundLine(line_id=x.line_id, quantity=x.quantity, amount=x.amount) for x in r.lines],
        reason=r.reason,
        cause=m.RefundCause(type=r.cause_type, id=r.cause_id),
        provider_ref=r.provider_ref,
        created_at=r.created_at,
        accepted_at=r.accepted_at,
        expected_at=r.expected_at,
        settle_by=r.settle_by,
        settled_at=r.settled_at,
        overdue=v.overdue,
        attempts=r.attempts,
        failure_reason=r.failure_reason,
        deadlines=[deadline(d) for d in v.deadlines],
    )


def deadline(d: DeadlineView) -> m.Deadline:
    return m.Deadline(**_deadline_fields(d))


def _deadline_fields(d: DeadlineView) -> dict[str, Any]:
    return {
        "kind": d.kind,
        "due_at": d.due_at,
        "must_act": d.must_act,
        "action_needed": d.action_needed,
        "on_expiry": d.consequence,
        "rule": d.rule,
    }


def cancellation_request(v: RequestView) -> m.CancellationRequest:
    r = v.request
    rejection = None
    if r.state == "rejected":
        rejection = m.Rejection(
            answer=r.answer or "", carrier=r.carrier, tracking_code=r.tracking_code, shipment_id=r.shipment_id
        )
    return m.CancellationRequest(
        id=r.id,
        order_id=r.order_id,
        status=r.state,
        reason=r.reason,
        fault=r.fault,
        lines=[m.RequestedLine(line_id=k, quantity=q) for k, q in r.lines.items()],
        message=r.message,
        currency=v.currency,
        refund=v.refund,
        fine=v.fine,
        refund_id=r.refund_id,
        fine_id=r.fine_id,
        created_at=r.created_at,
        decided_at=r.decided_at,
        rejection=rejection,
        actions=[action(a) for a in v.actions],
        deadlines=[deadline(d) for d in v.deadlines],
    )


def store_fine(f: Fine) -> m.StoreFine:
    return m.StoreFine(
        id=f.id,
        order_id=f.order_id,
        cause_type=f.cause_type,
        cause_id=f.cause_id,
        reason=f.reason,
        rule=f.rule,
        amount=f.amount,
        currency=f.currency,
        created_at=f.created_at,
    )


def proof_href(proof_id: str) -> str:
    return f"/v1/proof-requests/{proof_id}/proof"


def proof_request(v: ProofView) -> m.ProofRequest:
    p = v.proof
    proof = None
    if p.file_sha256 and p.file_type and p.file_size is not None and p.uploaded_at:
        proof = m.ProofFile(
            sha256=p.file_sha256,
            media_type=p.file_type,
            size=p.file_size,
            uploaded_at=p.uploaded_at,
            href=proof_href(p.id),
        )
    return m.ProofRequest(
        id=p.id,
        order_id=p.order_id,
        cancellation_request_id=p.cancellation_request_id,
        shipment_id=p.shipment_id,
        carrier=p.carrier,
        tracking_code=p.tracking_code,
        status=p.state,
        created_at=p.created_at,
        due_at=p.due_at,
        missed_at=p.missed_at,
        proof=proof,
        your_role=str(v.role),
        actions=[action(a) for a in v.actions],
        deadlines=[deadline(d) for d in v.deadlines],
    )


def _times(t: Timing) -> m.AnswerTimes:
    return m.AnswerTimes(
        count=t.total,
        answered=t.answered,
        missed=t.missed,
        waiting=t.waiting,
        median_hours=t.median_hours,
        slowest_hours=t.slowest_hours,
    )


def complaint(v: ComplaintView) -> m.Complaint:
    c, p = v.complaint, v.proof
    return m.Complaint(
        id=c.id,
        kind=c.kind,
        status=c.state,
        message=c.message,
        buyer_id=c.buyer_id,
        created_at=c.created_at,
        order=order_summary(v.order),
        store=m.ComplaintStore(id=c.store_id, name=v.store_name, seller_id=v.seller_id),
        proof_request=m.ComplaintProof(
            id=p.id,
            status=p.state,
            cancellation_request_id=p.cancellation_request_id,
            carrier=p.carrier,
            tracking_code=p.tracking_code,
            created_at=p.created_at,
            due_at=p.due_at,
            missed_at=p.missed_at,
        )
        if p
        else None,
        seller_record=m.SellerRecord(
            store_id=v.record.store_id,
            cancellation_requests=_times(v.record.cancellation_requests),
            proof_requests=_times(v.record.proof_requests),
        ),
    )


def message(msg: Message) -> m.Message:
    return m.Message(
        id=msg.id,
        order_id=msg.order_id,
        author_id=msg.author_id,
        author_role=msg.author_role,
        body=msg.body,
        created_at=msg.created_at,
    )
