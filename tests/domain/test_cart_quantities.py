"""domain/checkout.py: what an addition and a decrease of a cart line may be (R3.1, R3.3)."""

from __future__ import annotations

import pytest

from orderguard.domain.checkout import check_addition, check_decrease
from orderguard.domain.machine import Refused


@pytest.mark.parametrize("quantity", [0, -1, -(2**63)])
def test_an_addition_adds_at_least_one_unit(quantity: int) -> None:
    with pytest.raises(Refused) as e:
        check_addition(quantity)
    assert (e.value.refusal.code, e.value.refusal.status) == ("invalid_quantity", 422)
    check_addition(1)


def test_a_decrease_goes_from_one_up_to_what_the_line_holds() -> None:
    for new in (1, 2, 3):
        check_decrease(3, new)
    for current, new, code, status in ((3, 4, "not_a_decrease", 409), (3, 0, "invalid_quantity", 422)):
        with pytest.raises(Refused) as e:
            check_decrease(current, new)
        assert (e.value.refusal.code, e.value.refusal.status) == (code, status)
