"""Unclaimed and refused parcels (R6.6): a parcel goes back to the seller, and its lines are refunded
once it is back.

A parcel goes back in one of three ways, each ending in the shipment state `returning`:
- its storage at the pickup point runs out: an `at_pickup_point` scan starts it, for the policy's
  `shipping.pickup_storage_days` (30) from the scan's time (the STORAGE_END timer of the SHIPMENT
  table); the platform then sends the parcel back (`storage_ended`);
- the buyer refuses it, any time before it is delivered (label created, accepted, in transit, at a
  pickup point): `POST /v1/orders/{id}/refuse-parcel`, one parcel or every parcel still on its way;
- the carrier reports it `returned_to_sender` by itself.
The carrier's `delivered_to_sender` scan makes it `returned`: it is back with the seller.

The refund, when a parcel is back: for each line it carries, the items at their unit price, plus
the shipping the buyer paid for those units, less the return shipping cost. A line's shipping is
shared over its quantity with the remainder going to the last units back, so a line that comes
back in several parcels refunds its shipping exactly once. The return shipping cost is, by the
policy's `shipping.unclaimed_refund` = `minus_return_shipping` (the default), that same shipping:
the seller paid the carrier both ways, so the shipping the buyer paid is kept and the buyer gets
the items back; with `full` the shipping is refunded too. The refund goes to the captured payment
(R3.6), through `refunds.grant` with the cause `unclaimed_parcel` and an id derived from the
parcel, so a parcel is refunded once however often its return is reported; it is never more than
the order's escrow still holds.

The order (decided here for every parcel that moves, and at the protection and dispute-window
deadlines, domain/orders/commands.py): a shipped, delivered or completed order whose parcel is on
its way back is `returning`: protection, completion and the payout are suspended (their deadlines
cancelled), so neither the protection deadline nor the close can pay the seller in full for goods
coming back. When no parcel is on its way back any more:
- every parcel is back: the order has ended, `returned`; what its escrow still holds (the return
  shipping kept) goes to the seller, less the commission;
- otherwise it goes on with what the buyer has: `completed` again if it was (its dispute window as
  it was), else `shipped`, protection ending no sooner than `after_delivery_protection_days` from
  then.
A partly shipped order is not suspended (protection has not started; the seller still ships the
rest): a parcel coming back is refunded all the same, and if the order is fully shipped meanwhile,
the protection and dispute-window deadlines find the parcel on its way back and suspend it then.
Neither protection nor the dispute window (a buyer may confirm receipt before collecting) ends
while a parcel waits at a pickup point: each runs on until `after_delivery_protection_days` after
the storage ends, as if the parcel were delivered then; by then it is collected or on its way back.

Each party is told what happened and what they must do by when (R8.5): the buyer when a parcel
reaches the pickup point (collect it by the end of its storage, or refuse it), both parties when a
parcel goes back (what the buyer will be refunded) and when it is back (what was refunded).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from orderguard.domain import orders, refunds
from orderguard.domain.decision import Decision, Notification, take
from orderguard.domain.machine import Actor, Facts, Refusal, Refused
from orderguard.domain.money import Money
from orderguard.domain.orders import ORDER, Action, Order, OrderDecision, OrderState
from orderguard.domain.payments import Payment
from orderguard.domain.policy import Policy
from orderguard.domain.refunds import Refund, RefundLine
from orderguard.domain.shipments import Shipment, ShipmentDecision
from orderguard.domain.shipping import AT_PICKUP_POINT, REFUSABLE, RETURNED, RETURNING, SHIPMENT, STORAGE_END
from orderguard.ids import derived_id

B, SYS = Actor.BUYER, Actor.SYSTEM
CAUSE = "unclaimed_parcel"  # the refund's cause type (refunds.CAUSES)
CARRIER_RETURN = "returned_to_sender"  # a return the carrier started by itself
# how the parcel went back -> the refund's reason
REASONS = {
    "refused": "parcel_refused",
    "storage_ended": "parcel_not_collected",
    CARRIER_RETURN: CARRIER_RETURN,
}


@dataclass(frozen=True, slots=True)
class ReturnRefund:
    """What a parcel back with the seller refunds: per line, and in total."""

    lines: tuple[RefundLine, ...]
    items: int  # the units at their unit price
    shipping: int  # the shipping the buyer paid for these units
    kept: int  # of it, kept as the return shipping cost (0 when the policy refunds in full)

    @property
    def amount(self) -> int:
        return self.items + self.shipping - self.kept


def return_refund(
    order: Order, parcel: Shipment, back_before: dict[str, int], policy: Policy
) -> ReturnRefund:
    """The refund of `parcel`'s lines when it is back; `back_before` holds, per line, the units that
    came back earlier in other parcels (the last units back take the remainder of the shipping)."""
    full = policy.shipping.unclaimed_refund == "full"
    by_id = {line.id: line for line in order.lines}
    lines, items_total, shipping_total, kept_total = [], 0, 0, 0
    for line_id, quantity in sorted(parcel.lines.items()):
        line = by_id[line_id]
        items = quantity * line.unit_price
        shipping = _shipping_share(line.shipping_price, line.active, back_before.get(line_id, 0), quantity)
        kept = 0 if full else shipping
        lines.append(RefundLine(line_id, quantity, items + shipping - kept))
        items_total += items
        shipping_total += shipping
        kept_total += kept
    return ReturnRefund(tuple(lines), items_total, shipping_total, kept_total)


def _shipping_share(price: int, active: int, before: int, quantity: int) -> int:
    """The line's shipping `price` for `quantity` of its `active` units, `before` of them counted
    already: the floors of the running shares, so the shares add up to the price exactly."""
    if active <= 0:
        return 0
    done, upto = min(before, active), min(before + quantity, active)
    return price * upto // active - price * done // active


def _add(into: dict[str, int], lines: dict[str, int]) -> None:
    for line_id, quantity in lines.items():
        into[line_id] = into.get(line_id, 0) + quantity


# --- what moving parcels mean for the order --------------------------------------------------


def follow(
    order: Order,
    parcels: Sequence[Shipment],
    moved: Sequence[ShipmentDecision],
    payment: Payment | None,
    refundable: int,
    now: datetime,
    policy: Policy,
    refunded: frozenset[str] = frozenset(),
) -> OrderDecision | None:
    """The consequences of the `moved` parcels of `order` (`parcels`: all of them, as they now are).

    Each moved parcel's decision gains its notices, and a parcel back with the seller its refund (in
    `also`, at most `refundable`, the order's escrow), unless it is one of the parcels `refunded`
    already (scans reported out of order may take a parcel back and forth). The order's own decision
    is returned: returning while a parcel is on its way back, and once none is, returned or resumed
    (see the module).
    """
    moving = {d.subject.id for d in moved}
    back: dict[str, int] = {}  # per line, the units back with the seller in parcels refunded before
    for p in parcels:
        if p.state == RETURNED and p.id not in moving:
            _add(back, p.lines)
    for d in sorted(moved, key=lambda d: d.subject.id):
        parcel = d.subject
        if parcel.state not in (AT_PICKUP_POINT, RETURNING, RETURNED):
            continue
        quote = return_refund(order, parcel, back, policy)
        granted = None
        if parcel.state == RETURNED:
            if parcel.id in refunded:  # back again in the fold: refunded the first time
                _add(back, parcel.lines)
                continue
            granted = _grant(order, parcel, quote, payment, refundable, now, policy)
            if granted is not None:
                d.also.append(granted)
                refundable -= granted.subject.amount
            _add(back, parcel.lines)
        amount = granted.subject.amount if granted else 0 if parcel.state == RETURNED else quote.amount
        facts = {
            "cause": _cause(parcel),
            "refund": amount,
            "return_shipping": quote.kept,
            "refund_id": granted.subject.id if granted else None,
        }
        if d.events and parcel.state != AT_PICKUP_POINT:  # the event that moved it records the money
            d.events[-1] = replace(d.events[-1], data={**d.events[-1].data, **facts})
        d.notifications.extend(_notices(parcel, order, amount, quote.kept, policy))
    returning = any(p.state == RETURNING for p in parcels)
    came_back = any(d.subject.state == RETURNED for d in moved)  # perhaps without a scan in between
    decided = None
    if (returning or came_back) and ORDER.find(order.state, "parcel_returning") is not None:
        decided = orders.parcel_returning(order, now, policy)  # not when partly shipped (see the module)
    current = decided.subject if decided else order
    if not returning and current.state == OrderState.RETURNING:
        ended = orders.return_ended(current, list(parcels), refundable, now, policy)
        decided = decided.then(ended) if decided else ended
    return decided


def _cause(parcel: Shipment) -> str:
    return parcel.sent_back_by or CARRIER_RETURN


def _grant(
    order: Order,
    parcel: Shipment,
    quote: ReturnRefund,
    payment: Payment | None,
    refundable: int,
    now: datetime,
    policy: Policy,
) -> Decision[Refund] | None:
    lines = refunds.within(quote.lines, refundable)
    amount = sum(line.amount for line in lines)
    if amount <= 0:
        return None  # nothing to give back (the items were free, or the escrow is gone)
    if payment is None:
        raise ValueError(f"order {order.id} is shipped but has no captured payment")
    return refunds.grant(
        derived_id("rfd", CAUSE, parcel.id), order, payment, lines, amount, REASONS[_cause(parcel)], CAUSE,
        parcel.id, refundable, now, policy,
    )  # fmt: skip


# --- the buyer refuses ---------------------------------------------------------------------------


def refuse(
    order: Order,
    parcels: Sequence[Shipment],
    shipment_id: str | None,
    buyer_id: str,
    now: datetime,
    policy: Policy,
) -> list[ShipmentDecision]:
    """The buyer refuses the parcel `shipment_id` (None: every parcel not delivered yet): it goes back
    to the seller at once. Refused with the reason of `refuse_action`."""
    if order.buyer_id != buyer_id:
        raise Refused(Refusal("order_not_found", "no such order", 404))
    why = _why_not_order(order, parcels)
    if why is not None:
        raise Refused(why)
    chosen = [p for p in parcels if shipment_id is None or p.id == shipment_id]
    if not chosen:
        raise Refused(Refusal("shipment_not_found", f"order {order.id} has no shipment {shipment_id}", 404))
    refusable = [p for p in chosen if p.state in REFUSABLE]
    if not refusable:
        raise Refused(_why_not_parcels(chosen))
    return [_send_back(p, "refused", B, buyer_id, {"was": p.state}, now, policy) for p in refusable]


def _send_back(
    parcel: Shipment,
    event: str,
    by: Actor,
    actor_id: str | None,
    data: dict[str, Any],
    now: datetime,
    policy: Policy,
) -> ShipmentDecision:
    """The platform sends `parcel` back (`refused`, `storage_ended`): recorded on the shipment, so that
    the carrier's later scans of the way back are folded after it (domain/shipping.py)."""
    data = {"tracking_code": parcel.tracking_code, "carrier": parcel.carrier, **data}
    return take(
        SHIPMENT, parcel, event, by, actor_id, now, policy, data,
        sent_back_by=event, sent_back_at=now, state_since=now,
    )  # fmt: skip


def refuse_action(order: Order, parcels: Sequence[Shipment]) -> Action:
    """Whether the buyer can refuse a parcel of the order now, and if not, why."""
    why = _why_not_order(order, parcels)
    if why is None and not any(p.state in REFUSABLE for p in parcels):
        why = _why_not_parcels(parcels)
    if why is None:
        return Action("refuse_parcel", True)
    return orders.refused("refuse_parcel", why)


_NOT_SHIPPED = frozenset(
    {OrderState.AWAITING_PAYMENT, OrderState.PAYMENT_PENDING, OrderState.AWAITING_SHIPMENT}
)


_CANCELLED = Refusal("order_cancelled", "The order is cancelled.")
_NOTHING_SHIPPED = Refusal(
    "order_not_shipped", "Nothing of the order has been shipped yet: there is no parcel to refuse."
)
_COMPLETED = Refusal(
    "order_completed",
    "Receipt is confirmed or protection has ended: open a dispute if something is wrong (R6.6).",
)
_RETURNED = Refusal("order_returned", "Every parcel of the order went back to the seller (R6.6).")


def _why_not_order(order: Order, parcels: Sequence[Shipment]) -> Refusal | None:
    if order.state == OrderState.CANCELLED:
        return _CANCELLED
    if order.state in _NOT_SHIPPED or not parcels:
        return _NOTHING_SHIPPED
    if order.state in (OrderState.COMPLETED, OrderState.CLOSED):
        return _COMPLETED
    if order.state == OrderState.RETURNED:
        return _RETURNED
    return None


def _why_not_parcels(parcels: Sequence[Shipment]) -> Refusal:
    if all(p.state == "delivered" for p in parcels):
        return Refusal(
            "parcel_delivered",
            "The parcel was delivered: it can no longer be refused; open a dispute if something is "
            "wrong (R6.6).",
        )
    return Refusal(
        "parcel_returning",
        "No parcel is left to refuse: each is delivered, or already on its way back to the seller (R6.6).",
    )


# --- the storage at the pickup point runs out ----------------------------------------------------


@SHIPMENT.on_expiry("storage_ended")
def storage_ended(parcel: Shipment, now: datetime, policy: Policy, facts: Facts) -> ShipmentDecision:
    """R6.6: the parcel was not collected within the storage days: the platform sends it back."""
    d = _send_back(
        parcel, "storage_ended", SYS, None, {"storage_days": policy.shipping.pickup_storage_days}, now, policy
    )
    order = facts.order(parcel.order_id)
    parcels = [d.subject if p.id == parcel.id else p for p in facts.parcels(order.id)]
    entailed = follow(
        order, parcels, [d], facts.captured_payment(order.id), facts.escrow(order.id), now, policy
    )
    if entailed is not None:
        d.also.append(entailed)
    return d


# --- what each party is told (R8.5) ---------------------------------------------------------------

# how the parcel went back, as each party is told it
_WHAT = {
    ("buyer", "refused"): "You refused parcel {code} of order {order}: it goes back to the seller.",
    ("seller", "refused"): "The buyer refused parcel {code} of order {order}: it is on its way back to you.",
    ("buyer", "storage_ended"): "Parcel {code} of order {order} was not collected within {days} days at "
    "the pickup point: it goes back to the seller.",
    ("seller", "storage_ended"): "Parcel {code} of order {order} was not collected within {days} days at "
    "the pickup point: it is on its way back to you.",
    ("buyer", CARRIER_RETURN): "The carrier is sending parcel {code} of order {order} back to the seller.",
    ("seller", CARRIER_RETURN): "The carrier is sending parcel {code} of order {order} back to you.",
}
# shipment state -> (recipient, notification kind, text) for each party told
TEXTS: dict[str, tuple[tuple[str, str, str], ...]] = {
    AT_PICKUP_POINT: (
        (
            "buyer",
            "parcel_at_pickup_point",
            "Parcel {code} of order {order} is waiting for you at the pickup point: collect it by "
            "{storage_ends:%Y-%m-%d %H:%M} UTC. If it is not collected by then it goes back to the seller, "
            "and once it is back you are refunded {refund}{less}. You may also refuse it.",
        ),
    ),
    RETURNING: (
        (
            "buyer",
            "parcel_returning",
            "{what} Once it is back with the seller you are refunded {refund}{less}, to the way you paid; "
            "the order waits until then. Nothing to do.",
        ),
        (
            "seller",
            "parcel_returning",
            "{what} When the carrier reports it delivered back to you, the buyer is refunded "
            "{refund}{less_seller}; the order is paid out to you on what remains. Nothing to do.",
        ),
    ),
    RETURNED: (
        (
            "buyer",
            "parcel_returned",
            "Parcel {code} of order {order} is back with the seller: {refund} is refunded to the way you "
            "paid{less}.",
        ),
        (
            "seller",
            "parcel_returned",
            "Parcel {code} of order {order} is back with you: the buyer is refunded {refund}{less_seller}.",
        ),
    ),
}


def _notices(parcel: Shipment, order: Order, refund: int, kept: int, policy: Policy) -> list[Notification]:
    def money(minor: int) -> str:
        return Money(minor, order.currency).format()

    full = policy.shipping.unclaimed_refund == "full"
    fields: dict[str, Any] = {
        "code": parcel.tracking_code,
        "order": order.id,
        "days": policy.shipping.pickup_storage_days,
        "refund": money(refund),
        "storage_ends": STORAGE_END.due.at(parcel, policy),
        "less": " (in full)"
        if full
        else f" ({money(kept)} of the shipping you paid is kept for the return shipping)"
        if kept
        else "",
        "less_seller": " in full"
        if full
        else f"; {money(kept)} of the shipping they paid stays with you for the return shipping"
        if kept
        else "",
    }
    out = []
    for recipient, kind, text in TEXTS.get(parcel.state, ()):
        what = _WHAT.get((recipient, _cause(parcel)), "").format(**fields)
        out.append(Notification(recipient, kind, text.format(what=what, **fields)))
    return out
