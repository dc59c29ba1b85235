"""Tracking codes (S10 check digit, carrier formats) and the scan fold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderguard.domain.machine import Refused
from orderguard.domain.shipments import Shipment, shipped_quantities
from orderguard.domain.shipping import (
    SHIPMENT,
    Place,
    Scan,
    check_chosen_carrier,
    check_shipment_lines,
    check_tracking_code,
    fold,
    fully_shipped,
    last_delivery,
    s10_check_digit,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize("code", ["RA473124829GB", "EE123456785CN", "RR000000005RU", "CP987654326DE"])
def test_known_s10_codes_pass(code: str) -> None:
    assert check_tracking_code("postal", code) == code


def test_s10_check_digit_special_cases() -> None:
    assert s10_check_digit("00000000") == 5  # sum % 11 == 0 -> 11 -> 5
    assert s10_check_digit("70000000") == 0  # 7*8 = 56, 56 % 11 == 1 -> 10 -> 0
    assert s10_check_digit("00000001") == 4  # 1*7 = 7 -> 11 - 7


@given(st.text(alphabet="0123456789", min_size=8, max_size=8), st.integers(0, 9))
def test_any_wrong_check_digit_is_refused(serial: str, digit: int) -> None:
    code = f"RR{serial}{digit}CN"
    if digit == s10_check_digit(serial):
        assert check_tracking_code("postal", code) == code
    else:
        with pytest.raises(Refused) as e:
            check_tracking_code("postal", code)
        assert e.value.refusal.code == "invalid_check_digit"


def test_codes_are_normalised_before_checking() -> None:
    assert check_tracking_code("postal", " ra 473124829 gb ") == "RA473124829GB"


@pytest.mark.parametrize(
    ("carrier", "good", "bad"),
    [
        ("cainiao", "LP00123456789012", "LP0012"),
        ("dhl", "1234567890", "12345"),
        ("ups", "1Z999AA10123456784", "1Z99"),
        ("postal", "RA473124829GB", "RA47312482GB"),
    ],
)
def test_each_carrier_has_its_documented_format(carrier: str, good: str, bad: str) -> None:
    assert check_tracking_code(carrier, good) == good
    with pytest.raises(Refused) as e:
        check_tracking_code(carrier, bad)
    assert e.value.refusal.code == "invalid_tracking_code"


def test_s10_shaped_codes_are_checked_whatever_the_carrier() -> None:
    with pytest.raises(Refused) as e:
        check_tracking_code("sandbox", "RA473124828GB")
    assert e.value.refusal.code == "invalid_check_digit"


def test_unknown_carrier_is_refused() -> None:
    with pytest.raises(Refused) as e:
        check_tracking_code("pigeon", "RA473124829GB")
    assert e.value.refusal.code == "unknown_carrier"


def scan(kind: str, hours: int) -> Scan:
    return Scan(kind, T0 + timedelta(hours=hours), Place("PL", "Warsaw"))


def test_fold_orders_scans_by_when_they_happened() -> None:
    arrived = [scan("delivered", 50), scan("accepted", 1), scan("in_transit", 20)]
    assert fold(arrived) == ("delivered", T0 + timedelta(hours=50))


def test_fold_ignores_scans_with_no_transition() -> None:
    assert fold([scan("in_transit", 5), scan("accepted", 6)]) == ("in_transit", T0 + timedelta(hours=5))
    assert fold([scan("delivered", 5), scan("in_transit", 6)])[0] == "delivered"


def test_fold_follows_a_return_to_the_sender() -> None:
    scans = [
        scan("at_pickup_point", 1),
        scan("returned_to_sender", 2),
        scan("in_transit", 3),
        scan("delivered_to_sender", 4),
    ]
    assert fold(scans)[0] == "returned"


def test_no_scan_means_label_created() -> None:
    assert fold([]) == ("label_created", None)


def test_terminal_shipment_states_have_no_way_out() -> None:
    for state in SHIPMENT.terminal:
        assert list(SHIPMENT.events_from(state)) == []


def test_shipment_lines_must_exist_and_fit_what_remains() -> None:
    ordered = {"l1": 3, "l2": 1}
    check_shipment_lines({"l1": 2}, ordered, {"l1": 1})
    for wanted, shipped, code in [
        ({}, {}, "no_lines"),
        ({"l9": 1}, {}, "unknown_line"),
        ({"l1": 0}, {}, "invalid_quantity"),
        ({"l1": 3}, {"l1": 1}, "quantity_exceeds_remaining"),
    ]:
        with pytest.raises(Refused) as e:
            check_shipment_lines(wanted, ordered, shipped)
        assert e.value.refusal.code == code
    assert fully_shipped(ordered, {"l1": 3, "l2": 1})
    assert not fully_shipped(ordered, {"l1": 3})


def test_last_delivery_waits_for_every_parcel() -> None:

    t1, t2 = T0 + timedelta(days=1), T0 + timedelta(days=3)
    assert last_delivery([("delivered", t1), ("delivered", t2)]) == t2
    assert last_delivery([("delivered", t1), ("in_transit", t2)]) is None
    assert last_delivery([]) is None


def test_a_parcel_goes_with_the_carrier_chosen_for_each_of_its_lines() -> None:
    chosen = {"lin_a": "postal", "lin_b": "cainiao"}
    check_chosen_carrier("postal", {"lin_a": 1}, chosen)
    check_chosen_carrier("cainiao", {"lin_b": 2}, chosen)
    with pytest.raises(Refused) as e:
        check_chosen_carrier("dhl", {"lin_a": 1}, chosen)
    assert e.value.refusal.code == "carrier_not_chosen"
    assert "postal for line lin_a, not dhl" in e.value.refusal.detail
    with pytest.raises(Refused) as e:
        check_chosen_carrier("postal", {"lin_a": 1, "lin_b": 1}, chosen)
    assert "cainiao: lin_b; postal: lin_a" in e.value.refusal.detail


def test_shipped_quantities_sum_what_every_parcel_carries_of_each_line() -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    parcels = [
        Shipment("shp_1", "o1", "postal", "CODE1", "in_transit", at, at, {"l1": 2, "l2": 1}),
        Shipment("shp_2", "o1", "postal", "CODE2", "returned", at, at, {"l1": 1}),
    ]
    assert shipped_quantities(parcels) == {"l1": 3, "l2": 1}
    assert shipped_quantities([]) == {}
