"""What each party is told when a dispute moves: what happened, what they must do, and by when."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orderguard.domain.decision import Event, Notification
from orderguard.domain.money import Money

if TYPE_CHECKING:
    from orderguard.domain.disputes.model import Dispute

# event -> ((recipient, notification kind, text), ...); `{d}` is the dispute, `{data}` the event's
# data, `{amount}` the event's amount as money, `{other}` the party who did not act
TEXTS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "opened": (
        (
            "seller",
            "dispute_opened",
            "The buyer opened dispute {d.id} on order {d.order_id} ({d.reason}) and asks for a "
            "{d.wanted} of {amount}. Answer by {data[answer_by]} UTC (accept, reject or propose your "
            "own solution), or the buyer's request is accepted (R7.3).",
        ),
        (
            "buyer",
            "dispute_opened",
            "Your dispute {d.id} is open. The seller has until {data[answer_by]} UTC to answer; add "
            "photos or video of what you received as evidence.",
        ),
    ),
    "buyer_proposed": (
        (
            "seller",
            "dispute_proposal",
            "The buyer proposes a {data[kind]} of {amount} in dispute {d.id}: "
            "accept or reject it in the dispute.",
        ),
    ),
    "seller_proposed": (
        (
            "buyer",
            "dispute_proposal",
            "The seller proposes a {data[kind]} of {amount} in dispute {d.id}: "
            "accept or reject it in the dispute.",
        ),
    ),
    "buyer_rejected_proposal": (
        (
            "seller",
            "dispute_proposal_rejected",
            "The buyer rejected your proposal in dispute {d.id}. "
            "Without agreement the dispute escalates to the platform.",
        ),
    ),
    "seller_rejected_proposal": (
        (
            "buyer",
            "dispute_proposal_rejected",
            "The seller rejected your proposal in dispute {d.id}. "
            "Without agreement the dispute escalates to the platform.",
        ),
    ),
    "buyer_escalated": (
        (
            "seller",
            "dispute_escalated",
            "The buyer escalated dispute {d.id}: the platform will decide. Add your evidence now.",
        ),
        (
            "buyer",
            "dispute_escalated",
            "Dispute {d.id} is with the platform's arbiter, who may ask you for information.",
        ),
    ),
    "seller_escalated": (
        (
            "buyer",
            "dispute_escalated",
            "The seller escalated dispute {d.id}: the platform will decide. Add your evidence now.",
        ),
        (
            "seller",
            "dispute_escalated",
            "Dispute {d.id} is with the platform's arbiter, who may ask you for information.",
        ),
    ),
    "negotiation_ended": (
        (
            "buyer",
            "dispute_escalated",
            "No agreement in dispute {d.id} after the negotiation period: the "
            "platform's arbiter will decide (R7.4).",
        ),
        (
            "seller",
            "dispute_escalated",
            "No agreement in dispute {d.id} after the negotiation period: the "
            "platform's arbiter will decide (R7.4).",
        ),
    ),
    "info_requested": (
        (
            "{data[party]}",
            "dispute_info_requested",
            "The arbiter of dispute {d.id} asks you: "
            "\u201c{data[question]}\u201d. Answer with a message or evidence by {data[answer_by]} UTC.",
        ),
    ),
    "buyer_info_missed": (
        (
            "buyer",
            "dispute_lost",
            "You did not answer the arbiter of dispute {d.id} in time: you lose the "
            "dispute and it is closed (R7.7).",
        ),
        (
            "seller",
            "dispute_closed",
            "The buyer did not answer the arbiter in time: dispute {d.id} is closed in your favour.",
        ),
    ),
    "seller_info_missed": (
        (
            "seller",
            "dispute_step_lost",
            "You did not answer the arbiter of dispute {d.id} in time: the "
            "arbiter decides without your answer (R7.7).",
        ),
    ),
    "ruled_rejected": (
        ("buyer", "dispute_verdict", "The arbiter rejected dispute {d.id}: {d.rationale}"),
        ("seller", "dispute_verdict", "The arbiter ruled dispute {d.id} in your favour: {d.rationale}"),
    ),
    "ruled_refund": (
        (
            "buyer",
            "dispute_verdict",
            "The arbiter ruled dispute {d.id}: a {d.outcome} of {amount} to your "
            "original payment method. {d.rationale}",
        ),
        (
            "seller",
            "dispute_verdict",
            "The arbiter ruled dispute {d.id} for the buyer: a {d.outcome} of {amount}. {d.rationale}",
        ),
    ),
    "ruled_return": (
        (
            "buyer",
            "dispute_return",
            "The arbiter ruled dispute {d.id}: return the items and give the "
            "return's tracking code by {return_by} UTC; you are refunded {amount} when they arrive. "
            "Return shipping is paid by the {d.return_shipping_paid_by}. {d.rationale}",
        ),
        (
            "seller",
            "dispute_verdict",
            "The arbiter ruled dispute {d.id}: the buyer returns the items and "
            "is refunded {amount} once they arrive; confirm receipt when they do. {d.rationale}",
        ),
    ),
    "return_shipped": (
        (
            "seller",
            "dispute_return_shipped",
            "The buyer shipped the return of dispute {d.id} with "
            "{d.return_carrier}, tracking code {d.return_tracking_code}. Confirm receipt when it arrives.",
        ),
    ),
    "return_delivered": (
        (
            "seller",
            "dispute_return_delivered",
            "The carrier delivered the return of dispute {d.id} to you. "
            "Confirm receipt; without your answer the refund is paid on {refund_on} UTC (R7.6).",
        ),
    ),
    "return_received": (
        (
            "buyer",
            "dispute_resolved",
            "The seller received your return: {amount} is refunded to your "
            "original payment method (dispute {d.id}).",
        ),
    ),
    "return_refund_due": (
        (
            "buyer",
            "dispute_resolved",
            "Your return was delivered and the seller said nothing: {amount} is "
            "refunded to your original payment method (dispute {d.id}).",
        ),
        (
            "seller",
            "dispute_resolved",
            "You did not confirm the return of dispute {d.id}: its delivery "
            "stands as receipt and the buyer is refunded {amount}.",
        ),
    ),
    "return_ship_missed": (
        (
            "buyer",
            "dispute_lost",
            "You did not ship the return of dispute {d.id} in time: you lose the "
            "dispute and it is closed (R7.7).",
        ),
        ("seller", "dispute_closed", "The buyer did not ship the return in time: dispute {d.id} is closed."),
    ),
    "seller_answer_missed": (
        (
            "buyer",
            "dispute_resolved",
            "The seller did not answer dispute {d.id} in time: your request is "
            "accepted and {amount} is refunded to your original payment method (R7.3).",
        ),
        (
            "seller",
            "dispute_lost",
            "You did not answer dispute {d.id} in time: the buyer's request is accepted (R7.3).",
        ),
    ),
    "seller_answer_missed_return": (
        (
            "buyer",
            "dispute_return",
            "The seller did not answer dispute {d.id} in time: your return is "
            "accepted. Ship it and give its tracking code by {return_by} UTC; you are refunded {amount} when "
            "it arrives.",
        ),
        (
            "seller",
            "dispute_lost",
            "You did not answer dispute {d.id} in time: the buyer returns the items "
            "and is refunded when they arrive (R7.3).",
        ),
    ),
}

# a party accepting the other's proposal
for _party, _other in (("buyer", "seller"), ("seller", "buyer")):
    TEXTS[f"{_party}_accepted_refund"] = (
        (
            _other,
            "dispute_resolved",
            f"The {_party} accepted your proposal in dispute {{d.id}}: "
            "{amount} is refunded to the buyer's original payment method.",
        ),
        (
            _party,
            "dispute_resolved",
            "Dispute {d.id} is resolved: {amount} is refunded to the buyer's original payment method.",
        ),
    )
    TEXTS[f"{_party}_accepted_return"] = (
        (
            "buyer",
            "dispute_return",
            "Dispute {d.id} is settled by a return: ship the items and give the "
            "return's tracking code by {return_by} UTC; you are refunded {amount} when they arrive. Return "
            "shipping is paid by the {d.return_shipping_paid_by}.",
        ),
        (
            "seller",
            "dispute_return",
            "Dispute {d.id} is settled by a return: confirm receipt when the "
            "items arrive; the buyer is then refunded {amount}.",
        ),
    )


def notices(dispute: Dispute, event: Event) -> list[Notification]:
    data: dict[str, Any] = event.data
    amount = Money(int(data.get("amount", dispute.outcome_amount or dispute.wanted_amount)), dispute.currency)
    values = {
        "d": dispute,
        "data": data,
        "amount": amount.format(),
        "return_by": _when(data.get("return_by")),
        "refund_on": _when(data.get("refund_on")),
    }
    out = []
    for recipient, kind, text in TEXTS.get(event.kind, ()):
        out.append(Notification(recipient.format(**values), kind, text.format(**values)))
    return out


def _when(value: Any) -> str:
    if value is None:
        return "?"
    if isinstance(value, str):
        return value
    return f"{value:%Y-%m-%d %H:%M}"
