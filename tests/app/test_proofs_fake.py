"""Proof of dispatch (R4.6) over the in-memory store: what each step writes, keeps and fires."""

from __future__ import annotations

from datetime import timedelta

import pytest
from typer.testing import CliRunner

from orderguard.app import cancellations, proofs
from orderguard.app.context import Principal
from orderguard.app.deadlines import fire_due
from orderguard.cli import app
from orderguard.domain.machine import Actor, Refused
from orderguard.domain.orders import Order
from orderguard.domain.shipping import s10_check_digit
from orderguard.providers.files import MemoryFileStore
from tests import samples
from tests.app.fakes import FakeWorld, fake_world
from tests.app.test_use_cases_fake import _paid


@pytest.fixture
def w() -> FakeWorld:
    return fake_world()


def _rejected_as_shipped(w: FakeWorld) -> tuple[Principal, Principal, Order, str]:
    buyer, seller, order = _paid(w)
    request = cancellations.request_cancellation(w.ctx, buyer, order.id, "no_longer_needed", None, "")
    code = f"RR12345678{s10_check_digit('12345678')}CN"
    cancellations.reject(w.ctx, seller, request.request.id, "sent", "postal", code)
    return buyer, seller, order, request.request.id


def _files(w: FakeWorld) -> dict[str, bytes]:
    store = w.ctx.files
    assert isinstance(store, MemoryFileStore)
    return store.files


def test_asked_provided_and_the_file_kept_before_it_is_recorded(w: FakeWorld) -> None:
    buyer, seller, order, request_id = _rejected_as_shipped(w)
    view = proofs.ask_for_proof(w.ctx, buyer, order.id, None)
    proof = view.proof
    assert proof.cancellation_request_id == request_id and proof.due_at == w.clock.now() + timedelta(hours=48)
    assert [d.kind for d in view.deadlines] == ["proof_due"]
    armed = [d for d in w.db.rows.deadlines if d.subject_id == proof.id and d.state == "armed"]
    assert [(d.subject_type, d.kind, d.due_at) for d in armed] == [
        ("proof_request", "proof_due", proof.due_at)
    ]

    data = samples.pdf()
    provided = proofs.upload_proof(w.ctx, seller, proof.id, data, "application/pdf", "receipt.pdf").proof
    assert provided.state == "provided" and _files(w) == {provided.file_sha256: data}
    assert [d.state for d in w.db.rows.deadlines if d.subject_id == proof.id] == ["cancelled"]
    assert proofs.proof_file(w.ctx, buyer, proof.id).data == data


def test_a_refused_file_is_not_kept_and_writes_nothing(w: FakeWorld) -> None:
    buyer, seller, order, _ = _rejected_as_shipped(w)
    proof = proofs.ask_for_proof(w.ctx, buyer, order.id, None).proof
    commits = w.db.commits
    for data, declared, name, code in (
        (b"", None, "a.png", "file_empty"),
        (samples.jpeg(), "image/png", "a.png", "file_type_mismatch"),
        (samples.webm(), "video/webm", "a.webm", "unsupported_file_type"),
    ):
        with pytest.raises(Refused) as e:
            proofs.upload_proof(w.ctx, seller, proof.id, data, declared, name)
        assert e.value.refusal.code == code
    with pytest.raises(Refused) as e:
        proofs.upload_proof(w.ctx, buyer, proof.id, samples.png(), None, None)
    assert e.value.refusal.code == "forbidden_role"
    assert w.db.commits == commits and _files(w) == {}


def test_the_deadline_fires_once_and_opens_the_complaint(w: FakeWorld) -> None:
    buyer, _, order, _ = _rejected_as_shipped(w)
    proof = proofs.ask_for_proof(w.ctx, buyer, order.id, None).proof
    w.clock.set(proof.due_at)
    assert fire_due(w.ctx).fired == 1
    assert fire_due(w.ctx).claimed == 0
    assert w.db.rows.proof_requests[proof.id].state == "missed"
    complaint = proofs.complain(w.ctx, buyer, proof.id, order.id, "  nothing came  ")
    assert complaint.complaint.message == "nothing came"
    assert complaint.record.proof_requests.missed == 1
    assert complaint.record.cancellation_requests.answered == 1
    admin = Principal("adm", Actor.ADMIN)
    page = proofs.admin_complaints(w.ctx, admin, None, 10)
    assert [c.complaint.id for c in page.complaints] == [complaint.complaint.id]
    with pytest.raises(Refused) as e:
        proofs.complain(w.ctx, buyer, proof.id, "ord_other", "x")
    assert e.value.refusal.code == "proof_request_not_found"


def test_policy_diagram_draws_the_proof_request() -> None:
    out = CliRunner().invoke(app, ["policy", "diagram", "proof_request"]).output
    assert "requested --> missed: proof_missed: 48 hours after the buyer asked for proof of dispatch" in out
    assert "missed --> complained: complained (buyer, R4.6)" in out
