"""`evolve` copies a frozen subject as `dataclasses.replace` does; `constructor` builds it as `cls(...)`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from orderguard.app.ports import DueDeadline
from orderguard.domain.cancellation_requests import CancellationRequest
from orderguard.domain.complaints import Complaint
from orderguard.domain.disputes.model import Dispute, Proposal
from orderguard.domain.fines import Fine
from orderguard.domain.frozen import constructor, evolve
from orderguard.domain.orders.model import Line, Order
from orderguard.domain.payments import Payment
from orderguard.domain.proof_requests import ProofRequest
from orderguard.domain.refunds import Refund
from orderguard.domain.shipments import Shipment

SUBJECTS = [
    Order,
    Payment,
    Shipment,
    CancellationRequest,
    Dispute,
    Proposal,
    Refund,
    Fine,
    Complaint,
    ProofRequest,
]
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _sample(cls: type) -> object:
    """An instance whose every field holds a value of its own (its name, so copies can be told apart)."""
    return cls(**{f.name: f"{f.name}-value" for f in dataclasses.fields(cls)})


@pytest.mark.parametrize("cls", SUBJECTS, ids=lambda c: c.__name__)
def test_a_subject_evolves_as_replace_would_make_it(cls: type) -> None:
    subject = _sample(cls)
    changed = evolve(subject, state="somewhere-else")
    assert changed == dataclasses.replace(subject, state="somewhere-else")  # type: ignore[type-var]
    assert type(changed) is cls
    assert subject.state == "state-value"  # type: ignore[attr-defined]
    with pytest.raises(dataclasses.FrozenInstanceError):
        changed.state = "again"  # type: ignore[attr-defined]


def test_every_field_not_changed_is_the_original_object() -> None:
    order = _sample(Order)
    changed = evolve(order, state="cancelled", cancelled_at=NOW)
    for f in dataclasses.fields(Order):
        expected = {"state": "cancelled", "cancelled_at": NOW}.get(f.name, getattr(order, f.name))
        assert getattr(changed, f.name) is expected


def test_an_unknown_field_is_refused() -> None:
    with pytest.raises(TypeError, match="no field"):
        evolve(_sample(Order), colour="red")


@dataclass(frozen=True)
class _Checked:
    amount: int

    def __post_init__(self) -> None:
        if self.amount < 0:
            raise ValueError("negative")


def test_a_class_with_checks_of_its_own_still_runs_them() -> None:
    assert evolve(_Checked(1), amount=2) == _Checked(2)
    with pytest.raises(ValueError, match="negative"):
        evolve(_Checked(1), amount=-1)


@pytest.mark.parametrize("cls", [*SUBJECTS, Line, DueDeadline], ids=lambda c: c.__name__)
def test_a_constructor_builds_what_the_class_builds_from_every_field(cls: type) -> None:
    values = [f"{f.name}-value" for f in dataclasses.fields(cls)]
    built = constructor(cls)(*values)
    assert type(built) is cls and built == cls(*values)
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.id = "again"  # type: ignore[attr-defined]


def test_a_constructor_wants_every_field() -> None:
    with pytest.raises(TypeError):
        constructor(Line)("line-id")


def test_a_class_with_checks_of_its_own_is_built_by_the_class_itself() -> None:
    assert constructor(_Checked) is _Checked
