"""Reading the ledger: balances and the integrity check (R9.2).

Every sum of amounts is exact, whatever its size (see `_Sum`): each posting fits in 64 bits
(R9.1, `domain.money.MAX_MINOR`), but a balance adds up postings without bound (a store's
payable grows with every order it closes), so a sum may not fit in 64 bits and is returned as
a Python int.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, bindparam, func, insert, or_, select
from sqlalchemy.sql.elements import ColumnElement

from orderguard.app.ports import OrderMoney
from orderguard.domain.ledger import REFUNDS_IN_FLIGHT, LedgerTransaction, escrow
from orderguard.domain.money import format_minor
from orderguard.domain.orders import ORDER
from orderguard.ids import new_id
from orderguard.store import tables as t
from orderguard.store.bulk import insert_rows
from orderguard.store.driver import Read, Rows, Statement, read
from orderguard.store.refunds_repo import granted_by_order

ENDED_STATES = sorted(ORDER.terminal)
_HALF = 32
_LOW_MASK = (1 << _HALF) - 1


class _Sum:
    """SUM(postings.amount) that cannot overflow, as select columns plus HAVING tests.

    PostgreSQL sums bigint into numeric, exact at any size. SQLite sums 64-bit integers and
    raises "integer overflow" once a partial sum passes 2^63 - 1, so there each amount is
    summed in two halves, `amount >> 32` (arithmetic) and `amount & (2^32 - 1)`; each half-sum
    fits in 64 bits for up to 2^31 postings per group, and the total is
    high * 2^32 + low, joined in Python.
    """

    def __init__(self, *, split: bool) -> None:
        """For SQLite (`split`) or PostgreSQL."""
        amount = t.postings.c.amount
        self.split = split
        if split:
            self.high: ColumnElement[Any] = func.sum(amount.op(">>")(_HALF))
            self.low: ColumnElement[Any] = func.sum(amount.op("&")(_LOW_MASK))
            self.columns: tuple[ColumnElement[Any], ...] = (self.high, self.low)
        else:
            self.columns = (func.sum(amount),)

    def value(self, parts: Sequence[Any]) -> int:
        """The exact total from this sum's columns in a row (0 for a group with no postings)."""
        if not self.split:
            return int(parts[0] or 0)
        high, low = parts
        return (int(high or 0) << _HALF) + int(low or 0)

    def _units(self) -> ColumnElement[Any]:
        # total = (high + (low >> 32)) * 2^32 + (low & mask), with 0 <= low & mask < 2^32,
        # and nothing here passes 64 bits.
        return self.high + self.low.op(">>")(_HALF)

    def nonzero(self) -> ColumnElement[bool]:
        if not self.split:
            return self.columns[0] != 0
        return or_(self._units() != 0, self.low.op("&")(_LOW_MASK) != 0)

    def negative(self) -> ColumnElement[bool]:
        if not self.split:
            return self.columns[0] < 0
        return self._units() < 0


# Built once: building the expressions cost more than running an order page's query.
_SUMS = {split: _Sum(split=split) for split in (True, False)}


def _sum_of(conn: Connection) -> _Sum:
    """The sum for `conn`'s database."""
    return _SUMS[conn.dialect.name == "sqlite"]


def balance(conn: Connection, account: str) -> dict[str, int]:
    """The account's balance per currency."""
    total = _sum_of(conn)
    rows = conn.execute(
        select(t.postings.c.currency, *total.columns)
        .where(t.postings.c.account == account)
        .group_by(t.postings.c.currency)
    )
    return {r[0]: total.value(r[1:]) for r in rows}


def _account_sums(split: bool) -> Select[Any]:
    p = t.postings.c
    return (
        select(p.kind, p.currency, *_SUMS[split].columns)
        .where(p.account == bindparam("b_account"))
        .group_by(p.kind, p.currency)
    )


# An order's page reads it: one query, built once.
_account_sums_by_kind = Statement(_account_sums(True), postgresql=_account_sums(False))


def escrow_sums_read(conn: Connection, order_id: str) -> Read[list[tuple[str, str, int]]]:
    """(posting kind, currency, sum) of the order's escrow postings; `order_money` tells what they
    make (the order's currency need not be known before they are read)."""
    total = _sum_of(conn)

    def sums_from(rows: Rows) -> list[tuple[str, str, int]]:
        return [(kind, currency, total.value(sums)) for kind, currency, *sums in rows]

    return [(_account_sums_by_kind, {"b_account": escrow(order_id)})], sums_from


def money_from(sums: list[tuple[str, str, int]], currency: str) -> OrderMoney:
    """What was captured into the order's escrow, and what it holds in the order's currency."""
    paid = held = 0
    for kind, in_currency, amount in sums:
        paid += amount if kind == "capture" else 0
        held += amount if in_currency == currency else 0
    return OrderMoney(paid, held)


def order_money(conn: Connection, order_id: str, currency: str) -> OrderMoney:
    return money_from(read(conn, escrow_sums_read(conn, order_id)), currency)


@dataclass(frozen=True, slots=True)
class LedgerProblem:
    # unbalanced_transaction | negative_escrow | escrow_not_empty | refunds_exceed_captured |
    # refunds_unposted | refunds_in_flight_mismatch
    kind: str
    subject: str
    detail: str


# What `check` verifies, in order: one aggregate query each, so a progress bar counts these.
CHECK_STEPS = (
    "every transaction balances",
    "no escrow is negative",
    "ended orders hold no escrow",
    "refunds reconcile",
)


def check(conn: Connection, on_step: Callable[[str], None] | None = None) -> tuple[int, list[LedgerProblem]]:
    """(transactions checked, problems): every transaction balances, no escrow is negative, an
    ended order's escrow is empty, and the refunds reconcile with the ledger (`refund_problems`).

    `on_step` is told the name of each of CHECK_STEPS once it is done (a progress bar)."""
    step = on_step or (lambda _: None)
    problems: list[LedgerProblem] = []
    total = _sum_of(conn)
    txn_count = conn.execute(select(func.count(func.distinct(t.postings.c.txn_id)))).scalar_one()
    unbalanced = conn.execute(
        select(t.postings.c.txn_id, t.postings.c.currency, *total.columns)
        .group_by(t.postings.c.txn_id, t.postings.c.currency)
        .having(total.nonzero())
    )
    for txn_id, currency, *parts in unbalanced:
        amount = format_minor(total.value(parts), currency)
        problems.append(LedgerProblem("unbalanced_transaction", txn_id, f"sums to {amount}"))
    step(CHECK_STEPS[0])
    negative = conn.execute(
        select(t.postings.c.account, t.postings.c.currency, *total.columns)
        .where(t.postings.c.account.like("escrow:%"))
        .group_by(t.postings.c.account, t.postings.c.currency)
        .having(total.negative())
    )
    for account, currency, *parts in negative:
        amount = format_minor(total.value(parts), currency)
        problems.append(LedgerProblem("negative_escrow", account, f"balance {amount}"))
    step(CHECK_STEPS[1])
    ended = select(t.orders.c.id).where(t.orders.c.state.in_(ENDED_STATES))
    left_over = conn.execute(
        select(t.postings.c.order_id, t.postings.c.currency, *total.columns)
        .where(t.postings.c.account.like("escrow:%"), t.postings.c.order_id.in_(ended))
        .group_by(t.postings.c.order_id, t.postings.c.account, t.postings.c.currency)
        .having(total.nonzero())
    )
    for order_id, currency, *parts in left_over:
        amount = format_minor(total.value(parts), currency)
        problems.append(LedgerProblem("escrow_not_empty", order_id, f"ended with {amount}"))
    step(CHECK_STEPS[2])
    problems += refund_problems(conn)
    step(CHECK_STEPS[3])
    return int(txn_count), problems


def refund_problems(conn: Connection) -> list[LedgerProblem]:
    """Per order and currency (R5.3, R9.2): the refunds granted never exceed what was captured, each
    left escrow in the ledger, and `refunds:in_flight` holds exactly the refunds not settled yet."""
    granted = granted_by_order(conn)
    captured = _per_order(conn, t.postings.c.kind == "capture", t.postings.c.account.like("escrow:%"))
    refunded = _per_order(conn, t.postings.c.kind == "refund", t.postings.c.account.like("escrow:%"))
    in_flight = _per_order(conn, t.postings.c.account == REFUNDS_IN_FLIGHT)
    problems = []
    for (order_id, currency), (total, _) in sorted(granted.items()):
        if total > captured.get((order_id, currency), 0):
            problems.append(
                LedgerProblem(
                    "refunds_exceed_captured",
                    order_id,
                    f"{format_minor(total, currency)} refunded, "
                    f"{format_minor(captured.get((order_id, currency), 0), currency)} captured",
                )
            )
    for key in sorted(set(granted) | set(refunded), key=str):
        order_id, currency = key
        total = granted.get(key, (0, 0))[0]
        if -refunded.get(key, 0) != total:
            problems.append(
                LedgerProblem(
                    "refunds_unposted",
                    order_id or REFUNDS_IN_FLIGHT,
                    f"refunds of {format_minor(total, currency)} granted, "
                    f"{format_minor(-refunded.get(key, 0), currency)} left escrow",
                )
            )
    for key in sorted(set(granted) | set(in_flight), key=str):
        order_id, currency = key
        unsettled = granted.get(key, (0, 0))[1]
        if in_flight.get(key, 0) != unsettled:
            problems.append(
                LedgerProblem(
                    "refunds_in_flight_mismatch",
                    order_id or REFUNDS_IN_FLIGHT,
                    f"{REFUNDS_IN_FLIGHT} holds {format_minor(in_flight.get(key, 0), currency)}, "
                    f"the unsettled refunds {format_minor(unsettled, currency)}",
                )
            )
    return problems


def _per_order(conn: Connection, *where: ColumnElement[bool]) -> dict[tuple[str, str], int]:
    """SUM(amount) of the postings matching `where`, per (order id, currency)."""
    total = _sum_of(conn)
    rows = conn.execute(
        select(t.postings.c.order_id, t.postings.c.currency, *total.columns)
        .where(*where)
        .group_by(t.postings.c.order_id, t.postings.c.currency)
    )
    return {(order_id, currency): total.value(parts) for order_id, currency, *parts in rows}


def escrow_balances(conn: Connection, order_ids: list[str]) -> dict[str, int]:
    """Escrow held per order (an order has one currency, so one number each)."""
    if not order_ids:
        return {}
    total = _sum_of(conn)
    rows = conn.execute(
        select(t.postings.c.order_id, *total.columns)
        .where(t.postings.c.order_id.in_(order_ids), t.postings.c.account.like("escrow:%"))
        .group_by(t.postings.c.order_id)
    )
    return {r[0]: total.value(r[1:]) for r in rows}


_insert_postings = Statement(insert(t.postings))


def write_ledger(conn: Connection, txns: Sequence[LedgerTransaction], now: datetime) -> None:
    if txns:
        rows = []
        for txn in txns:
            txn_id = new_id("txn")
            rows += [
                {
                    "txn_id": txn_id,
                    "kind": txn.kind,
                    "order_id": txn.order_id,
                    "account": p.account,
                    "amount": p.amount,
                    "currency": p.currency,
                    "created_at": now,
                }
                for p in txn.postings
            ]
        insert_rows(conn, _insert_postings, rows)
