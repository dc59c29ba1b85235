"""Issue #7 item 9: a cart addition adds at least one unit; a decrease is its own command.

Every refusal is problem+json with a stable code and writes nothing. A decrease never moves the
cart's last-added time nor the line's added time, from which pay-by runs (R3.3).
"""

from __future__ import annotations

from typing import Any

import pytest
from httpx import Response
from sqlalchemy import select

from orderguard.app import cart
from orderguard.app.context import Principal
from orderguard.domain.machine import Actor, Refused
from orderguard.store import tables as t
from orderguard.store.db import reading
from tests.api.helpers import assert_problem, writes_nothing
from tests.support import Api, Listing, Who


def _patch(api: Api, who: Who, item_id: str, body: Any) -> Response:
    return api.client.patch(f"/v1/cart/items/{item_id}", json=body, headers=who.auth)


def _item(api: Api, buyer: Who) -> dict[str, Any]:
    (item,) = api.get("/v1/cart", buyer).json()["items"]
    return dict(item)


def _added_at(api: Api, item_id: str) -> Any:
    with reading(api.ctx.engine) as conn:
        return conn.execute(select(t.cart_items.c.added_at).where(t.cart_items.c.id == item_id)).scalar_one()


@pytest.fixture
def line(api: Api) -> tuple[Who, Listing, dict[str, Any]]:
    """A buyer with one free line of 3 units, added a day ago."""
    buyer, listing = api.buyer(), api.listing(stock=50)
    api.add(buyer, listing, 3)
    api.advance(days=1)
    return buyer, listing, _item(api, buyer)


@pytest.mark.parametrize("quantity", [0, -1, -3, -(2**63 - 1)])
def test_adding_zero_or_less_to_an_existing_line_is_refused(
    api: Api, line: tuple[Who, Listing, dict[str, Any]], quantity: int
) -> None:
    buyer, listing, _ = line
    before = api.get("/v1/cart", buyer).json()
    with writes_nothing(api):
        r = api.add(buyer, listing, quantity, expect=None)
    assert_problem(r, 422, "validation_error")
    assert api.get("/v1/cart", buyer).json() == before  # neither the quantity nor last_added_at moved


def test_the_use_case_refuses_additions_below_one_whoever_calls_it(
    api: Api, line: tuple[Who, Listing, dict[str, Any]]
) -> None:
    buyer, listing, _ = line
    for quantity in (0, -2):
        with writes_nothing(api), pytest.raises(Refused) as e:
            cart.add_item(api.ctx, Principal(buyer.id, Actor.BUYER), listing.offer_id, quantity, None)
        assert e.value.refusal.code == "invalid_quantity"


def test_decreasing_a_line_keeps_its_added_time_and_the_carts(
    api: Api, line: tuple[Who, Listing, dict[str, Any]]
) -> None:
    buyer, _, item = line
    before = api.get("/v1/cart", buyer).json()
    added_at = _added_at(api, item["id"])
    api.advance(days=2)
    r = _patch(api, buyer, item["id"], {"quantity": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [i["quantity"] for i in body["items"]] == [2]
    assert body["last_added_at"] == before["last_added_at"]
    assert api.get("/v1/cart", buyer).json()["last_added_at"] == before["last_added_at"]
    assert _added_at(api, item["id"]) == added_at
    with writes_nothing(api):  # the same quantity again: idempotent, nothing to change
        again = _patch(api, buyer, item["id"], {"quantity": 2})
    assert again.status_code == 200 and again.json() == body


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"quantity": 4}, 409, "not_a_decrease"),
        ({"quantity": 0}, 422, "validation_error"),
        ({"quantity": -1}, 422, "validation_error"),
        ({"quantity": 1.5}, 422, "validation_error"),
        ({"quantity": 2**63}, 422, "validation_error"),
        ({}, 422, "validation_error"),
        ({"quantity": 1, "added_at": "2030-01-01T00:00:00Z"}, 422, "validation_error"),
    ],
    ids=repr,
)
def test_bad_decreases_are_refused(
    api: Api, line: tuple[Who, Listing, dict[str, Any]], body: dict[str, Any], status: int, code: str
) -> None:
    buyer, _, item = line
    with writes_nothing(api):
        r = _patch(api, buyer, item["id"], body)
    assert_problem(r, status, code)


def test_decreasing_an_unknown_item_or_one_held_by_an_order_is_refused(
    api: Api, line: tuple[Who, Listing, dict[str, Any]]
) -> None:
    buyer, _, item = line
    with writes_nothing(api):
        r = _patch(api, buyer, "cit_nope", {"quantity": 1})
    assert_problem(r, 404, "cart_item_not_found")
    api.checkout(buyer)
    with writes_nothing(api):
        r = _patch(api, buyer, item["id"], {"quantity": 1})
    assert_problem(r, 409, "item_in_order")
