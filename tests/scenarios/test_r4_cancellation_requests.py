"""§4 cancellation after payment, through the public API with the virtual clock (R4.1, R4.3 to R4.8)."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import assert_problem, writes_nothing
from tests.scenarios.test_r6_fulfilment import paid_order, ship
from tests.support import Api, Listing, Who, action, deadline, s10


def _request(
    api: Api,
    buyer: Who,
    order_id: str,
    reason: str = "no_longer_needed",
    lines: list[dict[str, Any]] | None = None,
    expect: int = 201,
    message: str = "",
) -> dict[str, Any]:
    body: dict[str, Any] = {"reason": reason, "message": message}
    if lines is not None:
        body["lines"] = lines
    r = api.post(f"/v1/orders/{order_id}/cancellation-requests", buyer, body, expect=expect)
    return dict(r.json())


def _act(api: Api, who: Who, request_id: str, verb: str, expect: int = 200, **body: Any) -> dict[str, Any]:
    r = api.post(f"/v1/cancellation-requests/{request_id}/{verb}", who, body or None, expect=expect)
    return dict(r.json())


def _two_line_order(api: Api, handling_days: int = 10) -> tuple[Who, Listing, Listing, dict[str, Any]]:
    """An order of 3 of 10.00 (shipping 2.00) and 1 of 5.00 (shipping 2.00) from one store, paid."""
    buyer = api.buyer()
    first = api.listing(price=10_00, handling_days=handling_days)
    mug = api.post("/v1/products", first.seller, {"title": "Mug"}, expect=201).json()["id"]
    offer = api.post(
        "/v1/offers",
        first.seller,
        {
            "store_id": first.store_id,
            "product_id": mug,
            "price": 5_00,
            "currency": "USD",
            "stock": 100,
            "handling_days": handling_days,
            "shipping_options": [{"carrier": "postal", "price": 2_00, "promised_days": 20}],
        },
        expect=201,
    ).json()
    second = Listing(first.seller, first.store_id, mug, offer)
    api.add(buyer, first, 3)
    api.add(buyer, second, 1)
    orders = api.checkout(buyer)
    assert len(orders) == 1, orders
    api.pay(buyer, orders[0]["id"])
    return buyer, first, second, api.order(orders[0]["id"], buyer)


def _refunds(api: Api, order_id: str, who: Who) -> list[dict[str, Any]]:
    return list(api.get(f"/v1/orders/{order_id}/refunds", who).json()["refunds"])


def _payable(api: Api, listing: Listing) -> int:
    balance = api.get(f"/v1/stores/{listing.store_id}/balance", listing.seller).json()
    return sum(p["amount"] for p in balance["payable"])


# --- R4.1 request ------------------------------------------------------------------------------


def test_r4_1_buyer_asks_to_cancel_chosen_quantities_and_sees_the_answer_deadline(api: Api) -> None:
    buyer, listing, order = paid_order(api, quantity=3, handling_days=10)
    assert action(order, "request_cancellation")["available"]
    [line] = order["lines"]
    request = _request(
        api, buyer, order["id"], "out_of_stock", [{"line_id": line["id"], "quantity": 2}], message="cheaper"
    )
    assert request["status"] == "open"
    assert request["fault"] == "seller"
    assert request["lines"] == [{"line_id": line["id"], "quantity": 2}]
    assert (request["refund"], request["fine"]) == (20_00, 1_00)  # items only; 5 % of 20.00 is 1.00
    reminder, due = request["deadlines"]  # soonest first
    assert (reminder["kind"], reminder["rule"]) == ("answer_reminder", "R8.5")
    assert (due["kind"], due["must_act"], due["rule"]) == ("answer_by", "seller", "R4.4")
    assert "approved" in due["on_expiry"]
    assert {a["action"]: a["available"] for a in request["actions"]} == {"withdraw": True}
    seller_view = api.get(f"/v1/cancellation-requests/{request['id']}", listing.seller).json()
    assert {a["action"]: a["available"] for a in seller_view["actions"]} == {"approve": True, "reject": True}
    # the order shows the seller's deadline too, and the one line left is still requestable
    detail = api.order(order["id"], buyer)
    assert deadline(detail, "answer_by") == due
    assert not action(detail, "request_cancellation")["available"]
    assert action(detail, "request_cancellation")["code"] == "cancellation_already_requested"
    notes = api.get("/v1/notifications", listing.seller).json()["notifications"]
    assert any(n["kind"] == "cancellation_requested" for n in notes)


def test_r4_1_bad_requests_are_refused_and_write_nothing(api: Api) -> None:
    buyer, _, order = paid_order(api, quantity=2, handling_days=10)
    other_buyer, _, other_order = paid_order(api)
    [line] = order["lines"]
    path = f"/v1/orders/{order['id']}/cancellation-requests"
    cases = [
        ({"reason": "no_longer_needed", "lines": [{"line_id": line["id"], "quantity": 3}]}, 422,
         "quantity_exceeds_cancellable"),
        ({"reason": "no_longer_needed", "lines": [{"line_id": line["id"], "quantity": 0}]}, 422,
         "invalid_quantity"),
        ({"reason": "no_longer_needed", "lines": [{"line_id": other_order["lines"][0]["id"], "quantity": 1}]},
         422, "unknown_line"),
        ({"reason": "because", "lines": [{"line_id": line["id"], "quantity": 1}]}, 422, "unknown_reason"),
        ({"reason": "no_longer_needed", "lines": [{"line_id": line["id"], "quantity": 1}] * 2}, 422,
         "duplicate_line"),
    ]  # fmt: skip
    for body, status, code in cases:
        with writes_nothing(api):
            assert_problem(api.post(path, buyer, body), status, code)
    with writes_nothing(api):  # another buyer's order does not exist for them
        assert_problem(api.post(path, other_buyer, {"reason": "other"}), 404, "order_not_found")
    unpaid = api.place(buyer, api.listing())
    with writes_nothing(api):
        r = api.post(f"/v1/orders/{unpaid['id']}/cancellation-requests", buyer, {"reason": "other"})
        assert_problem(r, 409, "order_not_paid")
    _request(api, buyer, order["id"], lines=[{"line_id": line["id"], "quantity": 1}])
    with writes_nothing(api):  # one open request per line
        r = api.post(path, buyer, {"reason": "other", "lines": [{"line_id": line["id"], "quantity": 1}]})
        assert_problem(r, 409, "cancellation_already_requested")


def test_r4_1_shipped_quantities_cannot_be_requested(api: Api) -> None:
    buyer, listing, order = paid_order(api, quantity=2, handling_days=10)
    [line] = order["lines"]
    ship(api, listing, order["id"], s10("31313131"), lines=[{"line_id": line["id"], "quantity": 1}])
    with writes_nothing(api):
        r = api.post(
            f"/v1/orders/{order['id']}/cancellation-requests",
            buyer,
            {"reason": "other", "lines": [{"line_id": line["id"], "quantity": 2}]},
        )
        assert_problem(r, 422, "quantity_exceeds_cancellable")
    ship(api, listing, order["id"], s10("31313132"))
    with writes_nothing(api):
        r = api.post(f"/v1/orders/{order['id']}/cancellation-requests", buyer, {"reason": "other"})
        assert_problem(r, 409, "order_shipped")


def test_r4_1_the_buyer_withdraws_and_the_seller_may_ship_again(api: Api) -> None:
    buyer, listing, order = paid_order(api, handling_days=10)
    request = _request(api, buyer, order["id"])
    ship(api, listing, order["id"], s10("41414141"), expect=409)
    withdrawn = _act(api, buyer, request["id"], "withdraw")
    assert withdrawn["status"] == "withdrawn"
    assert withdrawn["deadlines"] == []
    assert deadline(api.order(order["id"], buyer), "answer_by") is None
    with writes_nothing(api):
        assert_problem(
            api.post(f"/v1/cancellation-requests/{request['id']}/withdraw", buyer),
            409,
            "cancellation_request_decided",
        )
    ship(api, listing, order["id"], s10("41414141"))
    assert api.status(order["id"], buyer) == "shipped"


# --- R4.3 decide ----------------------------------------------------------------------------------


def test_r4_3_approving_the_whole_order_cancels_it_and_refunds_everything_without_a_fine(api: Api) -> None:
    buyer, listing, order = paid_order(api, quantity=2, handling_days=10)  # 20.00 + 2.00 shipping
    request = _request(api, buyer, order["id"], "no_longer_needed")
    approved = _act(api, listing.seller, request["id"], "approve")
    assert approved["status"] == "approved"
    assert (approved["refund"], approved["fine"], approved["fine_id"]) == (22_00, 0, None)
    detail = api.order(order["id"], buyer)
    assert detail["status"] == "cancelled"
    assert detail["money"]["in_escrow"] == 0
    assert [line["cancelled_quantity"] for line in detail["lines"]] == [2]
    [refund] = _refunds(api, order["id"], buyer)
    assert (refund["amount"], refund["id"]) == (22_00, approved["refund_id"])
    assert refund["method"] == "card"
    assert api.get(f"/v1/stores/{listing.store_id}/fines", listing.seller).json()["fines"] == []
    notes = api.get("/v1/notifications", buyer).json()["notifications"]
    assert any(n["kind"] == "cancellation_approved" and "22.00 USD" in n["text"] for n in notes)


def test_r4_3_a_partial_seller_fault_approval_keeps_the_rest_and_fines_the_seller(api: Api) -> None:
    buyer, first, _, order = _two_line_order(api)
    by_price = {line["unit_price"]: line for line in order["lines"]}
    mug, kettle = by_price[5_00], by_price[10_00]
    # the whole mug line (5.00 + its 2.00 shipping) and one of three kettles (10.00, shipping kept)
    request = _request(
        api,
        buyer,
        order["id"],
        "out_of_stock",
        [{"line_id": mug["id"], "quantity": 1}, {"line_id": kettle["id"], "quantity": 1}],
    )
    assert (request["refund"], request["fine"]) == (17_00, 1_00)  # 5 % of 17.00 = 0.85 -> minimum 1.00
    approved = _act(api, first.seller, request["id"], "approve")
    assert (approved["refund"], approved["fine"]) == (17_00, 1_00)
    detail = api.order(order["id"], buyer)
    assert detail["status"] == "awaiting_shipment"
    assert (detail["items_total"], detail["shipping_total"], detail["total"]) == (20_00, 2_00, 22_00)
    assert detail["money"]["in_escrow"] == 22_00
    [fine] = api.get(f"/v1/stores/{first.store_id}/fines", first.seller).json()["fines"]
    assert (fine["amount"], fine["rule"], fine["cause_id"], fine["reason"]) == (
        1_00,
        "R4.3",
        request["id"],
        "out_of_stock",
    )
    assert _payable(api, first) == -1_00  # a fine may take the payable balance below zero
    # the rest ships and completes; the payout is what remains in escrow less commission
    ship(api, first, order["id"], s10("43434343"))
    assert api.status(order["id"], buyer) == "shipped"


def test_r4_3_only_the_stores_seller_decides_and_only_once(api: Api) -> None:
    buyer, listing, order = paid_order(api, handling_days=10)
    request = _request(api, buyer, order["id"])
    stranger = api.listing().seller
    with writes_nothing(api):
        assert_problem(
            api.post(f"/v1/cancellation-requests/{request['id']}/approve", buyer), 403, "forbidden_role"
        )
        assert_problem(
            api.post(f"/v1/cancellation-requests/{request['id']}/approve", stranger),
            404,
            "cancellation_request_not_found",
        )
        assert_problem(
            api.post(f"/v1/cancellation-requests/{request['id']}/withdraw", listing.seller),
            403,
            "forbidden_role",
        )
    rejected = _act(api, listing.seller, request["id"], "reject", answer="Already packed.")
    assert rejected["status"] == "rejected"
    assert rejected["rejection"]["answer"] == "Already packed."
    with writes_nothing(api):
        for verb in ("approve", "reject"):
            r = api.post(
                f"/v1/cancellation-requests/{request['id']}/{verb}",
                listing.seller,
                {} if verb == "reject" else None,
            )
            assert_problem(r, 409, "cancellation_request_decided")
    assert api.status(order["id"], buyer) == "awaiting_shipment"
    assert _refunds(api, order["id"], buyer) == []


# --- R4.4 silence --------------------------------------------------------------------------------


def test_r4_4_a_request_unanswered_for_72_hours_is_approved_by_the_scheduler(api: Api) -> None:
    buyer, listing, order = paid_order(api, quantity=2, handling_days=10)
    request = _request(api, buyer, order["id"], "seller_unresponsive")
    api.advance(hours=48)  # R8.5: the seller is reminded a day ahead
    notes = api.get("/v1/notifications", listing.seller).json()["notifications"]
    assert any(n["kind"] == "cancellation_reminder" and request["id"] in n["text"] for n in notes)
    api.advance(hours=23, minutes=59)
    assert api.get(f"/v1/cancellation-requests/{request['id']}", buyer).json()["status"] == "open"
    api.advance(minutes=1)
    decided = api.get(f"/v1/cancellation-requests/{request['id']}", buyer).json()
    assert decided["status"] == "approved"
    assert (decided["refund"], decided["fine"]) == (22_00, 1_10)  # 5 % of 22.00
    assert api.status(order["id"], buyer) == "cancelled"
    [event] = [e for e in api.timeline(order["id"], buyer) if e["kind"] == "auto_approved"]
    assert (event["actor"], event["rule"]) == ("system", "R4.4")
    [refund] = _refunds(api, order["id"], buyer)
    assert refund["amount"] == 22_00
    notes = api.get("/v1/notifications", listing.seller).json()["notifications"]
    assert any(n["kind"] == "cancellation_auto_approved" for n in notes)
    assert any(n["kind"] == "store_fined" and "1.10 USD" in n["text"] for n in notes)


# --- R4.5 shipping lock -----------------------------------------------------------------------


def test_r4_5_the_lines_of_an_open_request_cannot_be_shipped(api: Api) -> None:
    buyer, first, _, order = _two_line_order(api)
    by_price = {line["unit_price"]: line for line in order["lines"]}
    mug, kettle = by_price[5_00], by_price[10_00]
    _request(api, buyer, order["id"], lines=[{"line_id": mug["id"], "quantity": 1}])
    with writes_nothing(api):
        r = api.post(
            f"/v1/orders/{order['id']}/shipments",
            first.seller,
            {"carrier": "postal", "tracking_code": s10("45454545")},
        )
        assert_problem(r, 409, "cancellation_request_open")
        assert "reject it" in r.json()["detail"]
    # the other line is not locked
    ship(api, first, order["id"], s10("45454546"), lines=[{"line_id": kettle["id"], "quantity": 3}])
    assert api.status(order["id"], buyer) == "partly_shipped"


# --- R4.6 rejected: already on its way ------------------------------------------------------------


def test_r4_6_rejecting_as_already_shipped_ships_the_lines_with_the_tracking_code(api: Api) -> None:
    buyer, listing, order = paid_order(api, quantity=2, handling_days=10)
    request = _request(api, buyer, order["id"])
    with writes_nothing(api):
        r = api.post(
            f"/v1/cancellation-requests/{request['id']}/reject",
            listing.seller,
            {"answer": "Sent yesterday", "carrier": "postal", "tracking_code": "RR123456789CN"},
        )
        assert_problem(r, 422, "invalid_check_digit")
        r = api.post(
            f"/v1/cancellation-requests/{request['id']}/reject", listing.seller, {"carrier": "postal"}
        )
        assert_problem(r, 422, "incomplete_shipment")
    code = s10("46464646")
    rejected = _act(
        api,
        listing.seller,
        request["id"],
        "reject",
        answer="Sent yesterday",
        carrier="postal",
        tracking_code=code,
    )
    assert rejected["status"] == "rejected"
    assert (rejected["rejection"]["carrier"], rejected["rejection"]["tracking_code"]) == ("postal", code)
    detail = api.order(order["id"], buyer)
    assert detail["status"] == "shipped"
    [parcel] = detail["shipments"]
    assert (parcel["id"], parcel["tracking_code"]) == (rejected["rejection"]["shipment_id"], code)
    notes = api.get("/v1/notifications", buyer).json()["notifications"]
    assert any(n["kind"] == "cancellation_rejected" and code in n["text"] for n in notes)


# --- R4.8 missed ship-by ------------------------------------------------------------------------


def test_r4_8_a_missed_ship_by_cancels_refunds_in_full_and_fines_ten_percent(api: Api) -> None:
    buyer, listing, order = paid_order(api, quantity=2, handling_days=3)  # 20.00 + 2.00 shipping
    [due] = [d for d in order["deadlines"] if d["kind"] == "ship_by"]
    assert (due["must_act"], due["rule"]) == ("seller", "R4.8")
    api.advance(days=2, hours=23)
    assert api.status(order["id"], buyer) == "awaiting_shipment"
    api.advance(hours=1)
    detail = api.order(order["id"], buyer)
    assert detail["status"] == "cancelled"
    [refund] = _refunds(api, order["id"], buyer)
    assert (refund["amount"], refund["reason"]) == (22_00, "missed_ship_by")
    [fine] = api.get(f"/v1/stores/{listing.store_id}/fines", listing.seller).json()["fines"]
    assert (fine["amount"], fine["rule"], fine["cause_type"]) == (2_20, "R4.8", "missed_ship_by")
    ship(api, listing, order["id"], s10("48484848"), expect=409)


def test_r4_8_a_partly_shipped_order_loses_what_was_not_sent_and_closes_the_open_request(api: Api) -> None:
    buyer, first, _, order = _two_line_order(api, handling_days=3)
    by_price = {line["unit_price"]: line for line in order["lines"]}
    mug, kettle = by_price[5_00], by_price[10_00]
    ship(api, first, order["id"], s10("48484849"), lines=[{"line_id": kettle["id"], "quantity": 2}])
    request = _request(api, buyer, order["id"], lines=[{"line_id": mug["id"], "quantity": 1}])
    api.advance(days=3)
    detail = api.order(order["id"], buyer)
    assert detail["status"] == "shipped"  # what was sent is under protection now
    assert deadline(detail, "protection_end") is not None
    # one kettle (10.00, its line's shipping spent) and the mug (5.00 + 2.00)
    [refund] = _refunds(api, order["id"], buyer)
    assert refund["amount"] == 17_00
    assert api.get(f"/v1/cancellation-requests/{request['id']}", buyer).json()["status"] == "overtaken"
    [fine] = api.get(f"/v1/stores/{first.store_id}/fines", first.seller).json()["fines"]
    assert fine["amount"] == 1_70


def test_r4_8_the_buyer_and_seller_are_told_what_the_missed_ship_by_did(api: Api) -> None:
    buyer, listing, _ = paid_order(api, quantity=1, handling_days=2)  # 10.00 + 2.00 shipping
    api.advance(days=2)
    [to_buyer] = [
        n
        for n in api.get("/v1/notifications", buyer).json()["notifications"]
        if n["kind"] == "ship_by_missed"
    ]
    assert "12.00 USD is refunded" in to_buyer["text"]
    [to_seller] = [
        n
        for n in api.get("/v1/notifications", listing.seller).json()["notifications"]
        if n["kind"] == "ship_by_missed"
    ]
    assert "fined 1.20 USD" in to_seller["text"]


def test_r9_2_after_a_partial_cancellation_the_payout_is_what_remains_less_commission(api: Api) -> None:
    buyer, listing, order = paid_order(api, quantity=3, handling_days=10)  # 30.00 + 2.00 shipping
    [line] = order["lines"]
    request = _request(api, buyer, order["id"], "out_of_stock", [{"line_id": line["id"], "quantity": 1}])
    _act(api, listing.seller, request["id"], "approve")  # refunds 10.00, fines 1.00
    ship(api, listing, order["id"], s10("92929292"))
    api.post(f"/v1/orders/{order['id']}/confirm-receipt", buyer, expect=200)
    api.advance(days=16)
    assert api.status(order["id"], buyer) == "closed"
    # 22.00 remained in escrow: 5 % commission is 1.10, the store gets 20.90, less its 1.00 fine
    assert _payable(api, listing) == 20_90 - 1_00
    released = [e for e in api.timeline(order["id"], buyer) if e["kind"] == "dispute_window_ended"]
    assert [(e["data"]["released"], e["data"]["commission"]) for e in released] == [(20_90, 1_10)]
