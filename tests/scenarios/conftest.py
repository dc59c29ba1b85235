"""Every scenario ends with a ledger that reconciles (R9.2): `orderguard ledger check` would pass."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orderguard.app.context import Context
from orderguard.store.db import reading
from orderguard.store.ledger_repo import check


@pytest.fixture(autouse=True)
def ledger_reconciles_after_each_scenario(ctx: Context) -> Iterator[None]:
    yield
    with reading(ctx.engine) as conn:
        _, problems = check(conn)
    assert problems == [], f"ledger check failed after the scenario: {problems}"
