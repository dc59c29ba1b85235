"""Request bodies of the dispute endpoints (R7.1 to R7.6)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import UploadFile
from pydantic import Field

from orderguard.api.schemas import (
    BEYOND_64_BITS,
    JSON_NUMBER,
    Body,
    CancellationLineIn,
    Carrier,
    Line,
    Paragraphs,
)

Reason = Literal["not_received", "not_as_described", "damaged", "wrong_item", "missing_parts", "counterfeit"]
Wanted = Literal["full_refund", "partial_refund", "return_and_refund"]
Payer = Literal["buyer", "seller"]
Amount = Annotated[
    int,
    Field(ge=1, lt=BEYOND_64_BITS, description="minor units of the order's currency; a partial refund only"),
    JSON_NUMBER,
]


class DisputeLineIn(CancellationLineIn):
    """A disputed line and quantity (at most what the line holds)."""


class DisputeIn(Body):
    reason: Reason
    lines: Annotated[list[DisputeLineIn], Field(min_length=1, max_length=200)] | None = Field(
        None, description="the disputed lines and quantities; omit for every line, all of it"
    )
    wanted: Wanted = Field(description="what the buyer wants (R7.1)")
    amount: Amount | None = Field(None, description="with `partial_refund`: the amount asked")
    return_shipping_paid_by: Payer | None = Field(
        None, description="with `return_and_refund`: who pays the return shipping (the buyer by default)"
    )
    description: Paragraphs(4000) = Field(description="what is wrong, in the buyer's words")  # type: ignore[valid-type]


class ProposalIn(Body):
    kind: Wanted
    amount: Amount | None = Field(None, description="with `partial_refund`: the amount offered")
    return_shipping_paid_by: Payer | None = Field(
        None, description="with `return_and_refund`: who pays the return shipping (the buyer by default)"
    )
    note: Paragraphs(2000) = ""  # type: ignore[valid-type]


class InfoRequestIn(Body):
    party: Payer = Field(description="who is asked; they have 48 hours to answer with a message or evidence")
    question: Paragraphs(2000)  # type: ignore[valid-type]


class VerdictIn(Body):
    outcome: Literal["full_refund", "partial_refund", "refund_on_return", "rejected"]
    share: Annotated[int, Field(ge=1, le=100), JSON_NUMBER] | None = Field(
        None,
        description="with `partial_refund`: the whole percent of the disputed items' value refunded, "
        "from 1 to 100 (see the formula in the docs)",
    )
    return_shipping_paid_by: Payer | None = Field(
        None, description="with `refund_on_return`: who pays the return shipping (the buyer by default)"
    )
    rationale: Paragraphs(4000)  # type: ignore[valid-type]


class ReturnShipmentIn(Body):
    carrier: Carrier
    tracking_code: Line(40, min_length=1)  # type: ignore[valid-type]


class EvidenceUploadIn(Body):
    """A photo or video of the dispute, sent as `multipart/form-data`."""

    file: UploadFile = Field(
        description="a JPEG, PNG or WebP photo or an MP4 or WebM video, at most the policy's "
        "`disputes.evidence_max_bytes` (25 MiB by default); its type is recognised from its content"
    )
