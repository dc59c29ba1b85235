"""Disputes (R7.1 to R7.8): opening, negotiation, escalation, arbitration and returns."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from orderguard.api import dispute_models as dm
from orderguard.api import dispute_views, downloads, models, views
from orderguard.api.auth import context, current_principal
from orderguard.api.dispute_schemas import (
    DisputeIn,
    EvidenceUploadIn,
    InfoRequestIn,
    ProposalIn,
    ReturnShipmentIn,
    VerdictIn,
)
from orderguard.api.problems import errors
from orderguard.api.routing import ApiRoute
from orderguard.api.schemas import Cursor, MessageIn, PathId, SandboxScanIn
from orderguard.app import disputes, shipping
from orderguard.app.context import Context, Principal
from orderguard.app.sandbox import virtual_clock
from orderguard.domain.machine import Refusal, Refused
from orderguard.domain.shipping import Place

router = APIRouter(prefix="/v1", tags=["disputes"], route_class=ApiRoute)

# The upload route, for the request guard's larger body limit (api/app_factory.py).
UPLOAD_PATH = re.compile(r"/v1/disputes/[^/]+/evidence")
MULTIPART_ALLOWANCE = 64 * 1024  # boundaries and part headers around the file, beyond the policy's limit

_FILE_RESPONSE = downloads.file_responses(disputes.EVIDENCE_TYPES, "evidence")
Limit = Annotated[int, Query(ge=1, le=200)]
Status = Annotated[
    str | None,
    Query(
        description="only disputes in this state", json_schema_extra={"enum": sorted(disputes.DISPUTE.states)}
    ),
]


@router.post(
    "/orders/{order_id}/disputes",
    status_code=201,
    operation_id="openDispute",
    responses=errors(400, 401, 403, 404, 409, 413, 415, 422),
)
def open_dispute(
    order_id: PathId,
    body: DisputeIn,
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> dm.Dispute:
    """R7.1: the buyer disputes shipped lines, from shipment until protection ends, or within the 15
    days after completion (409 `dispute_window_closed` after; `order_not_shipped` before every line
    has shipped). A line is disputed once, ever (409 `line_already_disputed`). What the buyer wants
    is their first proposal; the seller has 5 days to answer it (R7.3)."""
    lines = None
    if body.lines is not None:
        lines = {ln.line_id: ln.quantity for ln in body.lines}
        if len(lines) != len(body.lines):
            raise Refused(Refusal("duplicate_line", "each line may appear once per dispute", 422))
    view = disputes.open_dispute(
        ctx, who, order_id, body.reason, lines, body.wanted, body.amount, body.return_shipping_paid_by,
        body.description,
    )  # fmt: skip
    return dispute_views.dispute(view)


@router.get("/orders/{order_id}/disputes", operation_id="listOrderDisputes", responses=errors(401, 404, 422))
def list_order_disputes(
    order_id: PathId, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> dm.OrderDisputes:
    """The order's disputes, oldest first."""
    found = disputes.disputes_of_order(ctx, who, order_id)
    return dm.OrderDisputes(order_id=order_id, disputes=[dispute_views.dispute(v) for v in found])


@router.get("/disputes", operation_id="listDisputes", responses=errors(401, 422))
def list_disputes(
    status: Status = None,
    cursor: Cursor = None,  # type: ignore[assignment]
    limit: Limit = 50,
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> dm.DisputePage:
    """The caller's disputes, newest first: a buyer's own, a seller's stores', every one for an admin."""
    page = disputes.list_disputes(ctx, who, status, cursor, limit)
    return dm.DisputePage(
        disputes=[dispute_views.dispute(v) for v in page.disputes], next_cursor=page.next_cursor
    )


@router.get("/disputes/{dispute_id}", operation_id="getDispute", responses=errors(401, 404, 422))
def get_dispute(
    dispute_id: PathId, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> dm.Dispute:
    """The dispute with its proposals, evidence, what the caller can do and its deadlines."""
    return dispute_views.dispute(disputes.get_dispute(ctx, who, dispute_id))


@router.get(
    "/disputes/{dispute_id}/messages", operation_id="listDisputeMessages", responses=errors(401, 404, 422)
)
def list_messages(
    dispute_id: PathId,
    cursor: Cursor = None,  # type: ignore[assignment]
    limit: Limit = 50,
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> models.MessagePage:
    """The dispute's messages, oldest first: the two parties and administrators read them."""
    page = disputes.list_messages(ctx, who, dispute_id, cursor, limit)
    return models.MessagePage(
        order_id=page.order_id,
        messages=[views.message(m) for m in page.messages],
        next_cursor=page.next_cursor,
    )


@router.post(
    "/disputes/{dispute_id}/messages",
    status_code=201,
    operation_id="postDisputeMessage",
    responses=errors(400, 401, 403, 404, 409, 413, 415, 422),
)
def post_message(
    dispute_id: PathId,
    body: MessageIn,
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> models.Message:
    """R7.2: a party writes in the dispute; the other is notified. It also answers the arbiter's open
    request to them (R7.5). On an ended dispute: 409 `dispute_ended`."""
    return views.message(disputes.post_message(ctx, who, dispute_id, body.body))


@router.post(
    "/disputes/{dispute_id}/evidence",
    status_code=201,
    operation_id="addDisputeEvidence",
    responses=errors(400, 401, 403, 404, 409, 413, 415, 422),
)
async def add_evidence(
    dispute_id: PathId,
    body: Annotated[EvidenceUploadIn, File()],
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> dm.Evidence:
    """R7.2: a party adds a photo (JPEG, PNG, WebP) or video (MP4, WebM) as `multipart/form-data`
    with one `file`. Its type is recognised from its content: one that is not what its name or
    declared type says is refused (422 `file_type_mismatch`), as are an empty (`file_empty`),
    larger (`file_too_large`), truncated or other (`unsupported_file_type`) file. The SHA-256 and
    the upload time are recorded; only the parties and administrators can download it."""
    file = body.file
    data = await file.read()
    evidence = await run_in_threadpool(
        disputes.add_evidence, ctx, who, dispute_id, data, file.content_type, file.filename
    )
    return dispute_views.evidence(evidence)


@router.get(
    "/disputes/{dispute_id}/evidence/{evidence_id}",
    operation_id="getDisputeEvidence",
    response_class=Response,
    responses={**_FILE_RESPONSE, **errors(401, 404, 422)},
)
def get_evidence(
    dispute_id: PathId,
    evidence_id: PathId,
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> Response:
    """An evidence file, for the two parties and administrators."""
    found = disputes.evidence_file(ctx, who, dispute_id, evidence_id)
    return downloads.attachment(found.data, found.media_type, f"evidence-{evidence_id}", found.sha256)


@router.post(
    "/disputes/{dispute_id}/proposals",
    status_code=201,
    operation_id="proposeSolution",
    responses=errors(400, 401, 403, 404, 409, 413, 415, 422),
)
def propose(
    dispute_id: PathId,
    body: ProposalIn,
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> dm.Dispute:
    """R7.2: a party offers a full refund, a partial refund (an amount up to what the disputed lines
    are worth and what is still refundable: 422 `amount_exceeds_disputed`, `refund_exceeds_refundable`)
    or a return and refund, naming who pays the return shipping. It replaces the party's earlier
    open proposal. The seller's first proposal answers the dispute (R7.3)."""
    view = disputes.propose(
        ctx, who, dispute_id, body.kind, body.amount, body.return_shipping_paid_by, body.note
    )
    return dispute_views.dispute(view)


@router.post(
    "/proposals/{proposal_id}/accept",
    operation_id="acceptProposal",
    responses=errors(401, 403, 404, 409, 413, 422),
)
def accept_proposal(
    proposal_id: PathId, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> dm.Dispute:
    """R7.2: the other party accepts the proposal: the dispute is resolved and its outcome carried
    out (a refund now; a return first). Its author: 403 `own_proposal`; answered or replaced: 409
    `proposal_answered`."""
    return dispute_views.dispute(disputes.answer_proposal(ctx, who, proposal_id, accept=True))


@router.post(
    "/proposals/{proposal_id}/reject",
    operation_id="rejectProposal",
    responses=errors(401, 403, 404, 409, 413, 422),
)
def reject_proposal(
    proposal_id: PathId, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> dm.Dispute:
    """R7.2: the other party rejects the proposal; the negotiation goes on."""
    return dispute_views.dispute(disputes.answer_proposal(ctx, who, proposal_id, accept=False))


@router.post(
    "/disputes/{dispute_id}/escalate",
    operation_id="escalateDispute",
    responses=errors(401, 403, 404, 409, 413, 422),
)
def escalate(
    dispute_id: PathId, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> dm.Dispute:
    """R7.4: a party hands the dispute to the platform's arbiter, once the policy minimum (3 days)
    has passed (409 `escalation_too_early` before). It escalates by itself after 7 days."""
    return dispute_views.dispute(disputes.escalate(ctx, who, dispute_id))


@router.post(
    "/disputes/{dispute_id}/info-requests",
    status_code=201,
    operation_id="requestDisputeInfo",
    responses=errors(400, 401, 403, 404, 409, 413, 415, 422),
)
def request_info(
    dispute_id: PathId,
    body: InfoRequestIn,
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> dm.Dispute:
    """R7.5: an administrator asks a party for information; they have 48 hours to answer with a
    message or evidence. A buyer who does not loses the dispute; a seller loses that step (R7.7)."""
    return dispute_views.dispute(disputes.request_info(ctx, who, dispute_id, body.party, body.question))


@router.post(
    "/disputes/{dispute_id}/verdict",
    operation_id="ruleDispute",
    responses=errors(400, 401, 403, 404, 409, 413, 415, 422),
)
def rule(
    dispute_id: PathId,
    body: VerdictIn,
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> dm.Dispute:
    """R7.5: an administrator rules an escalated dispute: `full_refund`, `partial_refund` with a
    `share` (1-100 % of the disputed items' value, rounded half up, never above what is still
    refundable), `refund_on_return` (the buyer pays the return shipping unless the verdict says
    otherwise) or `rejected`. A seller who loses on a seller-fault reason is fined the policy rate."""
    view = disputes.rule(
        ctx, who, dispute_id, body.outcome, body.share, body.return_shipping_paid_by, body.rationale
    )
    return dispute_views.dispute(view)


@router.post(
    "/disputes/{dispute_id}/return-shipment",
    operation_id="shipReturn",
    responses=errors(400, 401, 403, 404, 409, 413, 415, 422),
)
def ship_return(
    dispute_id: PathId,
    body: ReturnShipmentIn,
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> dm.Dispute:
    """R7.6: the buyer gives the return's carrier and tracking code (within 10 days of the return
    being agreed or ruled). The code is checked like any other (format, S10 check digit) and must
    be new: a code already used, in either direction, is 409 `tracking_code_in_use`. Its scans
    arrive through the carrier webhook."""
    view = disputes.ship_return(ctx, who, dispute_id, body.carrier, body.tracking_code)
    return dispute_views.dispute(view)


@router.post(
    "/disputes/{dispute_id}/return-received",
    operation_id="confirmReturn",
    responses=errors(401, 403, 404, 409, 413, 422),
)
def return_received(
    dispute_id: PathId, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> dm.Dispute:
    """R7.6: the seller confirms the return arrived: the refund is paid. Without this, it is paid 5
    days after the carrier reports the return delivered."""
    return dispute_views.dispute(disputes.return_received(ctx, who, dispute_id))


@router.get(
    "/admin/disputes",
    tags=["disputes"],
    operation_id="listAdminDisputes",
    responses=errors(401, 403, 422),
)
def admin_disputes(
    status: Status = None,
    cursor: Cursor = None,  # type: ignore[assignment]
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> dm.DisputeFilePage:
    """R7.5: administrators' queue. With `status=escalated`, oldest escalation first; each dispute
    comes with its whole file: messages, proposals, evidence, shipment scans, the return's scans
    and both parties' dispute records."""
    found, next_cursor = disputes.admin_disputes(ctx, who, status, cursor, limit)
    return dm.DisputeFilePage(
        disputes=[dispute_views.dispute_file(f) for f in found], next_cursor=next_cursor
    )


@router.post(
    "/sandbox/disputes/{dispute_id}/return-scans",
    tags=["sandbox"],
    operation_id="injectReturnScan",
    responses=errors(400, 404, 409, 413, 415, 422),
)
def sandbox_return_scan(
    dispute_id: PathId, body: SandboxScanIn, ctx: Context = Depends(context)
) -> models.ScanResult:
    """Sandbox carrier: a scan of the dispute's return parcel (default: now). `delivered` means it
    reached the seller: the seller's 5 days to confirm receipt start (R7.6)."""
    virtual_clock(ctx)
    place = Place(body.place.country, body.place.city, body.place.postal_code) if body.place else None
    result = shipping.inject_return_scan(ctx, dispute_id, body.kind, body.occurred_at, place)
    return models.ScanResult(accepted=result.accepted, duplicates=result.duplicates)
