"""Cancellation after payment, before shipment (§4): reasons, who is at fault, and what each costs.

The reasons and their fault are policy (`[cancellation.reasons]`). What a cancellation would cost
is shown before the buyer asks (R4.2), for the quantities still cancellable: paid and not shipped.

Refund of a cancellation: the items cancelled at their unit price, plus a line's shipping price
when the cancellation leaves none of the line in the order and none of it was shipped (a line's
shipping price covers its whole quantity; once part of it is on its way, the parcel's cost is
spent). So cancelling every line of an unshipped order, at once or request by request, refunds
everything paid, and a partial cancellation keeps the shipping of the lines that go on.

A seller-fault cancellation fines the seller the policy rate of that refund (5 %), rounded half
up, at least the policy minimum (1.00 in the order's currency); a buyer-fault one fines nobody (R4.3).
"""

from __future__ import annotations

from dataclasses import dataclass

from orderguard.domain import fines
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
        left = line.active - shipped.get(line.id, 0)
        if left > 0:
            out.append(CancellableLine(line.id, left, line_refund(order, line.id, left, shipped)))
    return out


def line_refund(order: Order, line_id: str, quantity: int, shipped: dict[str, int]) -> int:
    """What cancelling `quantity` of the line returns: the items, and the line's shipping when
    nothing of the line remains and none of it was shipped."""
    line = next(x for x in order.lines if x.id == line_id)
    whole = line.cancelled + quantity == line.quantity and shipped.get(line_id, 0) == 0
    return quantity * line.unit_price + (line.shipping_price if whole else 0)


def check_quantities(order: Order, wanted: dict[str, int], shipped: dict[str, int]) -> None:
    """Every line must be the order's, each quantity at least 1 and within what can still be cancelled."""
    left = {c.line_id: c.quantity for c in cancellable_lines(order, shipped)}
    known = {line.id for line in order.lines}
    if not wanted:
        raise Refused(Refusal("no_lines", "name at least one line, or none for the whole order", 422))
    for line_id, quantity in wanted.items():
        if line_id not in known:
            raise Refused(Refusal("unknown_line", f"line {line_id} is not in this order", 422))
        if quantity <= 0:
            raise Refused(Refusal("invalid_quantity", "cancelled quantities must be at least 1", 422))
        if quantity > left.get(line_id, 0):
            raise Refused(
                Refusal(
                    "quantity_exceeds_cancellable",
                    f"line {line_id} has {left.get(line_id, 0)} paid and unshipped, not {quantity}",
                    422,
                )
            )


def fine(refund: int, fault: str, currency: str, policy: Policy) -> int:
    """R4.3: a seller-fault cancellation fines the policy rate of what it refunds, at least the minimum."""
    if fault != "seller":
        return 0
    c = policy.cancellation
    return fines.rate(refund, c.seller_fault_fine_bps, currency, c.seller_fault_fine_min_minor)


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
