"""Money (R9.1): integer minor units, one currency, 64-bit range, half-up rounding, exact splits."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderguard.domain.money import MAX_MINOR, Money, MoneyError, split_proportionally, zero

# --- construction ------------------------------------------------------------------


def test_unknown_currency_is_refused() -> None:
    with pytest.raises(MoneyError) as e:
        Money(100, "XYZ")
    assert e.value.code == "unknown_currency"


def test_lowercase_currency_is_refused() -> None:
    with pytest.raises(MoneyError):
        Money(100, "usd")


@pytest.mark.parametrize("minor", [MAX_MINOR + 1, -MAX_MINOR - 1, 2**64])
def test_amount_outside_64_bits_is_refused(minor: int) -> None:
    with pytest.raises(MoneyError) as e:
        Money(minor, "USD")
    assert e.value.code == "amount_out_of_range"


@pytest.mark.parametrize("minor", [MAX_MINOR, -MAX_MINOR, 0])
def test_amount_at_the_64_bit_edge_is_accepted(minor: int) -> None:
    assert Money(minor, "USD").minor == minor


def test_zero_is_zero_in_that_currency() -> None:
    assert zero("JPY") == Money(0, "JPY")


# --- arithmetic -------------------------------------------------------------------


def test_add_and_subtract_same_currency() -> None:
    assert Money(150, "EUR") + Money(75, "EUR") == Money(225, "EUR")
    assert Money(150, "EUR") - Money(175, "EUR") == Money(-25, "EUR")


def test_times_multiplies_minor_units() -> None:
    assert Money(1999, "USD").times(3) == Money(5997, "USD")


@pytest.mark.parametrize("op", ["add", "sub"])
def test_currency_mismatch_is_refused(op: str) -> None:
    a, b = Money(100, "USD"), Money(100, "EUR")
    with pytest.raises(MoneyError) as e:
        _ = a + b if op == "add" else a - b
    assert e.value.code == "currency_mismatch"


def test_addition_overflowing_64_bits_is_refused() -> None:
    with pytest.raises(MoneyError) as e:
        Money(MAX_MINOR, "USD") + Money(1, "USD")
    assert e.value.code == "amount_out_of_range"


def test_times_overflowing_64_bits_is_refused() -> None:
    with pytest.raises(MoneyError):
        Money(MAX_MINOR // 2 + 1, "USD").times(2)


# --- basis points, half up (away from zero) -----------------------------------------------


@pytest.mark.parametrize(
    ("minor", "bps", "expected"),
    [
        (10_000, 500, 500),  # exact 5%
        (1_010, 500, 51),  # 50.5 -> 51
        (1_009, 500, 50),  # 50.45 -> 50
        (10, 500, 1),  # 0.5 -> 1
        (9, 500, 0),  # 0.45 -> 0
        (1, 5_000, 1),  # 0.5 -> 1
        (1, 4_999, 0),  # 0.4999 -> 0
        (-1_010, 500, -51),  # -50.5 -> -51, away from zero
        (-1_009, 500, -50),  # -50.45 -> -50
        (-1, 5_000, -1),  # -0.5 -> -1
        (-1, 4_999, 0),
        (12_345, 0, 0),
        (12_345, 10_000, 12_345),
        (1_010, -500, -51),  # negative rate rounds away from zero too
    ],
)
def test_bps_rounds_half_up_away_from_zero(minor: int, bps: int, expected: int) -> None:
    assert Money(minor, "USD").bps(bps) == Money(expected, "USD")


def test_bps_keeps_currency() -> None:
    assert Money(1_000, "KWD").bps(250).currency == "KWD"


@given(st.integers(-(10**12), 10**12), st.integers(0, 10_000))
def test_bps_is_the_exact_share_rounded_half_away_from_zero(minor: int, bps: int) -> None:
    exact = Fraction(minor * bps, 10_000)
    result = Money(minor, "USD").bps(bps).minor
    assert abs(result - exact) <= Fraction(1, 2)
    if abs(result - exact) == Fraction(1, 2):
        assert abs(result) > abs(exact)


@given(st.integers(-(10**12), 10**12), st.integers(0, 10_000))
def test_bps_of_negative_is_negative_of_bps(minor: int, bps: int) -> None:
    assert Money(-minor, "USD").bps(bps).minor == -Money(minor, "USD").bps(bps).minor


# --- formatting by currency exponent -----------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (123_456, "USD", "1234.56 USD"),
        (5, "EUR", "0.05 EUR"),
        (0, "USD", "0.00 USD"),
        (-5, "USD", "-0.05 USD"),
        (-12_345, "GBP", "-123.45 GBP"),
        (1_500, "JPY", "1500 JPY"),
        (-7, "KRW", "-7 KRW"),
        (0, "JPY", "0 JPY"),
        (1_234, "KWD", "1.234 KWD"),
        (5, "BHD", "0.005 BHD"),
        (-1_050, "KWD", "-1.050 KWD"),
    ],
)
def test_format_uses_the_currency_exponent(minor: int, currency: str, text: str) -> None:
    assert Money(minor, currency).format() == text


# --- split_proportionally ------------------------------------------------------------------

totals = st.integers(-(10**12), 10**12)
weights = st.lists(st.integers(0, 10**6), min_size=1, max_size=12).filter(lambda ws: sum(ws) > 0)


@given(totals, weights)
def test_split_parts_sum_to_the_total(total: int, ws: list[int]) -> None:
    parts = split_proportionally(total, ws)
    assert len(parts) == len(ws)
    assert sum(parts) == total


@given(totals, weights)
def test_split_each_part_is_within_one_of_its_exact_share(total: int, ws: list[int]) -> None:
    weight_sum = sum(ws)
    for part, w in zip(split_proportionally(total, ws), ws, strict=True):
        assert abs(part - Fraction(total * w, weight_sum)) < 1


@given(totals, weights)
def test_split_is_deterministic(total: int, ws: list[int]) -> None:
    assert split_proportionally(total, ws) == split_proportionally(total, list(ws))


@given(totals, weights)
def test_split_gives_nothing_to_zero_weights(total: int, ws: list[int]) -> None:
    for part, w in zip(split_proportionally(total, ws), ws, strict=True):
        if w == 0:
            assert part == 0


@given(st.integers(0, 10**12), weights)
def test_split_of_a_non_negative_total_has_no_negative_part(total: int, ws: list[int]) -> None:
    assert all(part >= 0 for part in split_proportionally(total, ws))


def test_split_remainder_ties_go_to_the_earliest_weight() -> None:
    assert split_proportionally(10, [1, 1, 1]) == [4, 3, 3]
    assert split_proportionally(2, [1, 1, 1]) == [1, 1, 0]


def test_split_remainder_goes_to_the_largest_remainder() -> None:
    # exact shares 1.6 / 3.4 -> the 0.6 remainder wins the spare unit over 0.4
    assert split_proportionally(5, [8, 17]) == [2, 3]


def test_split_with_equal_weights_is_even_when_divisible() -> None:
    assert split_proportionally(900, [2, 2, 2]) == [300, 300, 300]


@pytest.mark.parametrize("ws", [[], [0], [0, 0, 0]])
def test_split_with_no_positive_weight_is_refused(ws: list[int]) -> None:
    with pytest.raises(MoneyError) as e:
        split_proportionally(100, ws)
    assert e.value.code == "invalid_split"


def test_split_with_a_negative_weight_is_refused() -> None:
    with pytest.raises(MoneyError):
        split_proportionally(10, [3, -1])
