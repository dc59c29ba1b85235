"""The SQL floor of the order benchmark: its statements replayed straight through sqlite3.

`bench_orders` times OrderGuard placing and paying orders. This records every statement the
same timed journey sends to SQLite (with its parameters, its BEGIN and its COMMIT), then
replays that recording on a copy of the database as it was before the journey, with nothing
but `sqlite3` calls in a loop: no OrderGuard code, no SQLAlchemy. What is left is what the
storage itself costs for this data model with one transaction per command: parsing (from
sqlite3's statement cache), B-tree work, and writing the changed pages to the WAL at each
commit. OrderGuard cannot place and pay orders faster than this on the same machine.
It is replayed twice: with `synchronous=NORMAL`, as OrderGuard runs, and, for reference only,
with `synchronous=OFF` (no fsync even at checkpoints; not acceptable for money).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sqlite3
import time
from typing import Any, Self

from benchmarks import run as bench
from orderguard.app import cart, payments
from orderguard.store.db import make_engine
from orderguard.store.uow import SqlUnitsOfWork

Recorded = tuple[str, Any, bool]  # (sql, parameters, executemany)


class _RecordingCursor(sqlite3.Cursor):
    def execute(self, sql: str, parameters: Any = (), /) -> Self:
        self.connection.recorded.append((sql, parameters, False))  # type: ignore[attr-defined]
        super().execute(sql, parameters)
        return self

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> Self:
        rows = list(seq_of_parameters)
        self.connection.recorded.append((sql, rows, True))  # type: ignore[attr-defined]
        super().executemany(sql, rows)
        return self


class _RecordingConnection(sqlite3.Connection):
    recorded: list[Recorded]

    def cursor(self, factory: Any = None) -> Any:
        return super().cursor(factory or _RecordingCursor)

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        cursor: sqlite3.Cursor = self.cursor()
        return cursor.execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> sqlite3.Cursor:
        cursor: sqlite3.Cursor = self.cursor()
        return cursor.executemany(sql, seq_of_parameters)

    def commit(self) -> None:
        if self.in_transaction:
            self.recorded.append(("COMMIT", (), False))
        super().commit()

    def rollback(self) -> None:
        if self.in_transaction:
            self.recorded.append(("ROLLBACK", (), False))
        super().rollback()


def bench_orders_sql_floor(orders: int) -> bench.Result:
    """Record the SQL of placing and paying `orders` orders, then time its raw replay."""
    with bench.sqlite_url() as url:
        ctx, _ = bench.new_context(url)
        offer_ids = bench.make_offers(ctx)
        buyers = bench.make_buyers(ctx, orders)
        ctx.engine.dispose()
        path = url.removeprefix("sqlite:///")
        _checkpoint(path)
        shutil.copy(path, path + ".before")

        recorded: list[Recorded] = []
        _RecordingConnection.recorded = recorded  # shared by every connection of the pool
        engine = make_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30, "factory": _RecordingConnection}
        )
        recording = dataclasses.replace(ctx, units=SqlUnitsOfWork(engine), engine=engine)
        for buyer, stores in buyers:
            for offer_id in offer_ids[:stores]:
                cart.add_item(recording, buyer, offer_id, 1, None)
            for order in cart.check_out(recording, buyer, bench.ADDRESS):
                payments.pay(recording, buyer, order.id, "card")
        engine.dispose()

        elapsed, cpu = _replay(path, recorded, "NORMAL")
        off, _ = _replay(path, recorded, "OFF")
        commits = sum(1 for sql, _, _ in recorded if sql == "COMMIT")
        statements = sum(1 for sql, _, _ in recorded if not sql.startswith("PRAGMA")) - 2 * commits
        return bench.Result(
            "SQLite",
            "orders, SQL alone",
            orders,
            elapsed,
            cpu,
            {
                "statements": statements / orders,
                "commits": commits / orders,
                "sync_off_per_second": orders / off,
            },
        )


def _replay(path: str, recorded: list[Recorded], synchronous: str) -> tuple[float, float]:
    """Replay on a fresh copy of the database as it was before; (wall, CPU) seconds."""
    shutil.copy(path + ".before", path)
    for suffix in ("-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", f"synchronous={synchronous}", "foreign_keys=ON"):
        db.execute(f"PRAGMA {pragma}")
    cpu = time.process_time()
    started = time.perf_counter()
    for sql, parameters, many in recorded:
        if many:
            db.executemany(sql, parameters)
        elif not sql.startswith("PRAGMA"):  # the pool's own connection set-up: not the journey's
            db.execute(sql, parameters).fetchall()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    db.close()
    return elapsed, cpu


def _checkpoint(path: str) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
