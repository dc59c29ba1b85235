"""Proof of dispatch (R4.6) and complaints to the administration."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from orderguard.api import downloads, models, views
from orderguard.api.auth import context, current_principal
from orderguard.api.problems import errors
from orderguard.api.routing import ApiRoute
from orderguard.api.schemas import ComplaintIn, Cursor, PathId, ProofRequestIn, ProofUploadIn
from orderguard.app import proofs
from orderguard.app.context import Context, Principal
from orderguard.domain import proof_requests

router = APIRouter(prefix="/v1", tags=["proof of dispatch"], route_class=ApiRoute)

# The upload route, for the request guard's larger body limit (api/app_factory.py).
UPLOAD_PATH = re.compile(r"/v1/proof-requests/[^/]+/proof")
MULTIPART_ALLOWANCE = 64 * 1024  # boundaries and part headers around the file, beyond the policy's limit

_ACCEPTED = sorted(proof_requests.ACCEPTED)
_FILE_RESPONSE = downloads.file_responses(proof_requests.ACCEPTED, "proof")


@router.post(
    "/orders/{order_id}/proof-requests",
    status_code=201,
    operation_id="requestProof",
    responses=errors(400, 401, 403, 404, 409, 413, 415, 422),
)
def request_proof(
    order_id: PathId,
    body: ProofRequestIn | None = None,
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> models.ProofRequest:
    """R4.6: the buyer asks for proof of dispatch after the seller rejected a cancellation request
    saying the parcel is already on its way (409 `not_rejected_as_shipped` otherwise; once per
    rejection: 409 `proof_already_requested`). The seller has 48 hours to upload it."""
    cancellation_request_id = body.cancellation_request_id if body else None
    return views.proof_request(proofs.ask_for_proof(ctx, who, order_id, cancellation_request_id))


@router.get(
    "/orders/{order_id}/proof-requests", operation_id="listProofRequests", responses=errors(401, 404, 422)
)
def list_proof_requests(
    order_id: PathId, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> models.ProofRequests:
    """The order's proof requests, oldest first."""
    found = proofs.proofs_of_order(ctx, who, order_id)
    return models.ProofRequests(order_id=order_id, proof_requests=[views.proof_request(v) for v in found])


@router.get(
    "/proof-requests/{proof_request_id}", operation_id="getProofRequest", responses=errors(401, 404, 422)
)
def get_proof_request(
    proof_request_id: PathId, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> models.ProofRequest:
    """The proof request with its proof (once uploaded), what the caller can do and its deadline."""
    return views.proof_request(proofs.get_proof_request(ctx, who, proof_request_id))


@router.post(
    "/proof-requests/{proof_request_id}/proof",
    operation_id="uploadProof",
    responses=errors(400, 401, 403, 404, 409, 413, 415, 422),
)
async def upload_proof(
    proof_request_id: PathId,
    body: Annotated[ProofUploadIn, File()],
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> models.ProofRequest:
    """R4.6: the store's seller uploads proof of dispatch, as `multipart/form-data` with one `file`.

    Its type is recognised from its content: a file that is not what its name or declared type
    says is refused (422 `file_type_mismatch`), as are an empty one (`file_empty`), a larger one
    (`file_too_large`) and anything but an image or PDF (`unsupported_file_type`). After the
    deadline: 409 `proof_deadline_passed`.
    """
    file = body.file
    data = await file.read()
    view = await run_in_threadpool(
        proofs.upload_proof, ctx, who, proof_request_id, data, file.content_type, file.filename
    )
    return views.proof_request(view)


@router.get(
    "/proof-requests/{proof_request_id}/proof",
    operation_id="getProofFile",
    response_class=Response,
    responses={**_FILE_RESPONSE, **errors(401, 404, 422)},
)
def get_proof_file(
    proof_request_id: PathId, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> Response:
    """The uploaded proof (the buyer, the store's seller and administrators); 404 `proof_not_provided`
    until there is one."""
    found = proofs.proof_file(ctx, who, proof_request_id)
    return downloads.attachment(found.data, found.media_type, f"proof-{proof_request_id}", found.sha256)


@router.post(
    "/complaints",
    status_code=201,
    tags=["complaints"],
    operation_id="fileComplaint",
    responses=errors(400, 401, 403, 404, 409, 413, 415, 422),
)
def file_complaint(
    body: ComplaintIn, who: Principal = Depends(current_principal), ctx: Context = Depends(context)
) -> models.Complaint:
    """R4.6: the buyer complains to the administration once the seller missed the time to upload
    proof of dispatch (409 `proof_not_missed` before, `proof_provided` after a proof, and
    `complaint_exists` for a second one)."""
    view = proofs.complain(ctx, who, body.proof_request_id, body.order_id, body.message)
    return views.complaint(view)


@router.get(
    "/admin/complaints",
    tags=["complaints"],
    operation_id="listComplaints",
    responses=errors(401, 403, 422),
)
def list_complaints(
    cursor: Cursor = None,  # type: ignore[assignment]
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    who: Principal = Depends(current_principal),
    ctx: Context = Depends(context),
) -> models.ComplaintPage:
    """Administrators: every complaint, newest first, each with its order, store, proof request and
    the store's response record (how fast its seller answers cancellation and proof requests, and
    how many it missed)."""
    page = proofs.admin_complaints(ctx, who, cursor, limit)
    return models.ComplaintPage(
        complaints=[views.complaint(v) for v in page.complaints], next_cursor=page.next_cursor
    )
