"""R3.x scenarios driven through the public API with the virtual clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from orderguard.store import tables as t
from orderguard.store.db import reading
from tests.support import Api, Who, action, deadline


def test_r3_2_checkout_places_one_order_per_store(api: Api) -> None:
    buyer = api.buyer()
    a = api.listing(price=5_00)
    b = api.listing(price=7_00)
    api.add(buyer, a, 2)
    api.add(buyer, b, 1)
    orders = api.checkout(buyer)
    assert sorted(o["store_id"] for o in orders) == sorted([a.store_id, b.store_id])
    by_store = {o["store_id"]: o for o in orders}
    assert by_store[a.store_id]["total"] == 2 * 5_00 + 2_00
    assert all(o["status"] == "awaiting_payment" for o in orders)
    detail = api.order(by_store[a.store_id]["id"], buyer)
    assert detail["lines"][0]["quantity"] == 2 and detail["lines"][0]["unit_price"] == 5_00
    assert detail["policy_version"].startswith("2026.11-default@")


def test_r3_3_unpaid_order_expires_20_days_after_last_cart_addition(api: Api) -> None:
    buyer = api.buyer()
    listing = api.listing(stock=5)
    api.add(buyer, listing, 2)
    api.advance(days=3)
    order = api.checkout(buyer)[0]
    added_at = datetime.fromisoformat(api.get("/v1/cart", buyer).json()["last_added_at"])
    assert datetime.fromisoformat(order["pay_by_at"]) == added_at + timedelta(days=20)
    pay_by = deadline(api.order(order["id"], buyer), "pay_by")
    assert pay_by is not None and "cancelled" in pay_by["on_expiry"]

    api.advance(days=16, hours=23)
    assert api.status(order["id"], buyer) == "awaiting_payment"
    api.advance(hours=2)
    assert api.status(order["id"], buyer) == "cancelled"
    assert api.get("/v1/cart", buyer).json()["items"] == []  # the goods left the cart
    assert api.get(f"/v1/products/{listing.product_id}/offers", buyer).json()["offers"][0]["stock"] == 5
    expired = [e for e in api.timeline(order["id"], buyer) if e["kind"] == "pay_by_passed"]
    assert len(expired) == 1 and expired[0]["rule"] == "R3.3" and expired[0]["actor"] == "system"
    assert datetime.fromisoformat(expired[0]["at"]) == datetime.fromisoformat(order["pay_by_at"])


def test_r3_4_buyer_cancels_unpaid_order_without_sanctions(api: Api) -> None:
    buyer = api.buyer()
    order = api.place(buyer, api.listing())
    body = api.post(f"/v1/orders/{order['id']}/cancel", buyer, expect=200).json()
    assert body["status"] == "cancelled"
    assert deadline(body, "pay_by") is None
    api.advance(days=30)
    assert [e["kind"] for e in api.timeline(order["id"], buyer)] == ["placed", "buyer_cancelled"]


def test_r3_5_card_payment_is_captured_into_escrow(api: Api) -> None:
    buyer = api.buyer()
    order = api.place(buyer, api.listing(price=12_34))
    payment = api.pay(buyer, order["id"], "card").json()
    assert payment["state"] == "captured" and payment["amount"] == 12_34 + 2_00
    detail = api.order(order["id"], buyer)
    assert detail["status"] == "awaiting_shipment"
    assert detail["money"] == {"paid": 14_34, "in_escrow": 14_34, "refundable": 14_34}
    assert action(detail, "cancel")["code"] == "order_paid"
    api.assert_ledger_balanced()


def test_r3_5_pending_transfer_blocks_cancel_and_expiry_until_credited(api: Api) -> None:
    buyer = api.buyer()
    listing = api.listing()
    api.add(buyer, listing)
    api.advance(days=18)
    order = api.checkout(buyer)[0]  # pay-by is in 2 days
    payment = api.pay(buyer, order["id"], "bank_transfer").json()
    assert payment["state"] == "pending"
    r = api.post(f"/v1/orders/{order['id']}/cancel", buyer, expect=409)
    assert r.json()["code"] == "payment_pending"
    assert action(api.order(order["id"], buyer), "cancel")["code"] == "payment_pending"
    api.advance(days=3)  # past pay-by, but the transfer holds expiry off
    assert api.status(order["id"], buyer) == "payment_pending"
    api.post(f"/v1/sandbox/payments/{payment['id']}/credit", expect=200)
    detail = api.order(order["id"], buyer)
    assert detail["status"] == "awaiting_shipment" and detail["money"]["paid"] == order["total"]
    api.assert_ledger_balanced()


def test_r3_5_transfer_not_credited_in_5_days_fails_and_order_awaits_payment(api: Api) -> None:
    buyer = api.buyer()
    order = api.place(buyer, api.listing())
    payment = api.pay(buyer, order["id"], "bank_transfer").json()
    api.advance(days=4, hours=23)
    assert api.status(order["id"], buyer) == "payment_pending"
    api.advance(hours=1)
    detail = api.order(order["id"], buyer)
    assert detail["status"] == "awaiting_payment"
    assert detail["payments"][0]["state"] == "failed"
    assert deadline(detail, "pay_by") is not None
    api.post(f"/v1/sandbox/payments/{payment['id']}/credit", expect=409)  # too late
    api.pay(buyer, order["id"], "card")
    assert api.status(order["id"], buyer) == "awaiting_shipment"


def test_r3_5_transfer_failing_after_pay_by_cancels_the_order(api: Api) -> None:
    buyer = api.buyer()
    listing = api.listing()
    api.add(buyer, listing)
    api.advance(days=19)
    order = api.checkout(buyer)[0]
    payment = api.pay(buyer, order["id"], "bank_transfer").json()
    api.advance(days=2)
    api.post(f"/v1/sandbox/payments/{payment['id']}/fail", json={"reason": "account closed"}, expect=200)
    assert api.status(order["id"], buyer) == "cancelled"
    assert api.get("/v1/cart", buyer).json()["items"] == []


def test_r3_6_money_is_never_held_as_a_buyer_balance(api: Api) -> None:
    buyer = api.buyer()
    order = api.place(buyer, api.listing())
    api.pay(buyer, order["id"], "ewallet")
    detail = api.order(order["id"], buyer)
    assert [p["method"] for p in detail["payments"]] == ["ewallet"]
    r = api.pay(buyer, order["id"], "card", expect=409)
    assert r.json()["code"] == "order_already_paid"
    with reading(api.ctx.engine) as conn:
        accounts = set(conn.execute(select(t.postings.c.account)).scalars())
    # the money came from the buyer's method and sits in the order's escrow; no buyer account exists
    assert accounts == {"external:payments", f"escrow:order:{order['id']}"}


def test_r3_1_the_cart_remembers_when_the_last_item_was_added(api: Api) -> None:
    buyer = api.buyer()
    first, second = api.listing(), api.listing()
    api.add(buyer, first)
    added_first = api.get("/v1/cart", buyer).json()["last_added_at"]
    api.advance(days=2)
    cart = api.add(buyer, second, 3).json()
    assert datetime.fromisoformat(cart["last_added_at"]) == datetime.fromisoformat(added_first) + timedelta(
        days=2
    )
    assert [i["quantity"] for i in cart["items"]] == [1, 3]
    api.advance(days=1)
    api.delete(f"/v1/cart/items/{cart['items'][0]['id']}", buyer)  # removing is not adding
    assert api.get("/v1/cart", buyer).json()["last_added_at"] == cart["last_added_at"]


def _listed(api: Api, who: Who, order_id: str) -> dict[str, Any]:
    return next(o for o in api.get("/v1/orders", who).json()["orders"] if o["id"] == order_id)


def _same_actions_and_deadlines(shown: dict[str, Any], detail: dict[str, Any]) -> None:
    assert shown["actions"] == detail["actions"] and shown["deadlines"] == detail["deadlines"]
    assert shown["your_role"] == detail["your_role"]


def test_r3_2_checkout_and_the_order_list_carry_actions_and_deadlines(api: Api) -> None:
    """Checkout, "My orders" and the order itself tell the caller the same: what they can do and by
    when (issue #11: a newcomer need not open each order to see that it must be paid)."""
    buyer, listing = api.buyer(), api.listing()
    admin = api.account("admin", "Ada")
    api.add(buyer, listing, 2)
    (placed,) = api.checkout(buyer)
    detail = api.order(placed["id"], buyer)
    _same_actions_and_deadlines(placed, detail)
    assert action(placed, "pay")["available"] and action(placed, "cancel")["available"]
    pay_by = deadline(placed, "pay_by")
    assert pay_by is not None and pay_by["must_act"] == "buyer"
    assert datetime.fromisoformat(pay_by["due_at"]) == datetime.fromisoformat(placed["pay_by_at"])
    _same_actions_and_deadlines(_listed(api, buyer, placed["id"]), detail)

    api.pay(buyer, placed["id"])
    request = api.post(
        f"/v1/orders/{placed['id']}/cancellation-requests", buyer, {"reason": "other"}, expect=201
    ).json()
    for who in (buyer, listing.seller, admin):
        _same_actions_and_deadlines(_listed(api, who, placed["id"]), api.order(placed["id"], who))
    shown = _listed(api, buyer, placed["id"])
    assert action(shown, "request_cancellation")["code"] == "cancellation_already_requested"
    assert {d["kind"] for d in shown["deadlines"]} >= {"ship_by", "answer_by"}, request["id"]
    assert action(_listed(api, listing.seller, placed["id"]), "ship")["available"]
