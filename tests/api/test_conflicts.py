"""The path a race loser takes (its check found nothing, its insert finds the key taken) is the
same 409 as the check-first path, and writes nothing, on both databases (issue #7 item 3)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from orderguard.store import offers_repo
from orderguard.store import tables as t
from orderguard.store.db import reading, unit_of_work
from orderguard.store.once import insert_once
from tests.api.helpers import assert_problem, writes_nothing
from tests.support import Api, Listing


def _offer_body(listing: Listing) -> dict[str, Any]:
    return {
        "store_id": listing.store_id,
        "product_id": listing.product_id,
        "price": 4_00,
        "currency": "USD",
        "stock": 1,
        "handling_days": 1,
        "shipping_options": [{"carrier": "postal", "price": 0, "promised_days": 10}],
    }


@pytest.mark.parametrize("check_first_sees_it", [True, False], ids=["checked first", "lost the race"])
def test_a_second_offer_of_one_product_by_one_store_is_refused_and_writes_nothing(
    api: Api, monkeypatch: pytest.MonkeyPatch, check_first_sees_it: bool
) -> None:
    listing = api.listing()
    if not check_first_sees_it:  # as if the first offer committed between the check and the insert
        calls: list[str] = []
        real = offers_repo.offer_id_of

        def late(conn: Any, store_id: str, product_id: str) -> str | None:
            calls.append(store_id)
            return None if len(calls) == 1 else real(conn, store_id, product_id)

        monkeypatch.setattr(offers_repo, "offer_id_of", late)
    with writes_nothing(api):
        r = api.post("/v1/offers", listing.seller, _offer_body(listing))
    body = assert_problem(r, 409, "offer_exists")
    assert listing.offer_id in body["detail"]


def test_insert_once_inserts_a_key_once(api: Api) -> None:
    values = {"carrier": "postal", "signature": "v1=ab", "received_at": api.ctx.clock.now()}
    with unit_of_work(api.ctx.engine) as conn:
        assert insert_once(conn, t.carrier_webhooks, values, ("carrier", "signature"))
        assert not insert_once(conn, t.carrier_webhooks, values, ("carrier", "signature"))
        assert insert_once(conn, t.carrier_webhooks, {**values, "carrier": "dhl"}, ("carrier", "signature"))
    with reading(api.ctx.engine) as conn:
        rows = conn.execute(select(t.carrier_webhooks.c.carrier)).scalars().all()
    assert sorted(rows) == ["dhl", "postal"]
