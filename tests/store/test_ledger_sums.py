"""store/ledger_repo.py: balances and the ledger check sum exactly past 64 bits, on both databases."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from sqlalchemy import insert

from orderguard.app.context import Context
from orderguard.domain.money import MAX_MINOR
from orderguard.store import tables as t
from orderguard.store.db import reading, unit_of_work
from orderguard.store.ledger_repo import balance, check, escrow_balances, order_money

AT = datetime(2026, 3, 1, tzinfo=UTC)
M = MAX_MINOR


def _post(ctx: Context, txn_id: str, legs: list[tuple[str, int]], order_id: str | None = None) -> None:
    with unit_of_work(ctx.engine) as conn:
        conn.execute(
            insert(t.postings),
            [
                {
                    "txn_id": txn_id,
                    "kind": "capture" if account.startswith("escrow:") and amount > 0 else "test",
                    "order_id": order_id,
                    "account": account,
                    "amount": amount,
                    "currency": "USD",
                    "created_at": AT,
                }
                for account, amount in legs
            ],
        )


def test_balances_beyond_64_bits_are_exact(ctx: Context) -> None:
    _post(ctx, "txn_1", [("a", M), ("a", M), ("a", M), ("b", -M), ("b", -M), ("b", -M)])
    _post(ctx, "txn_2", [("c", -1), ("c", 1), ("c", -(2**32)), ("c", 2**32 - 1), ("d", 1)])
    _post(ctx, "txn_3", [("escrow:order:o1", M), ("escrow:order:o1", M), ("x", -M), ("x", -M)], "o1")
    with reading(ctx.engine) as conn:
        assert balance(conn, "a") == {"USD": 3 * M}
        assert balance(conn, "b") == {"USD": -3 * M}
        assert balance(conn, "c") == {"USD": -1}
        assert balance(conn, "nobody") == {}
        assert escrow_balances(conn, ["o1"]) == {"o1": 2 * M}
        assert order_money(conn, "o1", "USD").paid == 2 * M
        assert order_money(conn, "o2", "USD").paid == 0
        assert check(conn) == (3, [])


def test_the_check_finds_problems_whose_sums_pass_64_bits(ctx: Context) -> None:
    _post(ctx, "txn_ok", [("a", M), ("a", M), ("b", -M), ("b", -M)])  # balanced, partial sums are not
    _post(ctx, "txn_bad", [("a", M), ("a", M), ("b", -M)])  # off by M
    _post(ctx, "txn_low", [("a", 2**32), ("b", -1)])  # only the low half is off
    _post(ctx, "txn_neg", [("escrow:order:o1", -M), ("escrow:order:o1", -M), ("x", M), ("x", M)], "o1")
    with reading(ctx.engine) as conn:
        count, problems = check(conn)
    assert count == 4
    found = {(p.kind, p.subject, p.detail) for p in problems}
    assert found == {
        ("unbalanced_transaction", "txn_bad", "sums to 92233720368547758.07 USD"),  # M cents, exactly
        ("unbalanced_transaction", "txn_low", "sums to 42949672.95 USD"),
        ("negative_escrow", "escrow:order:o1", "balance -184467440737095516.14 USD"),
    }


def test_random_amounts_sum_as_python_does(ctx: Context) -> None:
    rng = random.Random(7)
    amounts = [rng.choice([M, -M, 1, -1, 2**32, -(2**32), rng.randint(-M, M)]) for _ in range(300)]
    _post(ctx, "txn_r", [("r", a) for a in amounts])
    with reading(ctx.engine) as conn:
        assert balance(conn, "r") == {"USD": sum(amounts)}
