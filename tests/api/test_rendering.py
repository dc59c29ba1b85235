"""Pages rendered from their fields (api/rendering.py) are their response models' JSON, byte for byte.

The test suite turns the rendering's check on (tests/conftest.py), so every request of every test
that reaches a rendered page also compares it with its model's JSON; these tests make sure that
check can fail, and drive the rendered pages through the states whose fields vary the most.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from orderguard.api import models, rendering
from tests.dispute_support import shipped
from tests.support import Api

AT = datetime(2026, 11, 26, 9, 30, 15, 250_000, tzinfo=UTC)


def _page_fields() -> dict[str, Any]:
    order = {
        "id": "ord_1",
        "status": "awaiting_shipment",
        "store_id": "sto_1",
        "buyer_id": "acc_1",
        "currency": "USD",
        "items_total": 1_999,
        "shipping_total": 200,
        "total": 2_199,
        "placed_at": AT,
        "pay_by_at": datetime(2026, 11, 27, 9, 30, tzinfo=UTC),
        "policy_version": "2026-01",
        "your_role": "buyer",
        "actions": [
            {"action": "open_dispute", "available": True, "code": None, "reason": None, "until": AT},
            {
                "action": "pay",
                "available": False,
                "code": "already_paid",
                "reason": 'paid "once" é',
                "until": None,
            },
        ],
        "deadlines": [
            {
                "kind": "ship_by",
                "due_at": AT,
                "must_act": "seller",
                "action_needed": "ship",
                "on_expiry": "cancelled, refunded",
                "rule": "R5.1",
            }
        ],
    }
    return {"orders": [order], "next_cursor": None}


def test_a_rendering_is_byte_for_byte_the_models_json() -> None:
    fields = _page_fields()
    rendered = rendering.render(models.OrderPage, fields)
    assert rendered.body == models.OrderPage.model_validate(fields).model_dump_json().encode()
    assert rendered.media_type == "application/json" and rendered.status_code == 200
    offers = {
        "product": {"id": "prd_1", "title": "Case", "description": ""},
        "ranking": "lower is better",
        "offers": [],
    }
    assert rendering.render(models.ProductOffers, offers).body == (
        models.ProductOffers.model_validate(offers).model_dump_json().encode()
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda o: o.update(total="2199"), "a number as a string"),
        (lambda o: o.update(items_total=1_999.0), "a whole float for an integer"),
        (lambda o: o.update(status="awaiting_shipment") or o.update(id=o.pop("id")), "a key out of order"),
    ],
    ids=lambda p: p if isinstance(p, str) else "",
)
def test_a_rendering_that_drifts_from_its_model_raises_while_checked(change: Any, field: str) -> None:
    fields = _page_fields()
    change(fields["orders"][0])
    with pytest.raises(rendering.RenderingDrift, match="OrderPage rendered as"):
        rendering.render(models.OrderPage, fields)
    rendering.checking(False)
    try:  # unchecked, as served: the bytes go out as given
        assert b'"orders"' in bytes(rendering.render(models.OrderPage, fields).body)
    finally:
        rendering.checking(True)


def test_listed_orders_in_every_phase_render_as_their_model(api: Api) -> None:
    """Orders awaiting payment, paid, shipped with a dispute window, disputed and cancelled, each
    with its own actions, deadlines and `until`s: the listing passes the check, for their buyer and
    for their seller, page by page."""
    case = shipped(api)
    case.open()
    buyer, listing = case.buyer, case.listing
    unpaid = api.place(buyer, listing)
    paid = api.place(buyer, listing)
    api.pay(buyer, paid["id"])
    cancelled = api.place(buyer, listing)
    api.post(f"/v1/orders/{cancelled['id']}/cancel", buyer, expect=200)
    for who in (buyer, listing.seller):
        seen, cursor = [], None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = api.get("/v1/orders", who, **params).json()
            models.OrderPage.model_validate(page)
            seen += [o["id"] for o in page["orders"]]
            if (cursor := page["next_cursor"]) is None:
                break
        assert {case.order["id"], unpaid["id"], paid["id"], cancelled["id"]} <= set(seen)
    offers = api.get(f"/v1/products/{listing.product_id}/offers", buyer).json()
    assert [o.id for o in models.ProductOffers.model_validate(offers).offers] == [listing.offer_id]
