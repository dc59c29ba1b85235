"""Cancellation after payment, before shipment (§4): reasons, who is at fault, and what each costs.

The reasons and their fault are policy (`[cancellation.reasons]`). What a cancellation would cost
is shown before the buyer asks (R4.2), for the quantities still cancellable: paid and not shipped.

Refund of a cancellation: the items cancelled at their unit price, plus a line's shipping price
when the whole line is cancelled and none of it was shipped (a line's shipping price covers its
whole quantity; once part of it is on its way, the parcel's cost is spent). So cancelling every
line of an unshipped order refunds everything paid. A seller-fault cancellation fines the seller
the policy rate of that refund (5 %), rounded half up, at least the policy minimum (1.00 in the
order's currency); a buyer-fault one fines nobody (R4.3).
"""

from __future__ import annotations

from dataclasses import dataclass

from orderguard.domain.machine import Refusal, Refused
from orderguard.domain.money import Money
from orderguard.domain.orders import Order, OrderState
from orderguard.domain.policy import Policy

CANCELLABLE_STATES = frozenset({OrderState.AWAITING_SHIPMENT, OrderState.PARTLY_SHIPPED})

CONSEQUENCES = {
    "buyer": "No one is fined: the buyer asks to cancel for their own reason. The seller may still "
    "refuse if the order is already being prepared.",
    "seller": "The seller will be fined {fine} if the cancellation goes through; sellers often refuse "
    "such requests.",
}


@dataclass(frozen=True, slots=True)
class CancellableLine:
    line_id: str
    quantity: int  # paid and not shipped
    refund: int  # what cancelling all of it returns, in minor units


@dataclass(frozen=True, slots=True)
class ReasonPreview:
    reason: str
    fault: str  # "buyer" | "seller"
    consequence: str
    refund: int
    fine: int


def cancellable_lines(order: Order, shipped: dict[str, int]) -> list[CancellableLine]:
    """The lines with paid, unshipped quantities, and the refund of cancelling all of each."""
    if order.state not in CANCELLABLE_STATES:
        raise Refused(_why_not(order))
    out = []
    for line in order.lines:
        left = line.quantity - shipped.get(line.id, 0)
        if left > 0:
            shipping = line.shipping_price if left == line.quantity else 0
            out.append(CancellableLine(line.id, left, left * line.unit_price + shipping))
    return out


def fine(refund: int, fault: str, currency: str, policy: Policy) -> int:
    """R4.3: a seller-fault cancellation fines the policy rate of what it refunds, at least the minimum."""
    if fault != "seller" or refund == 0:
        return 0
    rate = Money(refund, currency).bps(policy.cancellation.seller_fault_fine_bps).minor
    return max(rate, policy.cancellation.seller_fault_fine_min_minor)


def preview(order: Order, shipped: dict[str, int], policy: Policy) -> list[ReasonPreview]:
    """R4.2: every reason of the policy with its fault, consequence, refund and fine for this order."""
    refund = sum(line.refund for line in cancellable_lines(order, shipped))
    out = []
    for reason, fault in policy.cancellation.reasons.items():
        charged = fine(refund, fault, order.currency, policy)
        text = CONSEQUENCES[fault].format(fine=Money(charged, order.currency).format())
        out.append(ReasonPreview(reason, fault, text, refund, charged))
    return out


def _why_not(order: Order) -> Refusal:
    if order.state in {OrderState.AWAITING_PAYMENT, OrderState.PAYMENT_PENDING}:
        return Refusal(
            "order_not_paid",
            "The order is not paid: cancel it directly, without sanctions (R3.4).",
        )
    if order.state == OrderState.CANCELLED:
        return Refusal("order_cancelled", "The order is cancelled.")
    return Refusal(
        "order_shipped",
        "After shipment neither buyer nor seller can cancel; open a dispute if something is wrong (R6.3).",
    )
