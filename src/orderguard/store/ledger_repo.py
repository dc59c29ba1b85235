"""Reading the ledger: balances and the integrity check (R9.2)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, insert, select

from orderguard.domain.ledger import LedgerTransaction, escrow
from orderguard.domain.orders import ORDER
from orderguard.store import tables as t
from orderguard.store.bulk import insert_rows
from orderguard.store.driver import Statement
from orderguard.store.ids import new_id

ENDED_STATES = sorted(ORDER.terminal)


def balance(conn: Connection, account: str) -> dict[str, int]:
    """The account's balance per currency."""
    rows = conn.execute(
        select(t.postings.c.currency, func.sum(t.postings.c.amount))
        .where(t.postings.c.account == account)
        .group_by(t.postings.c.currency)
    )
    return {currency: int(total) for currency, total in rows}


@dataclass(frozen=True, slots=True)
class OrderMoney:
    paid: int  # captured into escrow
    in_escrow: int  # still held: what can be refunded or released


def order_money(conn: Connection, order_id: str, currency: str) -> OrderMoney:
    account = escrow(order_id)
    paid = conn.execute(
        select(func.coalesce(func.sum(t.postings.c.amount), 0)).where(
            t.postings.c.account == account, t.postings.c.kind == "capture"
        )
    ).scalar_one()
    held = balance(conn, account).get(currency, 0)
    return OrderMoney(int(paid), held)


@dataclass(frozen=True, slots=True)
class LedgerProblem:
    kind: str  # unbalanced_transaction | negative_escrow | escrow_not_empty
    subject: str
    detail: str


def check(conn: Connection) -> tuple[int, list[LedgerProblem]]:
    """(transactions checked, problems): every transaction balances, no escrow is negative."""
    problems: list[LedgerProblem] = []
    txn_count = conn.execute(select(func.count(func.distinct(t.postings.c.txn_id)))).scalar_one()
    unbalanced = conn.execute(
        select(t.postings.c.txn_id, t.postings.c.currency, func.sum(t.postings.c.amount))
        .group_by(t.postings.c.txn_id, t.postings.c.currency)
        .having(func.sum(t.postings.c.amount) != 0)
    )
    for txn_id, currency, total in unbalanced:
        problems.append(LedgerProblem("unbalanced_transaction", txn_id, f"sums to {total} {currency}"))
    negative = conn.execute(
        select(t.postings.c.account, t.postings.c.currency, func.sum(t.postings.c.amount))
        .where(t.postings.c.account.like("escrow:%"))
        .group_by(t.postings.c.account, t.postings.c.currency)
        .having(func.sum(t.postings.c.amount) < 0)
    )
    for account, currency, total in negative:
        problems.append(LedgerProblem("negative_escrow", account, f"balance {total} {currency}"))
    ended = select(t.orders.c.id).where(t.orders.c.state.in_(ENDED_STATES))
    left_over = conn.execute(
        select(t.postings.c.order_id, t.postings.c.currency, func.sum(t.postings.c.amount))
        .where(t.postings.c.account.like("escrow:%"), t.postings.c.order_id.in_(ended))
        .group_by(t.postings.c.order_id, t.postings.c.account, t.postings.c.currency)
        .having(func.sum(t.postings.c.amount) != 0)
    )
    for order_id, currency, total in left_over:
        problems.append(LedgerProblem("escrow_not_empty", order_id, f"ended with {total} {currency}"))
    return int(txn_count), problems


def escrow_balances(conn: Connection, order_ids: list[str]) -> dict[str, int]:
    """Escrow held per order (an order has one currency, so one number each)."""
    if not order_ids:
        return {}
    rows = conn.execute(
        select(t.postings.c.order_id, func.sum(t.postings.c.amount))
        .where(t.postings.c.order_id.in_(order_ids), t.postings.c.account.like("escrow:%"))
        .group_by(t.postings.c.order_id)
    )
    return {order_id: int(total) for order_id, total in rows}


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
