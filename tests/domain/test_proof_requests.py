"""The proof-request lifecycle (R4.6) and the seller record shown with complaints, as pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orderguard.app.context import load_policy_file
from orderguard.domain import proof_requests as proofs
from orderguard.domain.cancellation_requests import CancellationRequest
from orderguard.domain.complaints import Complaint, Timing, cancellation_outcome, timing
from orderguard.domain.files import FileFacts
from orderguard.domain.machine import Actor, Refused
from orderguard.domain.proof_requests import PROOF_REQUEST, ProofRequest, ProofState

POLICY = load_policy_file().policy
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PNG = FileFacts("a" * 64, 1234, "image/png")


def _rejection(state: str = "rejected", shipment_id: str | None = "shp_1") -> CancellationRequest:
    return CancellationRequest(
        "cr_1", "ord_1", "buyer_1", "sto_1", state, "no_longer_needed", "buyer", {"ln_1": 1}, "", T0,
        T0, "on its way", "postal" if shipment_id else None, "RR123456785CN" if shipment_id else None,
        shipment_id,
    )  # fmt: skip


def _asked(at: datetime = T0) -> ProofRequest:
    return proofs.ask("prf_1", _rejection(), "buyer_1", [], at, POLICY).subject


def _code(e: pytest.ExceptionInfo[Refused]) -> str:
    return e.value.refusal.code


def test_asking_arms_the_48_hour_deadline_and_tells_both_parties() -> None:
    d = proofs.ask("prf_1", _rejection(), "buyer_1", [], T0, POLICY)
    p = d.subject
    assert d.new and p.state == ProofState.REQUESTED and p.due_at == T0 + timedelta(hours=48)
    assert (p.shipment_id, p.carrier, p.tracking_code) == ("shp_1", "postal", "RR123456785CN")
    assert [(a.kind, a.due_at) for a in d.arm] == [("proof_due", T0 + timedelta(hours=48))]
    assert [e.kind for e in d.events] == ["proof_requested"]
    assert {n.recipient for n in d.notifications} == {"buyer", "seller"}
    seller_note = next(n for n in d.notifications if n.recipient == "seller")
    assert "2026-03-03 12:00 UTC" in seller_note.text and "complain" in seller_note.text


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (_rejection(state="open", shipment_id=None), "not_rejected_as_shipped"),
        (_rejection(shipment_id=None), "not_rejected_as_shipped"),  # rejected, but not as shipped
        (_rejection(state="approved", shipment_id=None), "not_rejected_as_shipped"),
    ],
)
def test_proof_can_be_asked_only_after_a_rejection_as_shipped(
    request_: CancellationRequest, code: str
) -> None:
    with pytest.raises(Refused) as e:
        proofs.ask("prf_1", request_, "buyer_1", [], T0, POLICY)
    assert _code(e) == code


def test_once_per_rejection_and_only_by_its_buyer() -> None:
    with pytest.raises(Refused) as e:
        proofs.ask("prf_2", _rejection(), "buyer_1", [_asked()], T0, POLICY)
    assert _code(e) == "proof_already_requested"
    with pytest.raises(Refused) as e:
        proofs.ask("prf_2", _rejection(), "someone_else", [], T0, POLICY)
    assert _code(e) == "forbidden_actor"


def test_the_seller_provides_in_time_and_the_deadline_is_cancelled() -> None:
    d = proofs.provide(_asked(), "seller_1", PNG, T0 + timedelta(hours=47), POLICY)
    p = d.subject
    assert p.state == ProofState.PROVIDED and d.cancel == ["proof_due"] and d.arm == []
    assert (p.file_sha256, p.file_type, p.file_size) == ("a" * 64, "image/png", 1234)
    assert [n.recipient for n in d.notifications] == ["buyer"]
    with pytest.raises(Refused) as e:
        proofs.provide(p, "seller_1", PNG, T0, POLICY)
    assert _code(e) == "proof_already_provided"
    assert [a.name for a in proofs.actions_for(p, Actor.BUYER) if not a.available] == ["complain"]


def test_a_missed_deadline_lets_the_buyer_complain_once_and_no_late_proof_is_taken() -> None:
    asked = _asked()
    due = T0 + timedelta(hours=48)
    missed = PROOF_REQUEST.fire(asked, "proof_due", due, POLICY, facts=None)  # type: ignore[arg-type]
    assert missed.subject.state == ProofState.MISSED and missed.subject.missed_at == due
    assert {n.recipient for n in missed.notifications} == {"buyer", "seller"}
    with pytest.raises(Refused) as e:
        proofs.provide(missed.subject, "seller_1", PNG, due, POLICY)
    assert _code(e) == "proof_deadline_passed"
    assert proofs.actions_for(missed.subject, Actor.BUYER)[0].available

    d = proofs.complain(missed.subject, "buyer_1", "cmp_1", "No proof came.", due, POLICY)
    assert d.subject.state == ProofState.COMPLAINED
    [complaint] = [x.subject for x in d.also]
    assert isinstance(complaint, Complaint)
    assert (complaint.proof_request_id, complaint.kind, complaint.state) == (
        "prf_1",
        "no_proof_of_dispatch",
        "open",
    )
    with pytest.raises(Refused) as e:
        proofs.complain(d.subject, "buyer_1", "cmp_2", "again", due, POLICY)
    assert _code(e) == "complaint_exists"


def test_no_complaint_before_the_deadline_or_after_a_proof() -> None:
    with pytest.raises(Refused) as e:
        proofs.complain(_asked(), "buyer_1", "cmp_1", "where is it?", T0, POLICY)
    assert _code(e) == "proof_not_missed"
    provided = proofs.provide(_asked(), "seller_1", PNG, T0, POLICY).subject
    with pytest.raises(Refused) as e:
        proofs.complain(provided, "buyer_1", "cmp_1", "where is it?", T0, POLICY)
    assert _code(e) == "proof_provided"


def test_a_stale_deadline_fires_nothing() -> None:
    provided = proofs.provide(_asked(), "seller_1", PNG, T0, POLICY).subject
    assert PROOF_REQUEST.fire(provided, "proof_due", T0 + timedelta(hours=48), POLICY, None) is None  # type: ignore[arg-type]


def test_the_record_counts_answers_and_misses_with_median_and_slowest_hours() -> None:
    rows = [
        (T0, T0 + timedelta(hours=1), cancellation_outcome("approved", "approved")),
        (T0, T0 + timedelta(hours=5), cancellation_outcome("rejected", "rejected_as_shipped")),
        (T0, T0 + timedelta(hours=10), cancellation_outcome("rejected", "rejected")),
        (T0, T0 + timedelta(hours=72), cancellation_outcome("approved", "auto_approved")),
        (T0, None, cancellation_outcome("open", None)),
        (T0, T0, cancellation_outcome("withdrawn", "withdrawn")),
    ]
    assert timing(rows) == Timing(
        total=6, answered=3, missed=1, waiting=1, median_hours=5.0, slowest_hours=10.0
    )
    assert timing([]) == Timing(0, 0, 0, 0, None, None)
