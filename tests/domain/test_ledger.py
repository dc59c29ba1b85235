"""Double-entry ledger (R9.2): every transaction balances per currency."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderguard.domain import ledger
from orderguard.domain.ledger import LedgerTransaction, Posting, imbalance


def test_balanced_transaction_is_accepted() -> None:
    tx = LedgerTransaction("manual", None, (Posting("a", -100, "USD"), Posting("b", 100, "USD")))
    assert len(tx.postings) == 2


def test_unbalanced_transaction_is_refused() -> None:
    with pytest.raises(ValueError, match="unbalanced"):
        LedgerTransaction("manual", None, (Posting("a", -100, "USD"), Posting("b", 99, "USD")))


def test_transaction_without_postings_is_refused() -> None:
    with pytest.raises(ValueError, match="needs postings"):
        LedgerTransaction("manual", None, ())


def test_balance_is_per_currency_not_across_currencies() -> None:
    with pytest.raises(ValueError):
        LedgerTransaction("manual", None, (Posting("a", -100, "USD"), Posting("b", 100, "EUR")))


def test_imbalance_is_empty_when_balanced() -> None:
    assert imbalance([Posting("a", 5, "USD"), Posting("b", -5, "USD")]) == {}


def test_imbalance_reports_each_unbalanced_currency() -> None:
    postings = [
        Posting("a", 5, "USD"),
        Posting("b", -3, "USD"),
        Posting("c", 7, "EUR"),
        Posting("d", 1, "JPY"),
        Posting("e", -1, "JPY"),
    ]
    assert imbalance(postings) == {"USD": 2, "EUR": 7}


def test_account_names() -> None:
    assert ledger.escrow("o1") == "escrow:order:o1"
    assert ledger.seller_payable("s1") == "seller:s1:payable"


def test_capture_moves_external_money_into_escrow() -> None:
    tx = ledger.capture("o1", 2_500, "EUR")
    assert tx.kind == "capture"
    assert tx.order_id == "o1"
    assert set(tx.postings) == {
        Posting(ledger.EXTERNAL_PAYMENTS, -2_500, "EUR"),
        Posting("escrow:order:o1", 2_500, "EUR"),
    }


def test_release_pays_the_seller_less_commission() -> None:
    tx = ledger.release("o1", "s1", escrow_balance=1_000, commission=50, currency="USD")
    assert tx.kind == "release"
    assert set(tx.postings) == {
        Posting("escrow:order:o1", -1_000, "USD"),
        Posting("seller:s1:payable", 950, "USD"),
        Posting(ledger.PLATFORM_COMMISSION, 50, "USD"),
    }
    assert imbalance(tx.postings) == {}


def test_release_with_zero_commission_drops_the_commission_leg() -> None:
    tx = ledger.release("o1", "s1", escrow_balance=1_000, commission=0, currency="USD")
    accounts = [p.account for p in tx.postings]
    assert ledger.PLATFORM_COMMISSION not in accounts
    assert set(tx.postings) == {
        Posting("escrow:order:o1", -1_000, "USD"),
        Posting("seller:s1:payable", 1_000, "USD"),
    }


def test_transfer_drops_zero_legs() -> None:
    tx = ledger.transfer("refund", "o1", "escrow:order:o1", [("a", 0), ("b", 30), ("c", 0)], "USD")
    assert [p.account for p in tx.postings] == ["escrow:order:o1", "b"]
    assert tx.postings[0].amount == -30


def test_transfer_takes_the_sum_of_legs_from_the_source() -> None:
    tx = ledger.transfer("fine", "o1", "src", [("x", 10), ("y", 20)], "GBP")
    assert tx.postings[0] == Posting("src", -30, "GBP")
    assert all(p.currency == "GBP" for p in tx.postings)


legs = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.integers(-(10**15), 10**15)),
    min_size=1,
    max_size=8,
).filter(lambda ls: any(n != 0 for _, n in ls))


def test_a_transfer_that_moves_nothing_is_refused() -> None:
    with pytest.raises(ValueError):
        ledger.transfer("any", None, "source", [("a", 0), ("b", 0)], "USD")


@given(legs)
def test_any_transfer_balances(legs_: list[tuple[str, int]]) -> None:
    tx = ledger.transfer("any", None, "source", legs_, "USD")
    assert imbalance(tx.postings) == {}
    assert sum(p.amount for p in tx.postings) == 0


@given(legs)
def test_transfer_keeps_every_nonzero_leg(legs_: list[tuple[str, int]]) -> None:
    tx = ledger.transfer("any", None, "source", legs_, "USD")
    assert [(p.account, p.amount) for p in tx.postings[1:]] == [(a, n) for a, n in legs_ if n != 0]


@given(st.integers(1, 10**15), st.integers(0, 10**15))
def test_any_release_balances(balance: int, commission: int) -> None:
    tx = ledger.release("o1", "s1", balance, min(commission, balance), "USD")
    assert imbalance(tx.postings) == {}
