"""The results of `orderguard ledger check`, kept so that `/metrics` of any process reports the last."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, insert, select

from orderguard.app.ports import LedgerCheckResult
from orderguard.store import tables as t
from orderguard.store.ledger_repo import LedgerProblem


def record_check(
    conn: Connection,
    checked_at: datetime,
    transactions: int,
    problems: Sequence[LedgerProblem],
    seconds: float,
) -> LedgerCheckResult:
    kinds = dict(sorted(Counter(p.kind for p in problems).items()))
    conn.execute(
        insert(t.ledger_checks).values(
            checked_at=checked_at, transactions=transactions, problems=kinds, seconds=seconds
        )
    )
    return LedgerCheckResult(checked_at, transactions, kinds, seconds)


def last_check(conn: Connection) -> LedgerCheckResult | None:
    c = t.ledger_checks.c
    row = conn.execute(
        select(c.checked_at, c.transactions, c.problems, c.seconds).order_by(c.id.desc()).limit(1)
    ).first()
    if row is None:
        return None
    return LedgerCheckResult(row.checked_at, int(row.transactions), dict(row.problems), float(row.seconds))
