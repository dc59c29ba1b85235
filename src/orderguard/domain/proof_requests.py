"""Proof of dispatch (R4.6, second half): a lifecycle of its own.

A seller who rejects a cancellation request because the parcel is already on its way names its
carrier and tracking code, which ships those lines (domain/cancellation_requests.py). The buyer
may then ask for proof of dispatch: one proof request per such rejection. The seller has
`cancellation.proof_of_dispatch_hours` (48) from the buyer's asking to upload it, an image or a
PDF (a photo or scan of the carrier's receipt), recognised from its content and at most
`cancellation.proof_max_bytes` (domain/files.py). Once uploaded the request is `provided` and the
file is there for the buyer, the seller and administrators to see. If the time passes first, it
is `missed`, and the buyer may complain to the administration, once (`complained`; the complaint
itself is domain/complaints.py). A proof that comes after the deadline is refused: the miss is
part of the seller's record, and the administration handles the rest through the complaint.

    requested --proof_provided--> provided      (the store's seller)
    requested --proof_missed----> missed        (the system, `proof_due`: 48 h after the asking)
    missed ------complained-----> complained    (the buyer)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from orderguard.domain.cancellation_requests import CancellationRequest, RequestState
from orderguard.domain.complaints import NO_PROOF_OF_DISPATCH, Complaint
from orderguard.domain.decision import Decision, Event, Notification, take
from orderguard.domain.files import DOCUMENTS, IMAGES, SHORT_NAMES, FileFacts
from orderguard.domain.machine import Actor, Due, Facts, Machine, Refusal, Refused, T, Timer
from orderguard.domain.orders.actions import Action
from orderguard.domain.policy import Policy

B, S, SYS = Actor.BUYER, Actor.SELLER, Actor.SYSTEM
ACCEPTED = IMAGES | DOCUMENTS  # what a proof of dispatch may be


class ProofState(StrEnum):
    REQUESTED = "requested"
    PROVIDED = "provided"
    MISSED = "missed"
    COMPLAINED = "complained"


class ProofDeadline(StrEnum):
    PROOF_DUE = "proof_due"


PROOF_DUE = Timer(
    ProofDeadline.PROOF_DUE,
    Due(
        "created_at", "the buyer asked for proof of dispatch", "cancellation.proof_of_dispatch_hours", "hours"
    ),
    S,
    "upload proof of dispatch (an image or PDF of the carrier's receipt)",
    "the buyer may complain to the administration",
)

PROOF_REQUEST = Machine(
    "proof_request",
    (
        T(ProofState.REQUESTED, "proof_provided", ProofState.PROVIDED, S, "R4.6"),
        T(ProofState.REQUESTED, "proof_missed", ProofState.MISSED, SYS, "R4.6", PROOF_DUE),
        T(ProofState.MISSED, "complained", ProofState.COMPLAINED, B, "R4.6"),
    ),
    terminal=frozenset({ProofState.PROVIDED, ProofState.COMPLAINED}),
)


@dataclass(frozen=True, slots=True)
class ProofRequest:
    lifecycle: ClassVar[str] = "proof_request"

    id: str
    order_id: str
    cancellation_request_id: str
    shipment_id: str
    buyer_id: str
    store_id: str
    state: str
    carrier: str
    tracking_code: str
    created_at: datetime
    due_at: datetime  # when the seller's time runs out (PROOF_DUE, fixed when asked)
    file_sha256: str | None = None
    file_type: str | None = None
    file_size: int | None = None
    uploaded_at: datetime | None = None
    missed_at: datetime | None = None


ProofDecision = Decision[ProofRequest]


def _when(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC"


# event -> (recipient, notification kind, text); `{p}` is the proof request, `{due}` its deadline
TEXTS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "proof_requested": (
        (
            "seller",
            "proof_requested",
            "The buyer of order {p.order_id} asks for proof of dispatch of the parcel sent with {p.carrier}, "
            "tracking code {p.tracking_code} (proof request {p.id}). Upload an image or PDF of the carrier's "
            "receipt by {due}; if you do not, the buyer may complain to the administration.",
        ),
        (
            "buyer",
            "proof_requested",
            "You asked for proof of dispatch for order {p.order_id} (proof request {p.id}). The seller has "
            "until {due} to upload it; if not, you may complain to the administration.",
        ),
    ),
    "proof_provided": (
        (
            "buyer",
            "proof_provided",
            "The seller uploaded proof of dispatch for order {p.order_id} ({kind}, proof request {p.id}). "
            "Nothing more to do; open a dispute after delivery if something is wrong.",
        ),
    ),
    "proof_missed": (
        (
            "buyer",
            "proof_missed",
            "The seller did not upload proof of dispatch for order {p.order_id} by {due}. You may complain "
            "to the administration about proof request {p.id}.",
        ),
        (
            "seller",
            "proof_missed",
            "You did not upload proof of dispatch for order {p.order_id} by {due} (proof request {p.id}). "
            "The buyer may now complain to the administration; the miss is on your store's record.",
        ),
    ),
    "complained": (
        (
            "buyer",
            "complaint_filed",
            "Your complaint about order {p.order_id} (no proof of dispatch) is with the administration.",
        ),
        (
            "seller",
            "complaint_filed",
            "The buyer of order {p.order_id} complained to the administration: no proof of dispatch was "
            "uploaded in time. The administration will look at the order and your store's record.",
        ),
    ),
}


def notices(proof: ProofRequest, event: str) -> list[Notification]:
    kind = SHORT_NAMES.get(proof.file_type or "", "file")
    return [
        Notification(recipient, note, text.format(p=proof, due=_when(proof.due_at), kind=kind))
        for recipient, note, text in TEXTS.get(event, ())
    ]


def _step(
    proof: ProofRequest,
    event: str,
    by: Actor,
    actor_id: str | None,
    now: datetime,
    policy: Policy,
    data: dict[str, Any] | None = None,
    **changes: Any,
) -> ProofDecision:
    return take(
        PROOF_REQUEST, proof, event, by, actor_id, now, policy, data,
        lambda after, happened: notices(after, happened.kind), **changes,
    )  # fmt: skip


def rejected_as_shipped(request: CancellationRequest) -> bool:
    """Whether the seller rejected the request saying the parcel is already on its way (R4.6)."""
    return request.state == RequestState.REJECTED and request.shipment_id is not None


def ask(
    proof_id: str,
    request: CancellationRequest,
    buyer_id: str,
    existing: list[ProofRequest],
    now: datetime,
    policy: Policy,
) -> ProofDecision:
    """R4.6: the buyer asks for proof of dispatch of the parcel a rejection named; once per rejection."""
    if request.buyer_id != buyer_id:
        raise Refused(Refusal("forbidden_actor", "only the buyer who asked to cancel may ask for proof", 403))
    if not rejected_as_shipped(request):
        raise Refused(
            Refusal(
                "not_rejected_as_shipped",
                f"cancellation request {request.id} is {request.state}: proof of dispatch can be asked for "
                "only when the seller rejected a request saying the parcel is already on its way",
                409,
            )
        )
    if any(p.cancellation_request_id == request.id for p in existing):
        raise Refused(
            Refusal(
                "proof_already_requested",
                f"proof of dispatch was already asked for on cancellation request {request.id}",
                409,
            )
        )
    assert request.carrier is not None and request.tracking_code is not None and request.shipment_id
    hours = policy.cancellation.proof_of_dispatch_hours
    proof = ProofRequest(
        proof_id, request.order_id, request.id, request.shipment_id, request.buyer_id, request.store_id,
        PROOF_REQUEST.initial, request.carrier, request.tracking_code, now, now,
    )  # fmt: skip
    _, arm = PROOF_REQUEST.rearm("", proof, now, policy)
    proof = replace(proof, due_at=arm[0].due_at if arm else now)
    data = {
        "cancellation_request_id": request.id,
        "shipment_id": request.shipment_id,
        "carrier": request.carrier,
        "tracking_code": request.tracking_code,
        "due_at": proof.due_at.isoformat(),
        "hours": hours,
    }
    happened = Event("proof_requested", B, buyer_id, "R4.6", now, data)
    return Decision(proof, [happened], arm=arm, notifications=notices(proof, "proof_requested"), new=True)


def provide(
    proof: ProofRequest, seller_id: str, file: FileFacts, now: datetime, policy: Policy
) -> ProofDecision:
    """R4.6: the store's seller uploads the proof, within the time."""
    must_await_proof(proof)
    data = {"sha256": file.sha256, "media_type": file.media_type, "size": file.size}
    return _step(
        proof, "proof_provided", S, seller_id, now, policy, data,
        file_sha256=file.sha256, file_type=file.media_type, file_size=file.size, uploaded_at=now,
    )  # fmt: skip


def must_await_proof(proof: ProofRequest) -> None:
    """Refused unless the proof request still waits for the seller's proof."""
    if proof.state == ProofState.PROVIDED:
        raise Refused(
            Refusal("proof_already_provided", f"proof request {proof.id} has its proof already", 409)
        )
    if proof.state != ProofState.REQUESTED:
        raise Refused(
            Refusal(
                "proof_deadline_passed",
                f"the time to upload proof for proof request {proof.id} ended {_when(proof.due_at)}",
                409,
            )
        )


@PROOF_REQUEST.on_expiry("proof_missed")
def proof_missed(proof: ProofRequest, now: datetime, policy: Policy, facts: Facts) -> ProofDecision:
    """R4.6: the seller's 48 hours passed with no proof: the buyer may complain."""
    return _step(proof, "proof_missed", SYS, None, now, policy, {"due_at": proof.due_at.isoformat()},
                 missed_at=now)  # fmt: skip


def complain(
    proof: ProofRequest, buyer_id: str, complaint_id: str, message: str, now: datetime, policy: Policy
) -> ProofDecision:
    """R4.6, R8.2: the buyer complains to the administration about a missed proof; once."""
    if proof.buyer_id != buyer_id:
        raise Refused(Refusal("forbidden_actor", "only the buyer who asked for proof may complain", 403))
    why_no_complaint(proof, raise_it=True)
    complaint = Complaint(
        complaint_id, proof.order_id, proof.buyer_id, proof.store_id, NO_PROOF_OF_DISPATCH, "open", message,
        now, proof.id,
    )  # fmt: skip
    d = _step(proof, "complained", B, buyer_id, now, policy, {"complaint_id": complaint_id})
    d.also.append(Decision(complaint, new=True))
    return d


def why_no_complaint(proof: ProofRequest, raise_it: bool = False) -> Refusal | None:
    """Why the buyer cannot complain about this proof request now (None: they can)."""
    refusal = None
    if proof.state == ProofState.REQUESTED:
        refusal = Refusal(
            "proof_not_missed",
            f"the seller has until {_when(proof.due_at)} to upload proof; complain if none has come by then",
            409,
        )
    elif proof.state == ProofState.PROVIDED:
        refusal = Refusal("proof_provided", "the seller uploaded proof of dispatch in time", 409)
    elif proof.state == ProofState.COMPLAINED:
        refusal = Refusal(
            "complaint_exists", f"a complaint about proof request {proof.id} is filed already", 409
        )
    if refusal is not None and raise_it:
        raise Refused(refusal)
    return refusal


def actions_for(proof: ProofRequest, role: Actor) -> list[Action]:
    """What the caller can do with the proof request now, and for what they cannot, why."""
    if role is S:
        try:
            must_await_proof(proof)
        except Refused as e:
            return [Action("upload_proof", False, e.refusal.code, e.refusal.detail)]
        return [Action("upload_proof", True)]
    if role is B:
        refusal = why_no_complaint(proof)
        if refusal is None:
            return [Action("complain", True)]
        return [Action("complain", False, refusal.code, refusal.detail)]
    return []
