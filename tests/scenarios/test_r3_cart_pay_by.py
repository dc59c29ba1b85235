"""R3.1/R3.3: only a real addition moves the cart's last-added time, so nothing else pushes pay-by out."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.support import Api, Who


def _now(api: Api) -> datetime:
    return datetime.fromisoformat(api.get("/v1/sandbox/clock").json()["now"])


def _decrease(api: Api, buyer: Who, item_id: str, quantity: int) -> dict[str, Any]:
    r = api.client.patch(f"/v1/cart/items/{item_id}", json={"quantity": quantity}, headers=buyer.auth)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_r3_3_zero_additions_and_decreases_do_not_push_pay_by_out(api: Api) -> None:
    buyer = api.buyer()
    listing = api.listing(stock=100)
    api.add(buyer, listing, 5)
    added = _now(api)
    (item,) = api.get("/v1/cart", buyer).json()["items"]
    for _ in range(3):  # each would have been an "addition" moving last-added time
        api.advance(days=3)
        api.add(buyer, listing, 0, expect=422)
        api.add(buyer, listing, -1, expect=422)
        _decrease(api, buyer, item["id"], item["quantity"] - 1)
        item = {**item, "quantity": item["quantity"] - 1}
    (order,) = api.checkout(buyer)
    assert datetime.fromisoformat(order["pay_by_at"]) == added + timedelta(days=20)
    assert api.order(order["id"], buyer)["lines"][0]["quantity"] == 2


def test_r3_3_add_and_decrease_after_checkout_cannot_move_the_orders_pay_by(api: Api) -> None:
    buyer = api.buyer()
    listing, other = api.listing(stock=100), api.listing(stock=100)
    api.add(buyer, listing, 1)
    (order,) = api.checkout(buyer)
    pay_by = datetime.fromisoformat(order["pay_by_at"])
    api.add(buyer, other, 1)
    (free,) = [i for i in api.get("/v1/cart", buyer).json()["items"] if i["order_id"] is None]
    for _ in range(6):  # a buyer adds and takes back every 3 days, up to the eve of pay-by
        api.advance(days=3)
        api.add(buyer, other, 1)
        _decrease(api, buyer, free["id"], 1)
        held = next(i for i in api.get("/v1/cart", buyer).json()["items"] if i["id"] != free["id"])
        assert held["order_id"] == order["id"]
        r = api.client.patch(f"/v1/cart/items/{held['id']}", json={"quantity": 1}, headers=buyer.auth)
        assert r.status_code == 409 and r.json()["code"] == "item_in_order"
        assert api.order(order["id"], buyer)["pay_by_at"] == order["pay_by_at"]
    api.advance(days=2)
    api.add(buyer, other, 1)  # a real addition moves last-added time, but not a placed order's pay-by
    assert api.status(order["id"], buyer) == "cancelled"
    expired = [e for e in api.timeline(order["id"], buyer) if e["kind"] == "pay_by_passed"]
    assert len(expired) == 1 and datetime.fromisoformat(expired[0]["at"]) == pay_by
