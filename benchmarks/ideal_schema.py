"""A lower bound for any design: the order journey on an idealised, minimal schema, raw sqlite3.

`sql_floor.py` replays OrderGuard's own statements. This asks what the machine allows for the
same journey (4 x add to cart, 1 checkout of 4 orders, 4 payments; one transaction per
command) on the leanest schema that still keeps what the issue requires: cart lines that leave
the cart, order and line rows, a pay-by deadline row cancelled at payment and a ship-by one
armed, a timeline event per change, a payment row and two ledger postings. Integer keys
handed out in order (each insert appends to the right edge of every B-tree), one secondary
index where a query needs it, no notifications, no JSON, no policy key: less than OrderGuard
stores. No application code runs between the statements.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from pathlib import Path

from benchmarks import run as bench

SCHEMA = """
CREATE TABLE offers (id INTEGER PRIMARY KEY, stock INTEGER NOT NULL);
CREATE TABLE cart_items (id INTEGER PRIMARY KEY, buyer INTEGER, offer INTEGER, qty INTEGER, order_id INTEGER);
CREATE INDEX ix_cart_items_buyer ON cart_items (buyer);
CREATE TABLE orders (id INTEGER PRIMARY KEY, buyer INTEGER, store INTEGER, state TEXT, total INTEGER,
                     placed_at TEXT, paid_at TEXT);
CREATE INDEX ix_orders_buyer ON orders (buyer, id);
CREATE TABLE lines (id INTEGER PRIMARY KEY, order_id INTEGER, offer INTEGER, qty INTEGER, price INTEGER);
CREATE INDEX ix_lines_order ON lines (order_id);
CREATE TABLE deadlines (id INTEGER PRIMARY KEY, order_id INTEGER, kind TEXT, due_at TEXT, state TEXT);
CREATE INDEX ix_deadlines_due ON deadlines (due_at) WHERE state = 'armed';
CREATE INDEX ix_deadlines_order ON deadlines (order_id, kind);
CREATE TABLE events (id INTEGER PRIMARY KEY, order_id INTEGER, kind TEXT, data TEXT, at TEXT);
CREATE INDEX ix_events_order ON events (order_id, id);
CREATE TABLE payments (id INTEGER PRIMARY KEY, order_id INTEGER, method TEXT, amount INTEGER, at TEXT);
CREATE TABLE postings (id INTEGER PRIMARY KEY, txn INTEGER, account TEXT, amount INTEGER);
CREATE INDEX ix_postings_account ON postings (account);
"""
NOW = "2026-11-26 09:00:00"
PRICE = 999


def bench_ideal_schema(orders: int) -> bench.Result:
    with tempfile.TemporaryDirectory(prefix="og_ideal_") as tmp:
        db = sqlite3.connect(Path(tmp) / "ideal.db", isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL"):
            db.execute(f"PRAGMA {pragma}")
        db.executescript(SCHEMA)
        stores = range(1, bench.STORES_PER_CART + 1)
        db.executemany("INSERT INTO offers VALUES (?, ?)", [(s, bench.STOCK) for s in stores])
        cpu = time.process_time()
        started = time.perf_counter()
        for buyer in range(0, orders, bench.STORES_PER_CART):
            items = [_add_item(db, buyer, offer) for offer in stores]
            for order_id in _check_out(db, buyer, list(zip(stores, items, strict=True))):
                _pay(db, order_id)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
        paid = db.execute("SELECT count(*) FROM orders WHERE state = 'awaiting_shipment'").fetchone()[0]
        db.close()
    if paid != orders:
        raise AssertionError(f"ideal schema: {paid} orders paid, not {orders}")
    return bench.Result("SQLite", "orders, ideal schema", orders, elapsed, cpu)


def _add_item(db: sqlite3.Connection, buyer: int, offer: int) -> int:
    db.execute("BEGIN IMMEDIATE")
    item = db.execute("INSERT INTO cart_items (buyer, offer, qty) VALUES (?, ?, 1)", (buyer, offer)).lastrowid
    db.execute("COMMIT")
    assert item is not None
    return item


def _check_out(db: sqlite3.Connection, buyer: int, items: list[tuple[int, int]]) -> list[int]:
    db.execute("BEGIN IMMEDIATE")
    placed = []
    for offer, item in items:
        db.execute("UPDATE offers SET stock = stock - 1 WHERE id = ?", (offer,))
        order_id = db.execute(
            "INSERT INTO orders (buyer, store, state, total, placed_at)"
            " VALUES (?, ?, 'awaiting_payment', ?, ?)",
            (buyer, offer, PRICE, NOW),
        ).lastrowid
        db.execute(
            "INSERT INTO lines (order_id, offer, qty, price) VALUES (?, ?, 1, ?)", (order_id, offer, PRICE)
        )
        db.execute(
            "INSERT INTO deadlines (order_id, kind, due_at, state) VALUES (?, 'pay_by', ?, 'armed')",
            (order_id, NOW),
        )
        db.execute(
            "INSERT INTO events (order_id, kind, data, at) VALUES (?, 'placed', '{}', ?)", (order_id, NOW)
        )
        db.execute("UPDATE cart_items SET order_id = ? WHERE id = ?", (order_id, item))
        assert order_id is not None
        placed.append(order_id)
    db.execute("COMMIT")
    return placed


def _pay(db: sqlite3.Connection, order_id: int) -> None:
    db.execute("BEGIN IMMEDIATE")
    db.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchall()
    db.execute(
        "INSERT INTO payments (order_id, method, amount, at) VALUES (?, 'card', ?, ?)", (order_id, PRICE, NOW)
    )
    db.execute("UPDATE orders SET state = 'awaiting_shipment', paid_at = ? WHERE id = ?", (NOW, order_id))
    db.execute(
        "UPDATE deadlines SET state = 'cancelled' WHERE order_id = ? AND kind = 'pay_by' AND state = 'armed'",
        (order_id,),
    )
    db.execute(
        "INSERT INTO deadlines (order_id, kind, due_at, state) VALUES (?, 'ship_by', ?, 'armed')",
        (order_id, NOW),
    )
    db.execute("INSERT INTO events (order_id, kind, data, at) VALUES (?, 'paid', '{}', ?)", (order_id, NOW))
    db.executemany(
        "INSERT INTO postings (txn, account, amount) VALUES (?, ?, ?)",
        [(order_id, "buyer:card", -PRICE), (order_id, f"escrow:order:{order_id}", PRICE)],
    )
    db.execute("DELETE FROM cart_items WHERE order_id = ?", (order_id,))
    db.execute("COMMIT")
