"""Proof of dispatch and complaints (R4.6): asked by the buyer, uploaded by the seller, missed by time.

Every command locks the order first and then the proof request, the lock order of every command on
an order, so an upload and the 48-hour deadline firing at once are serialised: the first decides,
the other finds the request provided (409) or missed (409), or the deadline stale.

An uploaded file is checked (domain/files.py: its type from its content, its size from the
order's policy) and the caller's right to upload is checked before it is kept; it is kept in the
file store before the transaction that records it, so a record never names a file that is not
there (a transaction that then fails leaves an unreferenced file, harmless).
"""

from __future__ import annotations

from dataclasses import dataclass

from orderguard.app.access import not_found, require_role, role_on_order, visible_order, visible_part
from orderguard.app.context import Context, Principal
from orderguard.app.cursors import decode_cursor, encode_cursor
from orderguard.app.orders import DeadlineView, declared_deadlines
from orderguard.app.ports import UnitOfWork
from orderguard.domain import complaints, files, proof_requests
from orderguard.domain.complaints import Complaint, SellerRecord
from orderguard.domain.machine import Actor, Refusal, Refused
from orderguard.domain.orders import Action, Order
from orderguard.domain.policy import Policy
from orderguard.domain.proof_requests import PROOF_REQUEST, ProofRequest
from orderguard.ids import new_id


@dataclass(frozen=True, slots=True)
class ProofView:
    proof: ProofRequest
    role: Actor
    actions: list[Action]
    deadlines: list[DeadlineView]


@dataclass(frozen=True, slots=True)
class ProofFile:
    data: bytes
    media_type: str
    sha256: str


def ask_for_proof(
    ctx: Context, buyer: Principal, order_id: str, cancellation_request_id: str | None
) -> ProofView:
    """R4.6: the buyer asks for proof of dispatch of the parcel a rejection named.

    `cancellation_request_id` names the rejection; without it, the order's latest rejection as
    already shipped that has no proof request yet.
    """
    require_role(buyer, Actor.BUYER)
    now = ctx.clock.now()
    with ctx.uow() as uow:
        order, _ = visible_order(uow, buyer, uow.orders.load_order(order_id, lock=True), order_id)
        policy = ctx.policies.get(order.policy_key)
        existing = uow.proofs.proof_requests_of(order.id)
        requests = uow.cancellations.requests_of(order.id)
        if cancellation_request_id is not None:
            request = next((r for r in requests if r.id == cancellation_request_id), None)
            if request is None:
                raise not_found("cancellation_request", cancellation_request_id)
        else:
            asked = {p.cancellation_request_id for p in existing}
            shipped = [r for r in requests if proof_requests.rejected_as_shipped(r)]
            fresh = [r for r in shipped if r.id not in asked]
            if not shipped:
                raise Refused(
                    Refusal(
                        "not_rejected_as_shipped",
                        f"no cancellation request of order {order.id} was rejected as already on its way; "
                        "proof of dispatch can be asked for only then",
                        409,
                    )
                )
            request = fresh[-1] if fresh else shipped[-1]  # all asked already: the rule says so
        decision = proof_requests.ask(new_id("prf"), request, buyer.id, existing, now, policy)
        uow.save([decision], now)
    return _view(decision.subject, Actor.BUYER, ctx.policies.get(order.policy_key))


def get_proof_request(ctx: Context, who: Principal, proof_id: str) -> ProofView:
    with ctx.reading() as uow:
        proof, order, role = _visible(uow, who, proof_id)
    return _view(proof, role, ctx.policies.get(order.policy_key))


def proofs_of_order(ctx: Context, who: Principal, order_id: str) -> list[ProofView]:
    with ctx.reading() as uow:
        order, role = visible_order(uow, who, uow.orders.load_order(order_id), order_id)
        found = uow.proofs.proof_requests_of(order.id)
    policy = ctx.policies.get(order.policy_key)
    return [_view(p, role, policy) for p in found]


def upload_proof(
    ctx: Context,
    seller: Principal,
    proof_id: str,
    data: bytes,
    declared_type: str | None,
    filename: str | None,
) -> ProofView:
    """R4.6: the store's seller uploads the proof, an image or PDF, while the request waits for it."""
    require_role(seller, Actor.SELLER)
    with ctx.reading() as uow:
        proof, order, role = _visible(uow, seller, proof_id)
    policy = ctx.policies.get(order.policy_key)
    proof_requests.must_await_proof(proof)  # nothing is kept for a request that takes no proof
    facts = files.check_upload(
        data,
        declared_type=declared_type,
        filename=filename,
        max_bytes=policy.cancellation.proof_max_bytes,
        accepted=proof_requests.ACCEPTED,
    )
    stored = ctx.files.put(data)
    assert stored == facts.sha256, "the file store names files by their SHA-256"
    now = ctx.clock.now()
    with ctx.uow() as uow:
        uow.orders.load_order(order.id, lock=True)  # the order first: the one lock order
        locked = uow.proofs.load_proof_request(proof_id, lock=True)
        assert locked is not None
        decision = proof_requests.provide(locked, seller.id, facts, now, policy)
        uow.save([decision], now)
    return _view(decision.subject, role, policy)


def proof_file(ctx: Context, who: Principal, proof_id: str) -> ProofFile:
    """The uploaded proof, for the buyer, the store's seller and administrators."""
    with ctx.reading() as uow:
        proof, _, _ = _visible(uow, who, proof_id)
    if proof.file_sha256 is None or proof.file_type is None:
        raise Refused(
            Refusal("proof_not_provided", f"no proof was uploaded for proof request {proof_id}", 404)
        )
    data = ctx.files.open(proof.file_sha256)
    if data is None:  # lost or damaged on disk: an operator's problem, logged with the request id
        raise Refused(
            Refusal("proof_file_missing", f"the file of proof request {proof_id} cannot be read", 500)
        )
    return ProofFile(data, proof.file_type, proof.file_sha256)


def _visible(uow: UnitOfWork, who: Principal, proof_id: str) -> tuple[ProofRequest, Order, Actor]:
    """The proof request, its order and the caller's role; 404 for those it is none of the business of."""
    return visible_part(uow, who, uow.proofs.load_proof_request(proof_id), "proof_request", proof_id)


def _view(proof: ProofRequest, role: Actor, policy: Policy) -> ProofView:
    return ProofView(
        proof, role, proof_requests.actions_for(proof, role), declared_deadlines(PROOF_REQUEST, proof, policy)
    )


# --- complaints ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ComplaintView:
    complaint: Complaint
    order: Order
    store_name: str
    seller_id: str
    proof: ProofRequest | None
    record: SellerRecord


@dataclass(frozen=True, slots=True)
class ComplaintPage:
    complaints: list[ComplaintView]
    next_cursor: str | None


def complain(
    ctx: Context, buyer: Principal, proof_request_id: str, order_id: str | None, message: str
) -> ComplaintView:
    """R4.6: the buyer complains to the administration about a proof of dispatch that never came."""
    require_role(buyer, Actor.BUYER)
    text = complaints.check_message(message)
    now = ctx.clock.now()
    with ctx.uow() as uow:
        found = uow.proofs.load_proof_request(proof_request_id)
        if found is None or (order_id is not None and found.order_id != order_id):
            raise not_found("proof_request", proof_request_id)
        order = uow.orders.load_order(found.order_id, lock=True)
        if order is None or role_on_order(uow, buyer, order) is None:
            raise not_found("proof_request", proof_request_id)
        proof = uow.proofs.load_proof_request(proof_request_id, lock=True)
        assert proof is not None
        policy = ctx.policies.get(order.policy_key)
        decision = proof_requests.complain(proof, buyer.id, new_id("cmp"), text, now, policy)
        uow.save([decision], now)
        complaint = next(d.subject for d in decision.also if isinstance(d.subject, Complaint))
        return _complaint_views(uow, [complaint], {decision.subject.id: decision.subject})[0]


def admin_complaints(ctx: Context, admin: Principal, cursor: str | None, limit: int) -> ComplaintPage:
    """Every complaint, newest first, with its order, store, proof request and the store's record."""
    require_role(admin, Actor.ADMIN)
    after = decode_cursor(cursor) if cursor else None
    with ctx.reading() as uow:
        found = uow.proofs.complaints_page(after, limit + 1)
        page = found[:limit]
        views = _complaint_views(uow, page, {})
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if len(found) > limit else None
    return ComplaintPage(views, next_cursor)


def _complaint_views(
    uow: UnitOfWork, found: list[Complaint], proofs: dict[str, ProofRequest]
) -> list[ComplaintView]:
    orders = uow.orders.load_orders({c.order_id for c in found})
    store_ids = {c.store_id for c in found}
    names = uow.catalogue.store_names(store_ids)
    owners = {s: uow.catalogue.store_owner(s) or "" for s in store_ids}
    records = uow.proofs.seller_records(store_ids)
    for c in found:
        if c.proof_request_id and c.proof_request_id not in proofs:
            p = uow.proofs.load_proof_request(c.proof_request_id)
            if p is not None:
                proofs[p.id] = p
    return [
        ComplaintView(
            c,
            orders[c.order_id],
            names.get(c.store_id, ""),
            owners[c.store_id],
            proofs.get(c.proof_request_id) if c.proof_request_id else None,
            records[c.store_id],
        )
        for c in found
    ]
