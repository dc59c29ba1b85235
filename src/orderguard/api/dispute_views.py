"""Disputes as the API shows them."""

from __future__ import annotations

from collections.abc import Callable

from orderguard.api import dispute_models as dm
from orderguard.api import models as m
from orderguard.api import views
from orderguard.app.disputes import DisputeFile, DisputeView
from orderguard.domain.disputes import Dispute, Evidence, Proposal


def evidence_href(dispute_id: str, evidence_id: str) -> str:
    return f"/v1/disputes/{dispute_id}/evidence/{evidence_id}"


def _proposal(p: Proposal) -> dm.Proposal:
    return dm.Proposal(
        id=p.id,
        author_role=p.author_role,
        kind=p.kind,
        amount=p.amount,
        return_shipping_paid_by=p.return_shipping_paid_by,
        note=p.note,
        status=p.state,
        created_at=p.created_at,
        answered_at=p.answered_at,
    )


def evidence(e: Evidence) -> dm.Evidence:
    return dm.Evidence(
        id=e.id,
        author_role=e.author_role,
        media_type=e.media_type,
        size=e.size,
        sha256=e.sha256,
        filename=e.filename,
        uploaded_at=e.uploaded_at,
        href=evidence_href(e.dispute_id, e.id),
    )


def _info_requests(d: Dispute) -> list[dm.InfoRequest]:
    out = []
    for party, at, question in (
        ("buyer", d.buyer_info_requested_at, d.buyer_info_question),
        ("seller", d.seller_info_requested_at, d.seller_info_question),
    ):
        if at is not None:
            out.append(dm.InfoRequest(party=party, question=question or "", requested_at=at))
    return out


def _return(d: Dispute) -> dm.ReturnParcel | None:
    if d.outcome != "return_and_refund" or d.return_shipping_paid_by is None:
        return None
    return dm.ReturnParcel(
        paid_by=d.return_shipping_paid_by,
        carrier=d.return_carrier,
        tracking_code=d.return_tracking_code,
        shipped_at=d.return_shipped_at,
        delivered_at=d.return_delivered_at,
    )


def dispute(v: DisputeView) -> dm.Dispute:
    d = v.dispute
    return dm.Dispute(
        id=d.id,
        order_id=d.order_id,
        buyer_id=d.buyer_id,
        store_id=d.store_id,
        status=d.state,
        reason=d.reason,
        currency=d.currency,
        lines=[dm.DisputeLine(line_id=k, quantity=q) for k, q in sorted(d.lines.items())],
        wanted=d.wanted,
        wanted_amount=d.wanted_amount,
        description=d.description,
        opened_at=d.opened_at,
        escalated_at=d.escalated_at,
        escalated_by=d.escalated_by,
        info_requests=_info_requests(d),
        outcome=d.outcome,
        outcome_amount=d.outcome_amount,
        decided_by=d.decided_by,
        rationale=d.rationale,
        return_parcel=_return(d),
        ended_at=d.ended_at,
        refund_id=d.refund_id,
        refunded=d.refunded,
        fine_id=d.fine_id,
        fined=d.fined,
        proposals=[_proposal(p) for p in v.proposals],
        evidence=[evidence(e) for e in v.evidence],
        your_role=str(v.role),
        actions=[views.action(a) for a in v.actions],
        deadlines=[views.deadline(x) for x in v.deadlines],
    )


def dispute_file(f: DisputeFile) -> dm.DisputeFile:
    return dm.DisputeFile(
        dispute=dispute(f.view),
        order=views.order_summary(f.order),
        messages=[views.message(x) for x in f.messages],
        shipments=[
            dm.ParcelScans(
                id=p.shipment.id,
                carrier=p.shipment.carrier,
                tracking_code=p.shipment.tracking_code,
                status=p.shipment.state,
                scans=[views.scan(s) for s in p.scans],
            )
            for p in f.parcels
        ],
        return_scans=[
            m.Scan(
                kind=s.kind,
                occurred_at=s.occurred_at,
                country=s.country,
                city=s.city,
                postal_code=s.postal_code,
            )
            for s in f.return_scans
        ],
        buyer_record=_record(f.buyer_record),
        seller_record=_record(f.seller_record),
    )


def _record(counts: dict[str, int]) -> dm.DisputeRecord:
    """The counts by `state` (open) and `state:how` (ended) of disputes_repo.party_records."""

    def total(match: Callable[[str], bool]) -> int:
        return sum(n for key, n in counts.items() if match(key))

    return dm.DisputeRecord(
        open=total(lambda k: ":" not in k),
        resolved=total(lambda k: k.startswith("resolved:")),
        closed=total(lambda k: k.startswith("closed:")),
        by_verdict=total(lambda k: k.endswith(":verdict")),
        by_missed_deadline=total(lambda k: k.endswith((":buyer_missed_deadline", ":seller_silence"))),
    )
