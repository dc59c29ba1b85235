"""Migration 0016 on a database that holds two armed deadlines of a kind on one subject."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import bindparam, text

from orderguard.store.db import make_engine
from orderguard.store.types import UTCDateTime
from tests.store.conftest import migrate_to

DUE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_duplicates_are_cancelled_but_the_last_armed(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        migrate_to(engine, "0015")
        due = bindparam("due", DUE, type_=UTCDateTime())
        with engine.begin() as conn:
            armed = [("ord_1", "pay_by"), ("ord_1", "pay_by"), ("ord_1", "ship_by"), ("ord_2", "pay_by")]
            for subject, kind in armed:
                conn.execute(
                    text(
                        "INSERT INTO deadlines (subject_type, subject_id, order_id, kind, due_at, state,"
                        " created_at) VALUES ('order', :s, :s, :k, :due, 'armed', :due)"
                    ).bindparams(due),
                    {"s": subject, "k": kind},
                )
        migrate_to(engine, "0016")
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, subject_id, kind, state, settled_at FROM deadlines ORDER BY id")
            ).all()
        assert [(r.subject_id, r.kind, r.state) for r in rows] == [
            ("ord_1", "pay_by", "cancelled"),
            ("ord_1", "pay_by", "armed"),
            ("ord_1", "ship_by", "armed"),
            ("ord_2", "pay_by", "armed"),
        ]
        assert rows[0].settled_at is not None and all(r.settled_at is None for r in rows[1:])
    finally:
        engine.dispose()
