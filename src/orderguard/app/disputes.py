"""Disputes (R7.1 to R7.8): opened by the buyer, negotiated, escalated, ruled, returned.

Every command locks the order first and then the dispute, the one lock order of every command on
an order, so two parties accepting proposals, escalating and uploading while a deadline fires are
serialised: the first decides, the others find the dispute moved on (409 `dispute_ended`,
`dispute_not_negotiable`, `proposal_answered` ...) or the deadline stale. A dispute's refund has
an id derived from the dispute, so it is granted at most once, and is sent to the payment
provider after the commit.

Evidence files are checked (type from content, size from policy) and the caller's right to
upload is checked before the file is kept, and kept before the transaction that records it, so
a record never names a file that is not there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from orderguard.app.access import not_found, require_role, visible_order, visible_part
from orderguard.app.context import Context, Principal
from orderguard.app.cursors import decode_cursor, encode_cursor
from orderguard.app.effects import run_after_commit
from orderguard.app.messages import MessagePage, decode_message_cursor
from orderguard.app.orders import DeadlineView, ParcelView, declared_deadlines
from orderguard.app.ports import UnitOfWork
from orderguard.domain import disputes, files, messages, shipping
from orderguard.domain.decision import Decision
from orderguard.domain.disputes import DISPUTE, Dispute, DisputeState, Ending, Evidence, Proposal, ReturnScan
from orderguard.domain.disputes.actions import actions_for
from orderguard.domain.machine import Actor, Refusal, Refused, one_of
from orderguard.domain.messages import Message
from orderguard.domain.orders import Action, Order
from orderguard.domain.policy import Policy
from orderguard.domain.shipping import Scan
from orderguard.ids import new_id

EVIDENCE_TYPES = frozenset({files.JPEG, files.PNG, files.WEBP, files.MP4, files.WEBM})


@dataclass(frozen=True, slots=True)
class DisputeView:
    dispute: Dispute
    role: Actor
    proposals: list[Proposal]
    evidence: list[Evidence]
    actions: list[Action]
    deadlines: list[DeadlineView]


@dataclass(frozen=True, slots=True)
class DisputePage:
    disputes: list[DisputeView]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class DisputeFile:
    """Everything an arbiter sees (R7.5)."""

    view: DisputeView
    order: Order
    messages: list[Message]
    parcels: list[ParcelView]
    return_scans: list[ReturnScan]
    buyer_record: dict[str, int]
    seller_record: dict[str, int]


@dataclass(frozen=True, slots=True)
class FileFound:
    data: bytes
    media_type: str
    sha256: str


# --- opening and reading ----------------------------------------------------------------------


def open_dispute(
    ctx: Context,
    buyer: Principal,
    order_id: str,
    reason: str,
    lines: dict[str, int] | None,
    wanted: str,
    amount: int | None,
    payer: str | None,
    description: str,
) -> DisputeView:
    """R7.1: the buyer disputes `lines` (None: every line, all of it) of a shipped order."""
    require_role(buyer, Actor.BUYER)
    now = ctx.clock.now()
    with ctx.uow() as uow:
        order, _ = visible_order(uow, buyer, uow.orders.load_order(order_id, lock=True), order_id)
        policy = ctx.policies.get(order.policy_key)
        wanted_lines = lines if lines is not None else {ln.id: ln.active for ln in order.lines if ln.active}
        decision = disputes.open_dispute(
            new_id("dsp"),
            new_id("prp"),
            order,
            buyer.id,
            reason,
            wanted_lines,
            wanted,
            amount,
            payer,
            description,
            uow.disputes.disputes_of(order.id),
            _refundable(uow, order),
            now,
            policy,
        )
        uow.save([decision], now)
        return _view(uow, decision.subject, Actor.BUYER, policy, now)


def get_dispute(ctx: Context, who: Principal, dispute_id: str) -> DisputeView:
    with ctx.reading() as uow:
        dispute, order, role = _visible(uow, who, dispute_id)
        return _view(uow, dispute, role, ctx.policies.get(order.policy_key), ctx.clock.now())


def list_disputes(
    ctx: Context, who: Principal, status: str | None, cursor: str | None, limit: int
) -> DisputePage:
    """The caller's disputes, newest first: a buyer's own, a seller's stores', all for an admin."""
    if status is not None and status not in DISPUTE.states:
        raise Refused(Refusal("unknown_status", f"status must be one of {one_of(DISPUTE.states)}", 422))
    after = decode_cursor(cursor) if cursor else None
    now = ctx.clock.now()
    with ctx.reading() as uow:
        buyer_id = who.id if who.role is Actor.BUYER else None
        store_ids = uow.catalogue.store_ids_of(who.id) if who.role is Actor.SELLER else None
        found = uow.disputes.disputes_page(
            buyer_id=buyer_id, store_ids=store_ids, status=status, after=after, limit=limit + 1
        )
        page = found[:limit]
        views = [_view(uow, d, who.role, _policy(ctx, uow, d), now) for d in page]
    next_cursor = encode_cursor(page[-1].opened_at, page[-1].id) if len(found) > limit else None
    return DisputePage(views, next_cursor)


def disputes_of_order(ctx: Context, who: Principal, order_id: str) -> list[DisputeView]:
    with ctx.reading() as uow:
        order, role = visible_order(uow, who, uow.orders.load_order(order_id), order_id)
        policy = ctx.policies.get(order.policy_key)
        now = ctx.clock.now()
        return [_view(uow, d, role, policy, now) for d in uow.disputes.disputes_of(order.id)]


def _policy(ctx: Context, uow: UnitOfWork, dispute: Dispute) -> Policy:
    order = uow.orders.load_order(dispute.order_id)
    assert order is not None
    return ctx.policies.get(order.policy_key)


# --- negotiation (R7.2) -----------------------------------------------------------------------


def propose(
    ctx: Context,
    who: Principal,
    dispute_id: str,
    kind: str,
    amount: int | None,
    payer: str | None,
    note: str,
) -> DisputeView:
    """R7.2: a party offers a solution; their earlier open proposal is replaced by it."""
    return _decide(
        ctx,
        who,
        dispute_id,
        lambda uow, d, order, role, now, policy: disputes.propose(
            d,
            new_id("prp"),
            role,
            who.id,
            kind,
            amount,
            payer,
            note,
            uow.disputes.open_proposals(d.id),
            order,
            _refundable(uow, order),
            now,
            policy,
        ),
    )


def answer_proposal(ctx: Context, who: Principal, proposal_id: str, accept: bool) -> DisputeView:
    """R7.2: the other party accepts (resolving the dispute) or rejects a proposal."""
    with ctx.reading() as uow:
        proposal = uow.disputes.load_proposal(proposal_id)
        dispute = uow.disputes.load_dispute(proposal.dispute_id) if proposal else None
        if proposal is None or dispute is None:
            raise not_found("proposal", proposal_id)
        visible_part(uow, who, dispute, "proposal", proposal_id)

    def decide(
        uow: UnitOfWork, d: Dispute, order: Order, role: Actor, now: datetime, policy: Policy
    ) -> Decision[Dispute]:
        current = uow.disputes.load_proposal(proposal_id)
        assert current is not None
        if not accept:
            return disputes.reject_proposal(d, current, role, who.id, now, policy)
        return disputes.accept_proposal(d, current, role, who.id, _ending(uow, d, order), now, policy)

    return _decide(ctx, who, dispute.id, decide)


def escalate(ctx: Context, who: Principal, dispute_id: str) -> DisputeView:
    """R7.4: a party asks the platform to step in (after the policy minimum of 3 days)."""
    return _decide(
        ctx,
        who,
        dispute_id,
        lambda uow, d, order, role, now, policy: disputes.escalate(d, role, who.id, now, policy),
    )


def post_message(ctx: Context, who: Principal, dispute_id: str, text: str) -> Message:
    """R7.2: a party writes in the dispute; it answers the arbiter's open request to them."""
    now = ctx.clock.now()
    with ctx.uow() as uow:
        dispute, order, role = _locked(uow, who, dispute_id)
        messages.check_author(role)
        disputes.must_be_open(dispute)
        body = messages.message_body(text)
        message = uow.messages.insert_message(order.id, who.id, str(role), body, now, dispute_id=dispute.id)
        note = messages.notice(order.id, role, body, f"dispute {dispute.id}", "dispute_message")
        uow.notifications.notify([(order.id, note.recipient, note.kind, note.text)], now)
        answered = disputes.gave_info(
            dispute, role, who.id, "message", now, ctx.policies.get(order.policy_key)
        )
        if answered is not None:
            uow.save([answered], now)
    return message


def list_messages(
    ctx: Context, who: Principal, dispute_id: str, cursor: str | None, limit: int
) -> MessagePage:
    after = decode_message_cursor(cursor) if cursor else None
    with ctx.reading() as uow:
        dispute, order, _ = _visible(uow, who, dispute_id)
        found = uow.messages.messages_page(order.id, after, limit + 1, dispute_id=dispute.id)
    page = found[:limit]
    return MessagePage(order.id, page, str(page[-1].id) if len(found) > limit else None)


def add_evidence(
    ctx: Context,
    who: Principal,
    dispute_id: str,
    data: bytes,
    declared_type: str | None,
    filename: str | None,
) -> Evidence:
    """R7.2: a party adds a photo or video (JPEG, PNG, WebP, MP4, WebM, typed by content)."""
    with ctx.reading() as uow:
        dispute, order, role = _visible(uow, who, dispute_id)
    messages.check_author(role)
    disputes.must_be_open(dispute)  # nothing is kept for a dispute that takes no evidence
    policy = ctx.policies.get(order.policy_key)
    facts = files.check_upload(
        data,
        declared_type=declared_type,
        filename=filename,
        max_bytes=policy.disputes.evidence_max_bytes,
        accepted=EVIDENCE_TYPES,
    )
    stored = ctx.files.put(data)
    assert stored == facts.sha256, "the file store names files by their SHA-256"
    now = ctx.clock.now()
    with ctx.uow() as uow:
        locked, _, _ = _locked(uow, who, dispute_id)
        disputes.must_be_open(locked)
        evidence = Evidence(
            new_id("evd"),
            locked.id,
            locked.order_id,
            who.id,
            str(role),
            facts.sha256,
            facts.media_type,
            facts.size,
            _file_name(filename),
            now,
        )
        uow.disputes.insert_evidence(evidence)
        other = "seller" if role is Actor.BUYER else "buyer"
        text = f"The {role} added evidence ({files.SHORT_NAMES[facts.media_type]}) to dispute {locked.id}."
        uow.notifications.notify([(locked.order_id, other, "dispute_evidence", text)], now)
        answered = disputes.gave_info(locked, role, who.id, "evidence", now, policy)
        if answered is not None:
            uow.save([answered], now)
    return evidence


def _file_name(filename: str | None) -> str:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:255]


def evidence_file(ctx: Context, who: Principal, dispute_id: str, evidence_id: str) -> FileFound:
    """An evidence file, for the two parties and administrators only."""
    with ctx.reading() as uow:
        dispute, _, _ = _visible(uow, who, dispute_id)
        found = next((e for e in uow.disputes.evidence_of([dispute.id]) if e.id == evidence_id), None)
    if found is None:
        raise not_found("evidence", evidence_id)
    data = ctx.files.open(found.sha256)
    if data is None:  # lost or damaged on disk: an operator's problem, logged with the request id
        raise Refused(
            Refusal("evidence_file_missing", f"the file of evidence {evidence_id} cannot be read", 500)
        )
    return FileFound(data, found.media_type, found.sha256)


# --- arbitration (R7.5) -----------------------------------------------------------------------


def request_info(ctx: Context, admin: Principal, dispute_id: str, party: str, question: str) -> DisputeView:
    require_role(admin, Actor.ADMIN)
    return _decide(
        ctx,
        admin,
        dispute_id,
        lambda uow, d, order, role, now, policy: disputes.request_info(
            d, admin.id, party, question, now, policy
        ),
    )


def rule(
    ctx: Context,
    admin: Principal,
    dispute_id: str,
    verdict: str,
    share: int | None,
    payer: str | None,
    rationale: str,
) -> DisputeView:
    """R7.5: the arbiter's verdict, carried out at once."""
    require_role(admin, Actor.ADMIN)
    return _decide(
        ctx,
        admin,
        dispute_id,
        lambda uow, d, order, role, now, policy: disputes.rule(
            d, admin.id, verdict, share, payer, rationale, _ending(uow, d, order), now, policy
        ),
    )


def escalated_files(
    ctx: Context, admin: Principal, cursor: str | None, limit: int
) -> tuple[list[DisputeFile], str | None]:
    """R7.5: escalated disputes, oldest first, each with its whole file."""
    require_role(admin, Actor.ADMIN)
    after = decode_cursor(cursor) if cursor else None
    now = ctx.clock.now()
    with ctx.reading() as uow:
        found = uow.disputes.escalated_page(after, limit + 1)
        page = found[:limit]
        out = [_file(ctx, uow, d, now) for d in page]
    last = page[-1] if len(found) > limit else None
    return out, encode_cursor(last.escalated_at, last.id) if last and last.escalated_at else None


def admin_disputes(
    ctx: Context, admin: Principal, status: str | None, cursor: str | None, limit: int
) -> tuple[list[DisputeFile], str | None]:
    """The arbiters' list: escalated disputes oldest first with their files; other states newest first."""
    require_role(admin, Actor.ADMIN)
    if status == DisputeState.ESCALATED:
        return escalated_files(ctx, admin, cursor, limit)
    page = list_disputes(ctx, admin, status, cursor, limit)
    now = ctx.clock.now()
    with ctx.reading() as uow:
        return [_file(ctx, uow, v.dispute, now) for v in page.disputes], page.next_cursor


def _file(ctx: Context, uow: UnitOfWork, dispute: Dispute, now: datetime) -> DisputeFile:
    order = uow.orders.load_order(dispute.order_id)
    assert order is not None
    policy = ctx.policies.get(order.policy_key)
    parcels = uow.shipments.shipments_of([order.id])
    scans = uow.shipments.scans_of([p.id for p in parcels])
    buyer_record, seller_record = uow.disputes.party_records(
        buyer_id=dispute.buyer_id, store_id=dispute.store_id
    )
    return DisputeFile(
        _view(uow, dispute, Actor.ADMIN, policy, now),
        order,
        uow.messages.messages_page(order.id, None, 1000, dispute_id=dispute.id),
        [ParcelView(p, scans.get(p.id, [])) for p in parcels],
        uow.disputes.return_scans_of(dispute.id),
        buyer_record,
        seller_record,
    )


# --- the return (R7.6) ------------------------------------------------------------------------


def ship_return(
    ctx: Context, buyer: Principal, dispute_id: str, carrier: str, tracking_code: str
) -> DisputeView:
    """R7.6: the buyer gives the return's carrier and tracking code; the code is checked like any
    other, and must not be a code already in use in either direction."""
    require_role(buyer, Actor.BUYER)
    code = shipping.check_tracking_code(carrier, tracking_code)

    def decide(
        uow: UnitOfWork, d: Dispute, order: Order, role: Actor, now: datetime, policy: Policy
    ) -> Decision[Dispute]:
        decided = disputes.ship_return(d, buyer.id, carrier, code, now, policy)  # refused before a claim
        holder = shipping.CodeHolder(order.store_id, order.buyer_id, "return")
        owner = uow.shipments.claim_tracking_code(carrier, code, holder, now)
        shipping.check_code_reuse(owner, holder, carrier, code)
        if uow.disputes.by_return_code(carrier, code):
            raise Refused(
                Refusal(
                    "tracking_code_in_use", f"{carrier} tracking code {code} is already another return's", 409
                )
            )
        return decided

    return _decide(ctx, buyer, dispute_id, decide)


def return_received(ctx: Context, seller: Principal, dispute_id: str) -> DisputeView:
    """R7.6: the seller confirms the return arrived: the refund is paid."""
    require_role(seller, Actor.SELLER)
    return _decide(
        ctx,
        seller,
        dispute_id,
        lambda uow, d, order, role, now, policy: disputes.return_received(
            d, seller.id, _ending(uow, d, order), now, policy
        ),
    )


def record_return_scans(
    uow: UnitOfWork, ctx: Context, carrier: str, code: str, scans: list[Scan], source: str, now: datetime
) -> tuple[int, int] | None:
    """Scans of a return parcel (None: the code is no return's). A delivery to the seller (the
    carrier's `delivered`, or `delivered_to_sender` as some report a return to the merchant)
    starts the seller's 5 days (R7.6). Returns (new scans, duplicates)."""
    owner = uow.shipments.code_owner(carrier, code)
    if owner is None or owner.direction != "return":
        return None
    found = uow.disputes.by_return_code(carrier, code)
    if not found:
        return None
    dispute = found[0]
    uow.orders.load_order(dispute.order_id, lock=True)  # the order first: the one lock order
    locked = uow.disputes.load_dispute(dispute.id, lock=True)
    assert locked is not None
    rows = [
        (locked.id, ReturnScan(s.kind, s.occurred_at, s.place.country, s.place.city, s.place.postal_code))
        for s in scans
    ]
    fresh = uow.disputes.insert_return_scans(rows, source, now)
    arrived = [s.occurred_at for s in scans if s.kind in ("delivered", "delivered_to_sender")]
    if arrived:
        order = uow.orders.load_order(locked.order_id)
        assert order is not None
        moved = disputes.return_delivered(locked, min(arrived), now, ctx.policies.get(order.policy_key))
        if moved is not None:
            uow.save([moved], now)
    return fresh, len(rows) - fresh


# --- shared -----------------------------------------------------------------------------------

Decide = Callable[[UnitOfWork, Dispute, Order, Actor, datetime, Policy], Decision[Dispute]]


def _decide(ctx: Context, who: Principal, dispute_id: str, decide: Decide) -> DisputeView:
    now = ctx.clock.now()
    with ctx.uow() as uow:
        dispute, order, role = _locked(uow, who, dispute_id)
        policy = ctx.policies.get(order.policy_key)
        decision = decide(uow, dispute, order, role, now, policy)
        uow.save([decision], now)
        view = _view(uow, decision.subject, role, policy, now)
    run_after_commit(ctx, [effect for d in decision.flatten() for effect in d.after_commit])
    return view


def _locked(uow: UnitOfWork, who: Principal, dispute_id: str) -> tuple[Dispute, Order, Actor]:
    """The dispute, locked after its order (the one lock order), and the caller's role."""
    found = uow.disputes.load_dispute(dispute_id)
    _, order, role = visible_part(uow, who, found, "dispute", dispute_id, lock_order=True)
    dispute = uow.disputes.load_dispute(dispute_id, lock=True)
    assert dispute is not None
    return dispute, order, role


def _visible(uow: UnitOfWork, who: Principal, dispute_id: str) -> tuple[Dispute, Order, Actor]:
    return visible_part(uow, who, uow.disputes.load_dispute(dispute_id), "dispute", dispute_id)


def _refundable(uow: UnitOfWork, order: Order) -> int:
    return uow.ledger.order_money(order.id, order.currency).in_escrow


def _ending(uow: UnitOfWork, dispute: Dispute, order: Order) -> Ending:
    others = [d for d in uow.disputes.open_disputes(order.id) if d.id != dispute.id]
    return Ending(
        order,
        uow.payments.captured_payment(order.id),
        _refundable(uow, order),
        uow.disputes.open_proposals(dispute.id),
        len(others),
    )


def _view(uow: UnitOfWork, dispute: Dispute, role: Actor, policy: Policy, now: datetime) -> DisputeView:
    proposals = uow.disputes.proposals_of([dispute.id])
    return DisputeView(
        dispute,
        role,
        proposals,
        uow.disputes.evidence_of([dispute.id]),
        actions_for(dispute, proposals, role, now, policy),
        declared_deadlines(DISPUTE, dispute, policy),
    )
