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
from datetime import datetime
from typing import Any

from orderguard.domain import cancellation_requests, fines, orders, refunds
from orderguard.domain.cancellation_requests import CANCELLATION_REQUEST, CancellationRequest
from orderguard.domain.decision import Decision
from orderguard.domain.fines import Fine
from orderguard.domain.machine import Facts, Refusal, Refused
from orderguard.domain.money import Money
from orderguard.domain.orders import ORDER, Action, Line, Order, OrderDecision, OrderState
from orderguard.domain.payments import Payment
from orderguard.domain.policy import Policy
from orderguard.domain.refunds import Refund, RefundLine
from orderguard.ids import derived_id

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
        left = _unshipped(line, shipped)
        if left > 0:
            out.append(CancellableLine(line.id, left, line_refund(order, line.id, left, shipped)))
    return out


def _unshipped(line: Line, shipped: dict[str, int]) -> int:
    """What of the line the order still holds and has not shipped (paid: what can be cancelled)."""
    return line.active - shipped.get(line.id, 0)


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


def request_action(order: Order, shipped: dict[str, int], open_requests: list[CancellationRequest]) -> Action:
    """R4.1: whether the buyer can ask to cancel some of the order now, and if not, why."""
    if order.state not in CANCELLABLE_STATES:
        return orders.refused("request_cancellation", _why_not(order))
    covered = cancellation_requests.covered_lines(open_requests)
    if all(line.id in covered for line in order.lines if _unshipped(line, shipped) > 0):
        return Action(
            "request_cancellation",
            False,
            "cancellation_already_requested",
            "Every unshipped line is in an open cancellation request: wait for the seller's answer.",
        )
    return Action("request_cancellation", True)


_NOT_PAID = Refusal(
    "order_not_paid", "The order is not paid: cancel it directly, without sanctions (R3.4)."
)
_CANCELLED = Refusal("order_cancelled", "The order is cancelled.")
_SHIPPED = Refusal(
    "order_shipped",
    "After shipment neither buyer nor seller can cancel; open a dispute if something is wrong (R6.3).",
)


def _why_not(order: Order) -> Refusal:
    if order.state in {OrderState.AWAITING_PAYMENT, OrderState.PAYMENT_PENDING}:
        return _NOT_PAID
    if order.state == OrderState.CANCELLED:
        return _CANCELLED
    return _SHIPPED


# --- carrying a cancellation out ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Carried:
    """What cancelling quantities of a paid order decides: the order, the refund, the fine."""

    order: OrderDecision
    refund: Decision[Refund] | None
    fine: Decision[Fine] | None
    refunded: int
    fined: int

    @property
    def entailed(self) -> list[Decision[Any]]:
        return [d for d in (self.order, self.refund, self.fine) if d is not None]


def carry_out(
    order: Order,
    quantities: dict[str, int],
    shipped: dict[str, int],
    payment: Payment | None,
    refundable: int,
    cause: tuple[str, str],
    reason: str,
    fined: int,
    rule: str,
    now: datetime,
    policy: Policy,
    *,
    ship_by_missed: bool = False,
) -> Carried:
    """Cancel `quantities` (checked), refund them to the original payment, fine the seller `fined`.

    `cause` is (cause type, cause id): the refund's and the fine's ids follow from it, so one
    decision can never refund or fine twice. The refund is never more than the escrow still holds
    (money refunded outside a cancellation has already left it): the last lines give way first.
    """
    cause_type, cause_id = cause
    lines = refunds.within(
        [
            RefundLine(line_id, q, line_refund(order, line_id, q, shipped))
            for line_id, q in sorted(quantities.items())
        ],
        refundable,
    )
    amount = sum(line.amount for line in lines)
    refund = None
    if amount > 0:
        if payment is None:
            raise ValueError(f"order {order.id} is paid but has no captured payment")
        refund = refunds.grant(
            derived_id("rfd", cause_type, cause_id), order, payment, lines, amount, reason, cause_type,
            cause_id, refundable, now, policy,
        )  # fmt: skip
    fine = None
    if fined > 0:
        fine = fines.charge(
            order.store_id, order.id, cause_type, cause_id, reason, rule, fined, order.currency, now
        )
    data: dict[str, Any] = {
        "cause": cause_type,
        "cause_id": cause_id,
        "refund": amount,
        "refund_id": refund.subject.id if refund else None,
        "fine": fined,
    }
    cancelled = orders.cancel_lines(
        order, quantities, shipped, now, policy, data, ship_by_missed=ship_by_missed
    )
    return Carried(cancelled, refund, fine, amount, fined)


def approve(
    request: CancellationRequest,
    order: Order,
    seller_id: str | None,
    shipped: dict[str, int],
    payment: Payment | None,
    refundable: int,
    now: datetime,
    policy: Policy,
) -> Decision[CancellationRequest]:
    """R4.3 (the seller, `seller_id`) or R4.4 (silence, None): the request's quantities are
    cancelled and refunded; a seller-fault reason fines the seller."""
    check_quantities(order, request.lines, shipped)
    value = sum(line_refund(order, line_id, q, shipped) for line_id, q in request.lines.items())
    carried = carry_out(
        order,
        request.lines,
        shipped,
        payment,
        refundable,
        ("cancellation_request", request.id),
        request.reason,
        fine(value, request.fault, order.currency, policy),
        "R4.3",
        now,
        policy,
    )
    decided = cancellation_requests.approved(
        request,
        seller_id,
        order.currency,
        (carried.refund.subject.id if carried.refund else None, carried.refunded),
        (carried.fine.subject.id if carried.fine else None, carried.fined),
        now,
        policy,
    )
    decided.also.extend(carried.entailed)
    return decided


@CANCELLATION_REQUEST.on_expiry("auto_approved")
def answer_window_passed(
    request: CancellationRequest, now: datetime, policy: Policy, facts: Facts
) -> Decision[CancellationRequest]:
    """R4.4: the seller did not answer within 72 hours: silence is consent."""
    order = facts.order(request.order_id)
    return approve(
        request,
        order,
        None,
        facts.shipped(order.id),
        facts.captured_payment(order.id),
        facts.escrow(order.id),
        now,
        policy,
    )


@ORDER.on_expiry("ship_by_missed")
def ship_by_missed(order: Order, now: datetime, policy: Policy, facts: Facts) -> OrderDecision:
    """R4.8: paid time + handling days passed with quantities unshipped: the seller loses them.

    Every unshipped quantity is cancelled and refunded in full (a line's shipping too when none of
    it was shipped, as for any cancellation), the seller is fined the policy rate of that refund,
    and open cancellation requests of the order are closed as overtaken.
    """
    shipped = facts.shipped(order.id)
    left = {line.id: line.active - shipped.get(line.id, 0) for line in order.lines}
    quantities = {line_id: q for line_id, q in left.items() if q > 0}
    value = sum(line_refund(order, line_id, q, shipped) for line_id, q in quantities.items())
    carried = carry_out(
        order,
        quantities,
        shipped,
        facts.captured_payment(order.id),
        facts.escrow(order.id),
        ("missed_ship_by", order.id),
        "missed_ship_by",
        fines.rate(value, policy.cancellation.missed_ship_by_fine_bps, order.currency),
        "R4.8",
        now,
        policy,
        ship_by_missed=True,
    )
    decided = carried.order
    decided.also.extend(d for d in (carried.refund, carried.fine) if d is not None)
    decided.also.extend(
        cancellation_requests.overtaken(r, now, policy) for r in facts.open_requests(order.id)
    )
    return decided
