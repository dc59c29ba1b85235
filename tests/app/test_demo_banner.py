"""The demo's banner lets a newcomer follow the tour from the API alone (issue #11 item 1): it names
the seeded products with their ids and the store the seller account owns, on the first run and on
every later one."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from orderguard import cli
from orderguard.app.context import Context
from orderguard.store import tables as t
from orderguard.store.db import reading

runner = CliRunner()


@pytest.fixture
def served(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Context]]:
    """Run from an empty directory over `db_url`; serving is replaced by a stub that keeps the context."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ORDERGUARD_DATABASE_URL", db_url)
    monkeypatch.delenv("ORDERGUARD_SANDBOX", raising=False)
    calls: list[Context] = []
    monkeypatch.setattr(cli, "_serve", lambda ctx, *args, **kwargs: calls.append(ctx))
    yield calls
    for ctx in calls:
        ctx.engine.dispose()


def test_the_demo_banner_names_the_products_and_the_sellers_store(served: list[Context]) -> None:
    for run in range(2):  # the first run seeds; the second finds the same in the database
        result = runner.invoke(cli.app, ["demo"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        with reading(served[run].engine) as conn:
            products = dict(conn.execute(select(t.products.c.title, t.products.c.id)).all())
            sam = conn.execute(
                select(t.stores.c.id, t.stores.c.name)
                .join(t.accounts, t.accounts.c.id == t.stores.c.seller_id)
                .where(t.accounts.c.name == "Sam Seller")
            ).all()
        out = result.stdout
        assert set(products) == {"Shockproof phone case", "USB-C cable 2 m"}
        for title, product_id in products.items():
            line = next(line for line in out.splitlines() if product_id in line)
            assert title in line
        assert re.search(r"Shockproof phone case\s*│\s*24", out), out
        [(store_id, name)] = sam
        assert f"Sam Seller owns {name} ({store_id})" in out
