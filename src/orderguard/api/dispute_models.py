"""Response schemas of the dispute endpoints (R7.1 to R7.8); amounts in the dispute's `currency`."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Literal, TypeAlias

from pydantic import Field

from orderguard.api.models import Action, Deadline, Message, OrderSummary, Out, Role, Scan, _states
from orderguard.domain.disputes import DISPUTE

if TYPE_CHECKING:
    DisputeStatus: TypeAlias = StrEnum
else:
    DisputeStatus = _states("DisputeStatus", DISPUTE)

DisputeMinor = Annotated[int, Field(description="amount in minor units of the dispute's `currency`")]
Kind = Literal["full_refund", "partial_refund", "return_and_refund"]


class DisputeLine(Out):
    line_id: str
    quantity: int


class Proposal(Out):
    id: str
    author_role: Literal["buyer", "seller"]
    kind: Kind
    amount: DisputeMinor = Field(
        description="what it refunds (a return: once the items are back), in minor units of the "
        "order's `currency`"
    )
    return_shipping_paid_by: Literal["buyer", "seller"] | None
    note: str
    status: Literal["open", "accepted", "rejected", "superseded", "lapsed"] = Field(
        description="`superseded`: its author proposed again; `lapsed`: the dispute ended another way"
    )
    created_at: datetime
    answered_at: datetime | None


class Evidence(Out):
    id: str
    author_role: Literal["buyer", "seller"]
    media_type: Literal["image/jpeg", "image/png", "image/webp", "video/mp4", "video/webm"] = Field(
        description="recognised from the content, not from the name or the declared type"
    )
    size: int = Field(description="bytes")
    sha256: str = Field(description="SHA-256 of the file, hex")
    filename: str = Field(description="as uploaded, without any path")
    uploaded_at: datetime
    href: str = Field(description="where the two parties and administrators download it")


class InfoRequest(Out):
    party: Literal["buyer", "seller"]
    question: str
    requested_at: datetime


class ReturnParcel(Out):
    paid_by: Literal["buyer", "seller"] = Field(description="who pays the return shipping")
    carrier: str | None
    tracking_code: str | None
    shipped_at: datetime | None
    delivered_at: datetime | None = Field(description="when the carrier delivered it to the seller")


class Dispute(Out):
    id: str
    order_id: str
    buyer_id: str
    store_id: str
    status: DisputeStatus = Field(
        description="`resolved`: the buyer was refunded (in full or in part); `closed`: it ended with "
        "nothing for the buyer. Both are final (R7.7)."
    )
    reason: str
    currency: str
    lines: list[DisputeLine]
    wanted: Kind = Field(description="what the buyer asks for (their latest proposal)")
    wanted_amount: DisputeMinor = Field(description="what that is worth, in minor units of `currency`")
    description: str
    opened_at: datetime
    escalated_at: datetime | None
    escalated_by: Literal["buyer", "seller", "system"] | None
    info_requests: list[InfoRequest] = Field(description="the arbiter's unanswered questions")
    outcome: Literal["full_refund", "partial_refund", "return_and_refund", "rejected"] | None
    outcome_amount: DisputeMinor = Field(
        description="the refund of the outcome (a return: on arrival), in minor units of `currency`"
    )
    decided_by: Literal["agreement", "seller_silence", "verdict", "buyer_missed_deadline"] | None
    rationale: str | None = Field(description="the arbiter's words")
    return_parcel: ReturnParcel | None = Field(description="the return, once one is agreed or ruled")
    ended_at: datetime | None
    refund_id: str | None
    refunded: DisputeMinor
    fine_id: str | None
    fined: DisputeMinor = Field(
        description="the seller's fine for losing the arbitration, in minor units of `currency`"
    )
    proposals: list[Proposal] = Field(description="oldest first")
    evidence: list[Evidence] = Field(description="oldest first")
    your_role: Role
    actions: list[Action] = Field(description="what the caller can do now, and why not")
    deadlines: list[Deadline]


class DisputePage(Out):
    disputes: list[Dispute] = Field(description="newest first")
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last")


class OrderDisputes(Out):
    order_id: str
    disputes: list[Dispute] = Field(description="oldest first")


class ParcelScans(Out):
    id: str
    carrier: str
    tracking_code: str
    status: str
    scans: list[Scan] = Field(description="in the order they occurred")


class DisputeRecord(Out):
    """How a party's disputes stand and ended."""

    open: int = Field(description="not ended yet")
    resolved: int = Field(description="ended with a refund to the buyer")
    closed: int = Field(description="ended with nothing for the buyer")
    by_verdict: int = Field(description="of those ended, ruled by an arbiter")
    by_missed_deadline: int = Field(
        description="of those ended, by a missed deadline: the buyer's (closed) or the seller's answer "
        "(resolved)"
    )


class DisputeFile(Out):
    """Everything an arbiter sees (R7.5)."""

    dispute: Dispute
    order: OrderSummary
    messages: list[Message] = Field(description="the dispute's messages, oldest first")
    shipments: list[ParcelScans]
    return_scans: list[Scan]
    buyer_record: DisputeRecord = Field(description="the buyer's disputes, this one included")
    seller_record: DisputeRecord = Field(description="the store's disputes, this one included")


class DisputeFilePage(Out):
    disputes: list[DisputeFile] = Field(description="escalated: oldest escalation first")
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last")
