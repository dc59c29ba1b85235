"""Migrations: the schema they build is `store/tables.py`'s, on both databases; 0004 gives existing
tracking codes an owner."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, select, update

from orderguard.store import tables as t
from orderguard.store.db import make_engine, reading, unit_of_work
from orderguard.store.migrate import alembic_config
from orderguard.store.tables import metadata
from tests.api.helpers import assert_problem
from tests.scenarios.test_r6_fulfilment import paid_order, post_scans, scan
from tests.support import Api, s10


def _migrate(engine: Engine, revision: str) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        if revision == "head":
            command.upgrade(config, revision)
        else:
            command.downgrade(config, revision)


def _different_default(
    _context: Any,
    _inspected: Any,
    _column: Any,
    inspected_default: str | None,
    _metadata_default: Any,
    rendered_metadata_default: str | None,
) -> bool | None:
    """Literal defaults come back as `('')` (SQLite) or `''::text` (PostgreSQL); compare the literals."""
    if inspected_default is None or rendered_metadata_default is None:
        return None
    return _literal(inspected_default) != _literal(rendered_metadata_default)


def _literal(sql: str) -> str:
    return re.sub(r"::[a-z ]+$", "", sql.strip("()")).strip("'\"")


def test_migrated_schema_matches_the_tables_module(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": _different_default}
            )
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_0004_gives_each_code_to_its_first_shipper_and_scans_then_move_only_theirs(api: Api) -> None:
    code = s10("80808080")
    x_buyer, x, x_order = paid_order(api)
    y_buyer, y, y_order = paid_order(api)
    api.post(
        f"/v1/orders/{x_order['id']}/shipments", x.seller, {"carrier": "postal", "tracking_code": code}
    ).raise_for_status()
    api.advance(minutes=1)
    y_shipment = api.post(
        f"/v1/orders/{y_order['id']}/shipments",
        y.seller,
        {"carrier": "postal", "tracking_code": s10("81818181")},
    ).json()

    _migrate(api.ctx.engine, "0003")
    with unit_of_work(api.ctx.engine) as conn:  # before 0004, Y could ship under X's code
        conn.execute(
            update(t.shipments).where(t.shipments.c.id == y_shipment["id"]).values(tracking_code=code)
        )
    _migrate(api.ctx.engine, "head")

    tc = t.tracking_codes.c
    with reading(api.ctx.engine) as conn:
        owners = conn.execute(select(tc.tracking_code, tc.store_id, tc.buyer_id)).all()
    assert [tuple(r) for r in owners] == [(code, x.store_id, x_buyer.id)]  # 81818181 is no one's now

    api.advance(days=1)
    now = datetime.fromisoformat(api.get("/v1/sandbox/clock").json()["now"])
    assert post_scans(api, "postal", {"scans": [scan(code, "delivered", now)]}, 200)["accepted"] == 1
    assert api.status(x_order["id"], x_buyer) == "delivered"
    assert api.status(y_order["id"], y_buyer) == "shipped"
    cy = api.buyer("Cy")
    other = api.place(cy, y)
    api.pay(cy, other["id"])
    r = api.post(
        f"/v1/orders/{other['id']}/shipments", y.seller, {"carrier": "postal", "tracking_code": code}
    )
    assert_problem(r, 409, "tracking_code_in_use")
