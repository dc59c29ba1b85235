"""domain/shipping.py: who may use a carrier's tracking code, and whose shipments its scans move (R6.1)."""

from __future__ import annotations

import pytest

from orderguard.domain.machine import Refused
from orderguard.domain.shipping import CodeHolder, check_code_reuse, holds_code

OWNER = CodeHolder("sto_x", "acc_ann")


def test_the_owner_may_reuse_its_code_for_the_same_buyer() -> None:
    check_code_reuse(OWNER, CodeHolder("sto_x", "acc_ann"), "postal", "RR123")
    assert holds_code(OWNER, CodeHolder("sto_x", "acc_ann"))


@pytest.mark.parametrize(
    "other", [CodeHolder("sto_y", "acc_ann"), CodeHolder("sto_x", "acc_bob"), CodeHolder("sto_y", "acc_bob")]
)
def test_anyone_else_is_refused_and_never_moved_by_its_scans(other: CodeHolder) -> None:
    with pytest.raises(Refused) as e:
        check_code_reuse(OWNER, other, "postal", "RR123")
    assert (e.value.refusal.code, e.value.refusal.status) == ("tracking_code_in_use", 409)
    assert not holds_code(OWNER, other)


def test_a_code_with_no_owner_is_held_by_no_one() -> None:
    assert not holds_code(None, OWNER)
