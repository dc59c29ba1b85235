"""The dispute lifecycle (§7): its states, its transitions and the timers on them.

    negotiating --agreed on a refund------------------> resolved
    negotiating --agreed on a return------------------> awaiting_return
    negotiating --5 days without the seller's answer--> resolved | awaiting_return (R7.3)
    negotiating --7 days without agreement, or a party after 3 days--> escalated (R7.4)
    escalated ----verdict: refund --------------------> resolved (R7.5)
    escalated ----verdict: refund on return ----------> awaiting_return
    escalated ----verdict: rejected, or the buyer misses an information request--> closed (R7.7)
    awaiting_return --the seller confirms receipt, or 5 days after delivery back--> resolved (R7.6)
    awaiting_return --10 days without the return's tracking code--> closed (R7.7)

`resolved` means the buyer was refunded (in full or in part); `closed` means the dispute ended
with nothing for the buyer. Both are final: a dispute never reopens, and its lines can never be
disputed again (R7.7).

Acts of the buyer and of the seller are separate events (`buyer_…`, `seller_…`), because a table
row names the one actor that may take it. Timers that depend on a step within a state (the seller
has not answered yet; a party was asked for information; the return is not shipped yet; it was
delivered back) are due from a field that the step sets or clears; `Machine.rearm` arms and
cancels their rows as the field changes.
"""

from __future__ import annotations

from enum import StrEnum

from orderguard.domain.machine import Actor, Due, Machine, T, Timer

B, S, A, SYS = Actor.BUYER, Actor.SELLER, Actor.ADMIN, Actor.SYSTEM


class DisputeState(StrEnum):
    NEGOTIATING = "negotiating"
    ESCALATED = "escalated"
    AWAITING_RETURN = "awaiting_return"
    RESOLVED = "resolved"
    CLOSED = "closed"


class DisputeDeadline(StrEnum):
    SELLER_ANSWER_BY = "seller_answer_by"
    ESCALATION = "escalation"
    BUYER_INFO_BY = "buyer_info_by"
    SELLER_INFO_BY = "seller_info_by"
    RETURN_SHIP_BY = "return_ship_by"
    RETURN_REFUND_AT = "return_refund_at"


OPEN_STATES = frozenset({DisputeState.NEGOTIATING, DisputeState.ESCALATED, DisputeState.AWAITING_RETURN})

SELLER_ANSWER_BY = Timer(
    DisputeDeadline.SELLER_ANSWER_BY,
    Due("seller_answer_from", "the dispute was opened", "disputes.seller_answer_days"),
    S,
    "answer the dispute: accept or reject the buyer's proposal, or make your own",
    "the buyer's request is accepted and carried out: the refund is paid, or the return begins",
)
ESCALATION = Timer(
    DisputeDeadline.ESCALATION,
    Due("opened_at", "the dispute was opened", "disputes.negotiation_days"),
    None,
    "agree: accept the other side's latest proposal",
    "the dispute escalates to the platform's arbitration",
)
BUYER_INFO_BY = Timer(
    DisputeDeadline.BUYER_INFO_BY,
    Due(
        "buyer_info_requested_at",
        "the arbiter asked the buyer",
        "disputes.information_request_hours",
        "hours",
    ),
    B,
    "answer the arbiter with a message or evidence",
    "the buyer loses the dispute: it is closed with no refund",
)
SELLER_INFO_BY = Timer(
    DisputeDeadline.SELLER_INFO_BY,
    Due(
        "seller_info_requested_at",
        "the arbiter asked the seller",
        "disputes.information_request_hours",
        "hours",
    ),
    S,
    "answer the arbiter with a message or evidence",
    "the seller loses that step: the arbiter decides without the seller's answer",
)
RETURN_SHIP_BY = Timer(
    DisputeDeadline.RETURN_SHIP_BY,
    Due("return_requested_at", "the return was agreed or ruled", "disputes.return_ship_days"),
    B,
    "ship the return and give its carrier and tracking code",
    "the buyer loses the dispute: it is closed with no refund",
)
RETURN_REFUND_AT = Timer(
    DisputeDeadline.RETURN_REFUND_AT,
    Due("return_delivered_at", "the carrier delivered the return", "disputes.return_receipt_silence_days"),
    S,
    "confirm that the return arrived",
    "the seller's silence confirms it: the refund is paid",
)


def _both(source: str, event: str, target: str, rule: str) -> tuple[T, T]:
    """The same step, taken by the buyer or by the seller."""
    return T(source, f"buyer_{event}", target, B, rule), T(source, f"seller_{event}", target, S, rule)


N, E, R = DisputeState.NEGOTIATING, DisputeState.ESCALATED, DisputeState.AWAITING_RETURN

DISPUTE = Machine(
    "dispute",
    (
        *_both(N, "proposed", N, "R7.2"),
        *_both(N, "rejected_proposal", N, "R7.2"),
        *_both(N, "accepted_refund", DisputeState.RESOLVED, "R7.2"),
        *_both(N, "accepted_return", R, "R7.2"),
        *_both(N, "escalated", E, "R7.4"),
        T(N, "seller_answer_missed", DisputeState.RESOLVED, SYS, "R7.3", SELLER_ANSWER_BY),
        T(N, "seller_answer_missed_return", R, SYS, "R7.3"),
        T(N, "negotiation_ended", E, SYS, "R7.4", ESCALATION),
        # the parties may still settle while the arbiter looks at the case
        *_both(E, "proposed", E, "R7.2"),
        *_both(E, "rejected_proposal", E, "R7.2"),
        *_both(E, "accepted_refund", DisputeState.RESOLVED, "R7.2"),
        *_both(E, "accepted_return", R, "R7.2"),
        T(E, "info_requested", E, A, "R7.5"),
        *_both(E, "gave_info", E, "R7.5"),
        T(E, "buyer_info_missed", DisputeState.CLOSED, SYS, "R7.7", BUYER_INFO_BY),
        T(E, "seller_info_missed", E, SYS, "R7.7", SELLER_INFO_BY),
        T(E, "ruled_refund", DisputeState.RESOLVED, A, "R7.5"),
        T(E, "ruled_return", R, A, "R7.5"),
        T(E, "ruled_rejected", DisputeState.CLOSED, A, "R7.5"),
        T(R, "return_shipped", R, B, "R7.6"),
        T(R, "return_delivered", R, SYS, "R7.6"),
        T(R, "return_received", DisputeState.RESOLVED, S, "R7.6"),
        T(R, "return_refund_due", DisputeState.RESOLVED, SYS, "R7.6", RETURN_REFUND_AT),
        T(R, "return_ship_missed", DisputeState.CLOSED, SYS, "R7.7", RETURN_SHIP_BY),
    ),
    terminal=frozenset({DisputeState.RESOLVED, DisputeState.CLOSED}),
)
