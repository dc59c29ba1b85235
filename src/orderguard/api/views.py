"""How resources look in JSON responses."""

from __future__ import annotations

from typing import Any

from orderguard.app.orders import OrderView
from orderguard.domain.catalogue import Offer, RankedOffer
from orderguard.domain.orders import Action, Order


def offer_json(offer: Offer) -> dict[str, Any]:
    return {
        "id": offer.id,
        "store_id": offer.store_id,
        "product_id": offer.product_id,
        "price": offer.price,
        "currency": offer.currency,
        "stock": offer.stock,
        "handling_days": offer.handling_days,
        "shipping_options": [
            {"id": o.id, "carrier": o.carrier, "price": o.price, "promised_days": o.promised_days}
            for o in offer.shipping_options
        ],
    }


def ranked_json(r: RankedOffer, store_name: str) -> dict[str, Any]:
    return {
        "rank": r.rank,
        "score": r.score,
        "store_name": store_name,
        **offer_json(r.offer),
        "landed_price": r.landed_price,
        "delivery_days": r.delivery_days,
        "best_shipping_option_id": r.best_option.id,
    }


def order_summary(o: Order) -> dict[str, Any]:
    return {
        "id": o.id,
        "status": o.state,
        "store_id": o.store_id,
        "buyer_id": o.buyer_id,
        "currency": o.currency,
        "items_total": o.items_total,
        "shipping_total": o.shipping_total,
        "total": o.total.minor,
        "placed_at": o.placed_at,
        "pay_by_at": o.pay_by_at,
        "policy_version": o.policy_key,
    }


def action_json(a: Action) -> dict[str, Any]:
    return {"action": a.name, "available": a.available, "code": a.code, "reason": a.reason}


def order_json(v: OrderView) -> dict[str, Any]:
    o = v.order
    return {
        **order_summary(o),
        "your_role": str(v.role),
        "lines": [
            {
                "id": ln.id,
                "offer_id": ln.offer_id,
                "product_id": ln.product_id,
                "title": ln.title,
                "unit_price": ln.unit_price,
                "quantity": ln.quantity,
                "shipping_price": ln.shipping_price,
                "carrier": ln.carrier,
                "promised_days": ln.promised_days,
            }
            for ln in o.lines
        ],
        "shipping_address": {
            "name": o.address.name,
            "line1": o.address.line1,
            "line2": o.address.line2,
            "city": o.address.city,
            "postal_code": o.address.postal_code,
            "country": o.address.country,
        },
        "money": {"paid": v.money.paid, "in_escrow": v.money.in_escrow, "refundable": v.money.in_escrow},
        "payments": v.payments,
        "shipments": v.shipments,
        "times": {
            "paid_at": o.paid_at,
            "shipped_at": o.shipped_at,
            "delivered_at": o.delivered_at,
            "protection_ends_at": o.protection_ends_at,
            "completed_at": o.completed_at,
            "dispute_window_ends_at": o.dispute_window_ends_at,
            "closed_at": o.closed_at,
            "cancelled_at": o.cancelled_at,
        },
        "actions": [action_json(a) for a in v.actions],
        "deadlines": [
            {
                "kind": d.kind,
                "due_at": d.due_at,
                "must_act": d.must_act,
                "action_needed": d.action_needed,
                "on_expiry": d.consequence,
                "rule": d.rule,
            }
            for d in v.deadlines
        ],
    }
