"""store/bulk.insert_rows: a few rows or a batch, on either database, written as given and in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from orderguard.app.context import Context
from orderguard.domain.decision import Event
from orderguard.store import tables as t
from orderguard.store.bulk import BATCH_ROWS
from orderguard.store.events_repo import write_events

AT = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("count", [BATCH_ROWS - 1, BATCH_ROWS, 3 * BATCH_ROWS + 1])
def test_rows_come_back_as_written_in_the_order_given(ctx: Context, count: int) -> None:
    written = [
        (
            f"ord_{count - i:04d}",  # ids that sort against the order given
            "order",
            f"ord_{count - i:04d}",
            Event(
                "pay_by_passed",
                "system",
                None if i % 3 else f"acc_{i}",  # NULLs among the values
                "R3.3",
                AT + timedelta(seconds=i, microseconds=i),
                {"i": i, "text": 'quotes " and \\\\ and ünïcode', "nested": {"list": [1, None]}},
            ),
        )
        for i in range(count)
    ]
    expected = [
        (order_id, kind, subject_id, ev.kind, ev.actor, ev.actor_id, ev.rule, ev.data, ev.at)
        for order_id, kind, subject_id, ev in written
    ]
    assert _written_and_read(ctx, written) == expected


@pytest.mark.parametrize("count", [BATCH_ROWS, 2 * BATCH_ROWS])
def test_values_shared_by_every_row_are_written_to_each(ctx: Context, count: int) -> None:
    """A due storm's batch: one time, kind, actor and rule, no actor id, the same data; only the
    order differs (columns alike across the batch are sent once, not as arrays)."""
    data = {"reason": "not paid in time", "nested": {"list": [1, None]}}
    written = [
        (f"ord_{i:04d}", "order", f"ord_{i:04d}", Event("pay_by_passed", "system", None, "R3.3", AT, data))
        for i in range(count)
    ]
    assert _written_and_read(ctx, written) == [
        (f"ord_{i:04d}", "order", f"ord_{i:04d}", "pay_by_passed", "system", None, "R3.3", data, AT)
        for i in range(count)
    ]


def _written_and_read(ctx: Context, written: list[tuple[str, str, str, Event]]) -> list[tuple[Any, ...]]:
    """The events written in one transaction, read back in the order of their ids; every time
    comes back in UTC."""
    with ctx.engine.begin() as conn:
        write_events(conn, written)
    e = t.events.c
    columns = (e.order_id, e.subject_type, e.subject_id, e.kind, e.actor, e.actor_id, e.rule, e.data)
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(*columns, e.occurred_at).order_by(e.id)).all()
    assert all(r.occurred_at.tzinfo is UTC for r in rows)
    return [tuple(r) for r in rows]
