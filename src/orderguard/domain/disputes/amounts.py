"""What a dispute's outcomes are worth, in minor units: the stated formulas (R7.2, R7.5, R7.6).

For the disputed lines, each `quantity` of a line at `unit_price`:

- items value  I = Σ quantity * unit_price
- dispute value V = I + the shipping price of every line disputed in full (all of its quantity:
  a line's shipping price covers the whole line, as for cancellations)
- return postage allowance P = Σ shipping price of the disputed lines: what sending them one way
  cost; added to a refund on return when the seller pays the return shipping.

Outcomes:
- full refund: V;
- partial refund proposed by a party: the amount it names (at least 0.01, at most V);
- partial refund ruled by the arbiter at a share s % (1 ≤ s ≤ 100) of how far the item differs
  from its description: round_half_up(I * s / 100). The share applies to the items, not to the
  shipping: the parcel did arrive;
- return and refund: V, plus P when the seller pays the return shipping (the buyer pays it by
  default and then bears it);
- rejected: nothing.

Every amount is then capped at what is still refundable: the order's escrow balance under its
lock (refunds granted earlier have left it), so refunds never add up to more than was captured
(R5.3). A refund is split over the disputed lines in proportion to each line's disputed value, by
largest remainder (`money.split_proportionally`), so its lines add up to it exactly.
"""

from __future__ import annotations

from orderguard.domain.disputes.model import Outcome, Payer
from orderguard.domain.money import Money, split_proportionally
from orderguard.domain.orders import Order
from orderguard.domain.refunds import RefundLine


def _line(order: Order, line_id: str) -> tuple[int, int, int]:
    line = next(x for x in order.lines if x.id == line_id)
    return line.unit_price, line.shipping_price, line.active


def items_value(order: Order, lines: dict[str, int]) -> int:
    return sum(q * _line(order, line_id)[0] for line_id, q in lines.items())


def line_value(order: Order, line_id: str, quantity: int) -> int:
    price, shipping, active = _line(order, line_id)
    return quantity * price + (shipping if quantity == active else 0)


def dispute_value(order: Order, lines: dict[str, int]) -> int:
    return sum(line_value(order, line_id, q) for line_id, q in lines.items())


def postage_allowance(order: Order, lines: dict[str, int]) -> int:
    return sum(_line(order, line_id)[1] for line_id in lines)


def outcome_amount(
    kind: str, order: Order, lines: dict[str, int], amount: int, payer: str | None, refundable: int
) -> int:
    """What an outcome of `kind` refunds (a partial refund: `amount`), within `refundable`."""
    if kind == Outcome.FULL_REFUND:
        worth = dispute_value(order, lines)
    elif kind == Outcome.PARTIAL_REFUND:
        worth = amount
    else:
        extra = postage_allowance(order, lines) if payer == Payer.SELLER else 0
        worth = dispute_value(order, lines) + extra
    return max(min(worth, refundable), 0)


def share_amount(order: Order, lines: dict[str, int], share_percent: int, refundable: int) -> int:
    """The arbiter's partial refund: `share_percent` of the items value, rounded half up, capped."""
    ruled = Money(items_value(order, lines), order.currency).bps(share_percent * 100).minor
    return max(min(ruled, refundable), 0)


def refund_lines(order: Order, lines: dict[str, int], amount: int, kind: str) -> list[RefundLine]:
    """`amount` split over the disputed lines in proportion to their value; a partial refund
    gives back no quantities."""
    ordered = sorted(lines.items())
    weights = [line_value(order, line_id, q) for line_id, q in ordered]
    parts = split_proportionally(amount, weights) if sum(weights) > 0 else [0] * len(weights)
    partial = kind == Outcome.PARTIAL_REFUND
    return [
        RefundLine(line_id, 0 if partial else q, part)
        for (line_id, q), part in zip(ordered, parts, strict=True)
    ]
