"""Double-entry ledger: balanced transactions of postings between accounts (R9.2).

A posting's amount is signed: positive adds to the account's balance. Every
transaction sums to zero per currency. Balances and order amounts are always
computed from postings, never stored.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

EXTERNAL_PAYMENTS = "external:payments"
PLATFORM_COMMISSION = "platform:commission"
PLATFORM_FINES = "platform:fines"
REFUNDS_IN_FLIGHT = "refunds:in_flight"


def escrow(order_id: str) -> str:
    return f"escrow:order:{order_id}"


def seller_payable(store_id: str) -> str:
    return f"seller:{store_id}:payable"


@dataclass(frozen=True, slots=True)
class Posting:
    account: str
    amount: int
    currency: str


@dataclass(frozen=True, slots=True)
class LedgerTransaction:
    kind: str  # capture, release, refund, fine ...
    order_id: str | None
    postings: tuple[Posting, ...]

    def __post_init__(self) -> None:
        if not self.postings:
            raise ValueError("a ledger transaction needs postings")
        unbalanced = imbalance(self.postings)
        if unbalanced:
            raise ValueError(f"unbalanced ledger transaction {self.kind}: {unbalanced}")


def imbalance(postings: Iterable[Posting]) -> dict[str, int]:
    """Per currency, what the postings fail to cancel out (empty when balanced)."""
    sums: dict[str, int] = defaultdict(int)
    for p in postings:
        sums[p.currency] += p.amount
    return {cur: total for cur, total in sums.items() if total != 0}


def transfer(
    kind: str, order_id: str | None, source: str, legs: list[tuple[str, int]], currency: str
) -> LedgerTransaction:
    """Move money out of `source` into each (account, amount) leg; zero legs are dropped."""
    legs = [(account, amount) for account, amount in legs if amount != 0]
    if not legs:
        raise ValueError(f"{kind}: a transfer moves some money")
    total = sum(amount for _, amount in legs)
    postings = [Posting(source, -total, currency)]
    postings += [Posting(account, amount, currency) for account, amount in legs]
    return LedgerTransaction(kind, order_id, tuple(postings))


def capture(order_id: str, amount: int, currency: str) -> LedgerTransaction:
    """Buyer's payment arrives from outside and is held in the order's escrow."""
    return transfer("capture", order_id, EXTERNAL_PAYMENTS, [(escrow(order_id), amount)], currency)


def release(
    order_id: str, store_id: str, escrow_balance: int, commission: int, currency: str
) -> LedgerTransaction:
    """Escrow goes to the seller's payable balance, less the platform commission (R6.5)."""
    return transfer(
        "release",
        order_id,
        escrow(order_id),
        [(seller_payable(store_id), escrow_balance - commission), (PLATFORM_COMMISSION, commission)],
        currency,
    )


def fine(order_id: str, store_id: str, amount: int, currency: str) -> LedgerTransaction:
    """A fine leaves the seller's payable balance for the platform (R4.3); the balance may go negative."""
    return transfer("fine", order_id, seller_payable(store_id), [(PLATFORM_FINES, amount)], currency)


def refund_granted(order_id: str, amount: int, currency: str) -> LedgerTransaction:
    """A refund leaves the order's escrow; it is in flight until the provider settles it (R5.1)."""
    return transfer("refund", order_id, escrow(order_id), [(REFUNDS_IN_FLIGHT, amount)], currency)


def refund_settled(order_id: str, amount: int, currency: str) -> LedgerTransaction:
    """A refund reached the buyer's original payment method: it leaves the platform (R5.2)."""
    return transfer("refund_settled", order_id, REFUNDS_IN_FLIGHT, [(EXTERNAL_PAYMENTS, amount)], currency)
