"""A bound for any design on PostgreSQL: the order journey on the idealised schema, raw psycopg.

The PostgreSQL twin of `ideal_schema.py`: the same journey (4 x add to cart, 1 checkout of 4
orders, 4 payments; one transaction per command), the same minimal schema (cart lines that
leave the cart, order and line rows, a pay-by deadline cancelled at payment and a ship-by one
armed, a timeline event per change, a payment and two ledger postings; integer keys handed out
in order, one index where a query needs one, no notifications, no JSON) on the same server
and database settings as OrderGuard's run (durability as configured: `synchronous_commit` is
not touched). Each command is ONE round trip: BEGIN, its statements and COMMIT go out in one
psycopg pipeline, an order's rows are written by one statement (a chain of data-modifying
CTEs from the order's INSERT ... RETURNING), and nothing runs between the statements. A
design that reads before it writes (OrderGuard checks the cart, the offers and the order
first) needs at least one more round trip a command.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import psycopg

from benchmarks import run as bench
from benchmarks.round_trips import counting

SCHEMA = """
CREATE TABLE offers (id bigint PRIMARY KEY, stock bigint NOT NULL);
CREATE TABLE cart_items (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, buyer bigint, offer bigint,
                         qty int, order_id bigint);
CREATE INDEX ix_cart_items_buyer ON cart_items (buyer);
CREATE INDEX ix_cart_items_order ON cart_items (order_id);
CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, buyer bigint, store bigint,
                     state text, total int, placed_at timestamptz, paid_at timestamptz);
CREATE INDEX ix_orders_buyer ON orders (buyer, id);
CREATE TABLE lines (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, order_id bigint, offer bigint,
                    qty int, price int);
CREATE INDEX ix_lines_order ON lines (order_id);
CREATE TABLE deadlines (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, order_id bigint, kind text,
                        due_at timestamptz, state text);
CREATE INDEX ix_deadlines_due ON deadlines (due_at) WHERE state = 'armed';
CREATE INDEX ix_deadlines_order ON deadlines (order_id, kind);
CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, order_id bigint, kind text,
                     data text, at timestamptz);
CREATE INDEX ix_events_order ON events (order_id, id);
CREATE TABLE payments (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, order_id bigint, method text,
                       amount int, at timestamptz);
CREATE TABLE postings (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, txn bigint, account text,
                       amount int);
CREATE INDEX ix_postings_account ON postings (account);
"""
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
STORES = list(range(1, bench.STORES_PER_CART + 1))  # the offers' ids, one a store; a cart holds each
PRICE = 999

ADD_ITEM = "INSERT INTO cart_items (buyer, offer, qty) VALUES (%s, %s, 1)"
TAKE_STOCK = "UPDATE offers SET stock = stock - 1 WHERE id = %s"
PLACE = """
WITH o AS (
  INSERT INTO orders (buyer, store, state, total, placed_at) VALUES (%(buyer)s, %(offer)s, 'awaiting_payment',
    %(price)s, %(now)s) RETURNING id
), l AS (
  INSERT INTO lines (order_id, offer, qty, price) SELECT id, %(offer)s, 1, %(price)s FROM o
), d AS (
  INSERT INTO deadlines (order_id, kind, due_at, state) SELECT id, 'pay_by', %(now)s, 'armed' FROM o
), e AS (
  INSERT INTO events (order_id, kind, data, at) SELECT id, 'placed', '{}', %(now)s FROM o
)
UPDATE cart_items SET order_id = o.id FROM o
WHERE cart_items.id = (SELECT min(id) FROM cart_items WHERE buyer = %(buyer)s AND offer = %(offer)s
                        AND order_id IS NULL)
"""
PAY = [
    "SELECT * FROM orders WHERE id = %(order)s FOR UPDATE",
    "INSERT INTO payments (order_id, method, amount, at) VALUES (%(order)s, 'card', %(price)s, %(now)s)",
    "UPDATE orders SET state = 'awaiting_shipment', paid_at = %(now)s WHERE id = %(order)s",
    "UPDATE deadlines SET state = 'cancelled'"
    " WHERE order_id = %(order)s AND kind = 'pay_by' AND state = 'armed'",
    "INSERT INTO deadlines (order_id, kind, due_at, state) VALUES (%(order)s, 'ship_by', %(now)s, 'armed')",
    "INSERT INTO events (order_id, kind, data, at) VALUES (%(order)s, 'paid', '{}', %(now)s)",
    "INSERT INTO postings (txn, account, amount) VALUES (%(order)s, 'buyer:card', -%(price)s),"
    " (%(order)s, 'escrow:order:' || %(order)s, %(price)s)",
    "DELETE FROM cart_items WHERE order_id = %(order)s",
]


def bench_ideal_schema_pg(pg_url: str, orders: int) -> bench.Result:
    with bench.postgres_url(pg_url, "ideal") as url:
        dsn = bench.libpq_dsn(url)
        with psycopg.connect(dsn, autocommit=True) as db:
            stores = made_schema(db)
            warm = bench.STORES_PER_CART * 5  # psycopg prepares a statement on its fifth use
            for buyer in range(-warm, 0, bench.STORES_PER_CART):
                _journey(db, buyer, stores)
            with counting() as trips:  # a few journeys of their own, counted
                _journey(db, -warm - 1, stores)
                counted = trips.count
            cpu = time.process_time()
            started = time.perf_counter()
            for buyer in range(0, orders, bench.STORES_PER_CART):
                _journey(db, buyer, stores[: min(bench.STORES_PER_CART, orders - buyer)])
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu
            paid = paid_orders(db)
    if paid != orders:
        raise AssertionError(f"ideal schema (PostgreSQL): {paid} orders paid, not {orders}")
    per_command = counted / (2 * bench.STORES_PER_CART + 1)
    return bench.Result(
        "PostgreSQL", "orders, ideal schema", orders, elapsed, cpu, round_trips={"per command": per_command}
    )


def made_schema(db: psycopg.Connection[Any]) -> list[int]:
    """The schema and the offers, one a store (`STORES`); the stores' ids."""
    db.execute(SCHEMA)
    db.cursor().executemany("INSERT INTO offers VALUES (%s, %s)", [(s, bench.STOCK) for s in STORES])
    return STORES


def paid_orders(db: psycopg.Connection[Any]) -> int:
    """Orders of the timed buyers (warm-up buyers are negative) awaiting shipment."""
    row = db.execute(
        "SELECT count(*) FROM orders WHERE state = 'awaiting_shipment' AND buyer >= 0"
    ).fetchone()
    assert row is not None
    return int(row[0])


def _journey(db: psycopg.Connection[Any], buyer: int, stores: list[int]) -> None:
    for offer in stores:
        _one_trip(db, [(ADD_ITEM, (buyer, offer))])
    cursors = _one_trip(
        db,
        [(TAKE_STOCK, (offer,)) for offer in stores]
        + [
            (PLACE + " RETURNING o.id", {"buyer": buyer, "offer": o, "price": PRICE, "now": NOW})
            for o in stores
        ],
    )
    for order_id in [row[0] for cursor in cursors[len(stores) :] for row in cursor]:
        _one_trip(db, [(sql, {"order": order_id, "price": PRICE, "now": NOW}) for sql in PAY])


def _one_trip(db: psycopg.Connection[Any], statements: list[tuple[str, Any]]) -> list[psycopg.Cursor[Any]]:
    """BEGIN, the statements and COMMIT in one pipeline: one round trip. Returns each statement's cursor."""
    with db.pipeline():
        db.execute("BEGIN")
        cursors = [db.execute(sql, params) for sql, params in statements]
        db.execute("COMMIT")
    return cursors
