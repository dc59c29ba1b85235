"""§5 refunds, through the public API with the virtual clock: granted by a cancellation, sent to the
original payment method, settled by the sandbox provider within the method's window (R5.1 to R5.3)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.api.helpers import assert_problem, writes_nothing
from tests.support import Api, Listing, Who

WINDOWS = {"card": (3, 7), "ewallet": (1, 3), "bank_transfer": (3, 21)}  # the default policy's days


def _paid(api: Api, method: str = "card", quantity: int = 2) -> tuple[Who, Listing, dict[str, Any]]:
    buyer = api.buyer()
    listing = api.listing(price=10_00, handling_days=30)
    order = api.place(buyer, listing, quantity)
    payment = api.pay(buyer, order["id"], method).json()
    if method == "bank_transfer":
        api.post(f"/v1/sandbox/payments/{payment['id']}/credit", expect=200)
    return buyer, listing, api.order(order["id"], buyer)


def _approve(api: Api, buyer: Who, listing: Listing, order_id: str, lines: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"reason": "no_longer_needed"}
    if lines is not None:
        body["lines"] = lines
    request = api.post(f"/v1/orders/{order_id}/cancellation-requests", buyer, body, expect=201).json()
    return dict(
        api.post(f"/v1/cancellation-requests/{request['id']}/approve", listing.seller, expect=200).json()
    )


def _refund(api: Api, refund_id: str, who: Who) -> dict[str, Any]:
    return dict(api.get(f"/v1/refunds/{refund_id}", who).json())


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_r5_1_a_refund_goes_to_the_original_method_and_can_be_traced(api: Api) -> None:
    buyer, listing, order = _paid(api, "ewallet")
    approved = _approve(api, buyer, listing, order["id"])
    refund = _refund(api, approved["refund_id"], buyer)
    [payment] = order["payments"]
    assert (refund["method"], refund["payment_id"]) == ("ewallet", payment["id"])
    assert (refund["amount"], refund["currency"], refund["reason"]) == (22_00, "USD", "no_longer_needed")
    assert refund["cause"] == {"type": "cancellation_request", "id": approved["id"]}
    assert refund["lines"] == [{"line_id": order["lines"][0]["id"], "quantity": 2, "amount": 22_00}]
    # the sandbox provider accepted it after the approval committed: a reference and a date to trace
    assert refund["status"] == "processing"
    assert refund["provider_ref"]
    days = (_at(refund["expected_at"]) - _at(refund["accepted_at"])) / timedelta(days=1)
    assert WINDOWS["ewallet"][0] <= days <= WINDOWS["ewallet"][1]
    assert _at(refund["settle_by"]) == _at(refund["created_at"]) + timedelta(days=14)
    # the other buyer and another store's seller do not see it
    bob, stranger = api.buyer("Bob"), api.listing().seller
    with writes_nothing(api):
        for who in (bob, stranger):
            r = api.get(f"/v1/refunds/{refund['id']}", who, expect=None)
            assert_problem(r, 404, "refund_not_found")
    assert api.get(f"/v1/refunds/{refund['id']}", listing.seller).json()["id"] == refund["id"]


def test_r5_2_each_method_settles_within_its_window_in_virtual_time(api: Api) -> None:
    refunds = {}
    for method in WINDOWS:
        buyer, listing, order = _paid(api, method)
        refunds[method] = (buyer, _approve(api, buyer, listing, order["id"])["refund_id"])
    api.advance(days=22)
    for method, (buyer, refund_id) in refunds.items():
        refund = _refund(api, refund_id, buyer)
        assert refund["status"] == "settled", (method, refund)
        days = (_at(refund["settled_at"]) - _at(refund["accepted_at"])) / timedelta(days=1)
        low, high = WINDOWS[method]
        assert low <= days <= high, (method, days)
        assert refund["deadlines"] == []
        notes = api.get("/v1/notifications", buyer).json()["notifications"]
        assert any(n["kind"] == "refund_settled" for n in notes), notes


def test_r5_2_a_cancellation_refund_unsettled_after_14_days_is_flagged_to_administrators(api: Api) -> None:
    buyer, listing, order = _paid(api, "card")
    refund_id = _approve(api, buyer, listing, order["id"])["refund_id"]
    admin = api.account("admin", "Ada")
    for _ in range(14):  # the provider fails it each day; it is sent again and never arrives
        if _refund(api, refund_id, buyer)["status"] == "processing":
            api.post(f"/v1/sandbox/refunds/{refund_id}/fail", json={"reason": "card closed"}, expect=200)
        assert api.get("/v1/admin/refunds", admin, overdue="true").json()["refunds"] == []
        api.advance(days=1)
    refund = _refund(api, refund_id, buyer)
    assert refund["status"] != "settled"
    assert refund["overdue"] is True
    assert refund["attempts"] >= 2
    flagged = api.get("/v1/admin/refunds", admin, overdue="true").json()["refunds"]
    assert [r["id"] for r in flagged] == [refund_id]
    with writes_nothing(api):
        assert_problem(api.get("/v1/admin/refunds", buyer, expect=None), 403, "forbidden_role")


def test_r5_3_partial_refunds_add_up_to_what_was_paid_and_never_beyond(api: Api) -> None:
    buyer, listing, order = _paid(api, "card", quantity=3)  # 30.00 + 2.00 shipping
    [line] = order["lines"]
    first = _approve(api, buyer, listing, order["id"], [{"line_id": line["id"], "quantity": 1}])
    second = _approve(api, buyer, listing, order["id"], [{"line_id": line["id"], "quantity": 1}])
    last = _approve(api, buyer, listing, order["id"])  # the one unit left, and now the line's shipping
    assert [first["refund"], second["refund"], last["refund"]] == [10_00, 10_00, 12_00]
    refunds = api.get(f"/v1/orders/{order['id']}/refunds", buyer).json()["refunds"]
    assert sum(r["amount"] for r in refunds) == 32_00 == order["total"]
    detail = api.order(order["id"], buyer)
    assert detail["status"] == "cancelled"
    assert detail["money"]["in_escrow"] == 0
    with writes_nothing(api):  # nothing is left to refund
        r = api.post(f"/v1/orders/{order['id']}/cancellation-requests", buyer, {"reason": "other"})
        assert_problem(r, 409, "order_cancelled")
    api.advance(days=8)
    settled = api.get(f"/v1/orders/{order['id']}/refunds", buyer).json()["refunds"]
    assert {r["status"] for r in settled} == {"settled"}


def test_r5_3_an_approval_replayed_with_its_idempotency_key_refunds_once(api: Api) -> None:
    buyer, listing, order = _paid(api, "card")
    request = api.post(
        f"/v1/orders/{order['id']}/cancellation-requests", buyer, {"reason": "other"}, expect=201
    ).json()
    path = f"/v1/cancellation-requests/{request['id']}/approve"
    headers = {**listing.seller.auth, "Idempotency-Key": "approve-once"}
    first = api.client.post(path, headers=headers)
    again = api.client.post(path, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    [refund] = api.get(f"/v1/orders/{order['id']}/refunds", buyer).json()["refunds"]
    assert refund["amount"] == 22_00
