"""store/notifications_repo.notify: recipients given by the caller, or found from the order, in order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from orderguard.app.context import Context
from orderguard.store import tables as t
from orderguard.store.db import unit_of_work
from orderguard.store.notifications_repo import notify
from tests.support import Api, server_plans

AT = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_buyers_given_are_taken_as_they_are_and_the_other_recipients_found_from_the_order(api: Api) -> None:
    buyer, other = api.buyer("Ann"), api.buyer("Bob")
    listing = api.listing()
    first, second = api.place(buyer, listing)["id"], api.place(other, listing)["id"]
    with api.ctx.engine.begin() as conn:
        conn.execute(t.notifications.delete())
        notify(
            conn,
            [
                (first, "buyer", "k1", "to the buyer given"),
                (first, "seller", "k2", "to the seller, looked up"),
                (second, "buyer", "k3", "to a buyer not given, looked up"),
                (first, "buyer", "k4", "to the buyer given, again"),
            ],
            AT,
            buyers={first: "acc_given"},  # trusted as given: not the order's buyer, to tell them apart
        )
    with api.ctx.engine.connect() as conn:
        n = t.notifications.c
        rows = conn.execute(select(n.kind, n.account_id, n.order_id, n.created_at).order_by(n.id)).all()
    assert [tuple(r) for r in rows] == [
        ("k1", "acc_given", first, AT),
        ("k2", listing.seller.id, first, AT),
        ("k3", other.id, second, AT),
        ("k4", "acc_given", first, AT),
    ]


@pytest.mark.postgres_only
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_the_server_plans_the_notifications_insert_once(ctx: Context) -> None:
    """Notifications are inserted from arrays (store/notifications_repo.py); the server runs the
    prepared INSERT on its generic plan after five executions instead of planning it at each (with
    the arrays given straight to unnest, it made a custom plan every time: 0 generic, 9 custom)."""
    with unit_of_work(ctx.engine) as conn:
        for i in range(10):
            rows = [("ord_a", "buyer", "paid", f"paid {i}")] * (1 + i % 3)
            notify(conn, rows, AT, buyers={"ord_a": "acc_b"})
            conn.exec_driver_sql("SELECT 1")  # sends the queued INSERT, as the unit's next read would
        generic, custom = server_plans(conn, "INSERT INTO notifications")
        assert generic >= 1 and custom <= 5
        written = conn.exec_driver_sql("SELECT count(*) FROM notifications").scalar()
        assert written == sum(1 + i % 3 for i in range(10))
