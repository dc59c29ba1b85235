"""A dispute and its proposals, as the rules see them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from orderguard.domain.disputes.table import OPEN_STATES


class DisputeReason(StrEnum):
    NOT_RECEIVED = "not_received"
    NOT_AS_DESCRIBED = "not_as_described"
    DAMAGED = "damaged"
    WRONG_ITEM = "wrong_item"
    MISSING_PARTS = "missing_parts"
    COUNTERFEIT = "counterfeit"


class Outcome(StrEnum):
    """What a proposal offers, what the buyer wants, and what a verdict rules."""

    FULL_REFUND = "full_refund"
    PARTIAL_REFUND = "partial_refund"
    RETURN_AND_REFUND = "return_and_refund"


class Verdict(StrEnum):
    FULL_REFUND = "full_refund"
    PARTIAL_REFUND = "partial_refund"
    REFUND_ON_RETURN = "refund_on_return"
    REJECTED = "rejected"


class Payer(StrEnum):
    BUYER = "buyer"
    SELLER = "seller"


@dataclass(frozen=True, slots=True)
class Dispute:
    lifecycle: ClassVar[str] = "dispute"

    id: str
    order_id: str
    buyer_id: str
    store_id: str
    state: str
    reason: str
    fault: str  # "seller" | "none", from the policy when opened: whether losing it fines the seller
    lines: dict[str, int]  # order line id -> disputed quantity
    wanted: str  # an Outcome: what the buyer asked for
    wanted_amount: int  # for a partial refund: the amount asked; otherwise what the outcome is worth
    description: str
    currency: str
    opened_at: datetime
    seller_answer_from: datetime | None = None  # opened_at until the seller first answers (R7.3)
    escalated_at: datetime | None = None
    escalated_by: str | None = None  # buyer | seller | system
    buyer_info_requested_at: datetime | None = None  # R7.5: an open information request
    buyer_info_question: str | None = None
    seller_info_requested_at: datetime | None = None
    seller_info_question: str | None = None
    # the agreed or ruled outcome
    outcome: str | None = None  # Outcome, or "rejected"
    outcome_amount: int = 0  # the refund it pays (for a return: paid when the return arrives)
    return_shipping_paid_by: str | None = None  # Payer, for a return
    decided_by: str | None = None  # agreement | seller_silence | verdict | buyer_missed_deadline
    rationale: str | None = None  # the arbiter's words
    # the return (R7.6)
    return_requested_at: datetime | None = None  # the 10 days run from here until it is shipped
    return_carrier: str | None = None
    return_tracking_code: str | None = None
    return_shipped_at: datetime | None = None
    return_delivered_at: datetime | None = None  # the carrier delivered it back to the seller
    # the end
    ended_at: datetime | None = None
    refund_id: str | None = None
    refunded: int = 0
    fine_id: str | None = None
    fined: int = 0

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


@dataclass(frozen=True, slots=True)
class Proposal:
    """An offer of one party to settle the dispute; the other party accepts or rejects it."""

    lifecycle: ClassVar[str] = "dispute_proposal"

    id: str
    dispute_id: str
    order_id: str
    author_role: str  # buyer | seller
    author_id: str
    state: str
    kind: str  # an Outcome
    amount: int  # what it refunds (for a return: on arrival), as computed when proposed
    return_shipping_paid_by: str | None
    note: str
    created_at: datetime
    answered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Evidence:
    """A photo or video a party uploaded to the dispute (R7.2); the file is kept by its SHA-256."""

    id: str
    dispute_id: str
    order_id: str
    author_id: str
    author_role: str
    sha256: str
    media_type: str
    size: int
    filename: str
    uploaded_at: datetime


@dataclass(frozen=True, slots=True)
class ReturnScan:
    """A carrier scan of a dispute's return parcel."""

    kind: str
    occurred_at: datetime
    country: str
    city: str = ""
    postal_code: str = ""
