"""R6.6 unclaimed and refused parcels, through the public API with the virtual clock: a parcel left at
the pickup point for 30 days, refused by the buyer or returned by the carrier goes back to the seller;
once it is back the buyer is refunded its lines, less the return shipping (or in full, by policy), and
the seller is paid what remains. The ledger reconciles after each (tests/scenarios/conftest.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from orderguard.domain.policy import version_of
from tests.api.helpers import assert_problem, writes_nothing
from tests.scenarios.test_r6_fulfilment import paid_order, post_scans, scan, ship
from tests.support import Api, Listing, Who, action, deadline, s10

COMMISSION_BPS = 500


def _now(api: Api) -> datetime:
    return datetime.fromisoformat(api.get("/v1/sandbox/clock").json()["now"])


def _scan(api: Api, shipment_id: str, kind: str) -> None:
    api.post(f"/v1/sandbox/shipments/{shipment_id}/scans", json={"kind": kind}, expect=200)


def _carrier(api: Api, code: str, *kinds: str) -> None:
    """The carrier reports `kinds` through its signed webhook, a minute apart, ending now."""
    now = _now(api)
    at = [now - timedelta(minutes=len(kinds) - 1 - i) for i in range(len(kinds))]
    post_scans(api, "postal", {"scans": [scan(code, k, t) for k, t in zip(kinds, at, strict=True)]}, 200)


def _notes(api: Api, who: Who, kind: str) -> list[str]:
    return [n["text"] for n in api.get("/v1/notifications", who).json()["notifications"] if n["kind"] == kind]


def _refunds(api: Api, order_id: str, who: Who) -> list[dict[str, Any]]:
    return list(api.get(f"/v1/orders/{order_id}/refunds", who).json()["refunds"])


def _payable(api: Api, listing: Listing) -> list[dict[str, Any]]:
    return list(api.get(f"/v1/stores/{listing.store_id}/balance", listing.seller).json()["payable"])


def _commission(amount: int) -> int:
    return (amount * COMMISSION_BPS + 5_000) // 10_000


def _refuse(api: Api, order_id: str, who: Who, body: Any = None, expect: int | None = 200) -> Any:
    return api.post(f"/v1/orders/{order_id}/refuse-parcel", who, body, expect=expect)


def test_r6_6_an_unclaimed_parcel_goes_back_after_30_days_and_the_buyer_is_refunded_less_return_shipping(
    api: Api,
) -> None:
    buyer, listing, order = paid_order(api, quantity=2, promised_days=20)  # 2 x 10.00 + 2.00 shipping
    code = s10("60606060")
    shipment = ship(api, listing, order["id"], code)
    api.advance(days=3)
    _scan(api, shipment["id"], "at_pickup_point")
    arrived = _now(api)
    detail = api.order(order["id"], buyer)
    assert detail["shipments"][0]["status"] == "at_pickup_point"
    storage = deadline(detail, "storage_end")
    assert storage is not None and datetime.fromisoformat(storage["due_at"]) == arrived + timedelta(days=30)
    assert storage["must_act"] == "buyer" and storage["rule"] == "R6.6"
    assert "sent back to the seller" in storage["on_expiry"]
    assert action(detail, "refuse_parcel")["available"]
    [told] = _notes(api, buyer, "parcel_at_pickup_point")
    assert code in told and f"{arrived + timedelta(days=30):%Y-%m-%d %H:%M}" in told
    assert "20.00 USD" in told and "2.00 USD of the shipping you paid is kept" in told

    # protection would end on day 20: with the parcel still waiting, it runs until 5 days after storage
    api.advance(days=17, hours=1)
    detail = api.order(order["id"], buyer)
    assert detail["status"] == "shipped"
    end = deadline(detail, "protection_end")
    assert end is not None and datetime.fromisoformat(end["due_at"]) == arrived + timedelta(days=35)
    assert _notes(api, buyer, "protection_extended")

    # the storage ends: the parcel goes back, the order waits for it (no protection, no payout)
    api.advance(days=13)
    detail = api.order(order["id"], buyer)
    [parcel] = detail["shipments"]
    assert (parcel["status"], parcel["sent_back_by"]) == ("returning", "storage_ended")
    assert datetime.fromisoformat(parcel["sent_back_at"]) == arrived + timedelta(days=30)
    assert detail["status"] == "returning" and detail["deadlines"] == []
    confirm = action(detail, "confirm_receipt")
    assert not confirm["available"] and confirm["code"] == "parcel_returning"
    [buyer_told] = _notes(api, buyer, "parcel_returning")
    [seller_told] = _notes(api, listing.seller, "parcel_returning")
    assert "not collected within 30 days" in buyer_told and "refunded 20.00 USD" in buyer_told
    assert "on its way back to you" in seller_told and "2.00 USD" in seller_told
    api.advance(days=30)  # however long the way back takes, nothing completes or pays out
    assert api.status(order["id"], buyer) == "returning"
    assert _payable(api, listing) == []

    # back with the seller: the items are refunded, the shipping kept for the return, the rest paid out
    _carrier(api, code, "in_transit", "delivered_to_sender")
    detail = api.order(order["id"], buyer)
    assert detail["status"] == "returned" and detail["shipments"][0]["status"] == "returned"
    assert detail["money"]["in_escrow"] == 0
    assert [d["kind"] for d in detail["deadlines"]] == ["settlement_check"]  # the refund's, no other
    [refund] = _refunds(api, order["id"], buyer)
    assert (refund["amount"], refund["reason"]) == (20_00, "parcel_not_collected")
    assert refund["cause"] == {"type": "unclaimed_parcel", "id": shipment["id"]}
    assert refund["lines"] == [{"line_id": order["lines"][0]["id"], "quantity": 2, "amount": 20_00}]
    assert _payable(api, listing) == [{"currency": "USD", "amount": 2_00 - _commission(2_00)}]
    assert "20.00 USD is refunded" in _notes(api, buyer, "parcel_returned")[0]
    assert "every parcel came back" in _notes(api, listing.seller, "payout_released")[0]
    kinds = [e["kind"] for e in api.timeline(order["id"], buyer)]
    assert kinds.index("protection_extended") < kinds.index("storage_ended") < kinds.index("parcel_returning")
    assert kinds.index("shipment_returned") < kinds.index("granted") < kinds.index("parcels_returned")
    api.advance(days=8)  # the refund settles
    assert _refunds(api, order["id"], buyer)[0]["status"] == "settled"


def test_r6_6_a_refused_parcel_goes_back_and_the_policy_may_refund_in_full(api: Api) -> None:
    books = api.ctx.policies
    policy = books.current.policy
    books.adopt(
        version_of(
            policy.model_copy(
                update={
                    "version": "2026.12-full-unclaimed",
                    "shipping": policy.shipping.model_copy(update={"unclaimed_refund": "full"}),
                }
            )
        )
    )
    buyer, listing, order = paid_order(api, quantity=2)
    code = s10("61616161")
    shipment = ship(api, listing, order["id"], code)
    api.advance(days=2)
    _carrier(api, code, "accepted", "in_transit")
    refused = _refuse(api, order["id"], buyer).json()
    assert refused["status"] == "returning"
    [parcel] = refused["shipments"]
    assert (parcel["status"], parcel["sent_back_by"]) == ("returning", "refused")
    assert not action(refused, "refuse_parcel")["available"]
    assert "You refused parcel" in _notes(api, buyer, "parcel_returning")[0]
    assert "22.00 USD (in full)" in _notes(api, buyer, "parcel_returning")[0]
    assert "The buyer refused parcel" in _notes(api, listing.seller, "parcel_returning")[0]

    api.advance(days=5)
    _carrier(api, code, "in_transit")  # on the way back: still returning
    assert api.order(order["id"], buyer)["shipments"][0]["status"] == "returning"
    api.advance(days=5)
    _carrier(api, code, "delivered_to_sender")
    detail = api.order(order["id"], buyer)
    assert detail["status"] == "returned" and detail["money"]["in_escrow"] == 0
    [refund] = _refunds(api, order["id"], buyer)
    assert (refund["amount"], refund["reason"]) == (22_00, "parcel_refused")
    assert refund["cause"] == {"type": "unclaimed_parcel", "id": shipment["id"]}
    assert _payable(api, listing) == []  # nothing remained to pay out
    events = [e for e in api.timeline(order["id"], buyer) if e["kind"] == "refused"]
    assert [(e["actor"], e["actor_id"], e["rule"]) for e in events] == [("buyer", buyer.id, "R6.6")]


def test_r6_6_returned_then_delivered_to_sender_refunds_the_buyer_and_never_pays_the_seller_in_full(
    api: Api,
) -> None:
    buyer, listing, order = paid_order(api, price=19_99)
    code = s10("62626262")
    ship(api, listing, order["id"], code)
    api.advance(days=4)
    _carrier(api, code, "returned_to_sender")
    detail = api.order(order["id"], buyer)
    assert detail["status"] == "returning" and detail["shipments"][0]["sent_back_by"] is None
    assert "The carrier is sending parcel" in _notes(api, buyer, "parcel_returning")[0]
    api.advance(days=3)
    _carrier(api, code, "delivered_to_sender")
    detail = api.order(order["id"], buyer)
    assert detail["status"] == "returned"
    assert not action(detail, "confirm_receipt")["available"]
    r = api.post(f"/v1/orders/{order['id']}/confirm-receipt", buyer, expect=409)
    assert r.json()["code"] == "order_returned"
    [refund] = _refunds(api, order["id"], buyer)
    assert (refund["amount"], refund["reason"]) == (19_99, "returned_to_sender")
    api.advance(days=60)
    assert api.status(order["id"], buyer) == "returned"
    assert _payable(api, listing) == [{"currency": "USD", "amount": 2_00 - _commission(2_00)}]


def test_r6_6_a_return_reported_whole_in_one_delivery_ends_the_order_too(api: Api) -> None:
    buyer, listing, order = paid_order(api, quantity=3)
    code = s10("69696969")
    ship(api, listing, order["id"], code)
    api.advance(days=9)
    _carrier(api, code, "at_pickup_point", "returned_to_sender", "delivered_to_sender")
    detail = api.order(order["id"], buyer)
    assert detail["status"] == "returned" and detail["shipments"][0]["status"] == "returned"
    assert [r["amount"] for r in _refunds(api, order["id"], buyer)] == [30_00]
    assert _payable(api, listing) == [{"currency": "USD", "amount": 2_00 - _commission(2_00)}]
    kinds = [e["kind"] for e in api.timeline(order["id"], buyer)]
    assert kinds.count("parcel_returning") == kinds.count("parcels_returned") == 1


def test_r6_6_one_parcel_of_two_refused_the_order_resumes_with_the_other(api: Api) -> None:
    buyer, listing, order = paid_order(api, quantity=2, promised_days=20)
    line = order["lines"][0]["id"]
    kept = ship(api, listing, order["id"], s10("63636363"), [{"line_id": line, "quantity": 1}])
    back_code = s10("64646464")
    back = ship(api, listing, order["id"], back_code, [{"line_id": line, "quantity": 1}])
    api.advance(days=2)
    _scan(api, kept["id"], "delivered")
    # the delivered parcel cannot be refused; the other one can
    r = _refuse(api, order["id"], buyer, {"shipment_id": kept["id"]}, expect=409)
    assert r.json()["code"] == "parcel_delivered"
    before = deadline(api.order(order["id"], buyer), "protection_end")
    assert before is not None
    detail = _refuse(api, order["id"], buyer, {"shipment_id": back["id"]}).json()
    assert detail["status"] == "returning"
    assert deadline(detail, "protection_end") is None
    api.advance(days=6)
    _carrier(api, back_code, "delivered_to_sender")
    detail = api.order(order["id"], buyer)
    assert detail["status"] == "shipped"  # protection resumes for the parcel the buyer has
    end = deadline(detail, "protection_end")
    assert end is not None
    assert datetime.fromisoformat(end["due_at"]) == max(
        datetime.fromisoformat(before["due_at"]), _now(api) + timedelta(days=5)
    )
    assert _notes(api, buyer, "protection_resumed")
    # one unit back: its item, its half of the line's shipping kept for the return
    [refund] = _refunds(api, order["id"], buyer)
    assert refund["lines"] == [{"line_id": line, "quantity": 1, "amount": 10_00}]
    assert detail["money"]["in_escrow"] == 12_00
    api.post(f"/v1/orders/{order['id']}/confirm-receipt", buyer, expect=200)
    api.advance(days=15)
    assert api.status(order["id"], buyer) == "closed"
    assert _payable(api, listing) == [{"currency": "USD", "amount": 12_00 - _commission(12_00)}]


def test_r6_6_a_parcel_sent_back_after_receipt_was_confirmed_is_refunded_before_any_payout(api: Api) -> None:
    buyer, listing, order = paid_order(api)
    code = s10("65656565")
    shipment = ship(api, listing, order["id"], code)
    api.advance(days=2)
    _scan(api, shipment["id"], "at_pickup_point")
    arrived = _now(api)
    api.post(f"/v1/orders/{order['id']}/confirm-receipt", buyer, expect=200)  # but never collects it
    assert deadline(api.order(order["id"], buyer), "dispute_window_end") is not None
    api.advance(days=16)  # the window would close: it waits until 5 days after the storage ends
    detail = api.order(order["id"], buyer)
    window = deadline(detail, "dispute_window_end")
    assert detail["status"] == "completed" and window is not None
    assert datetime.fromisoformat(window["due_at"]) == arrived + timedelta(days=35)
    assert _payable(api, listing) == [] and _notes(api, listing.seller, "payout_postponed")
    api.advance(days=14)
    detail = api.order(order["id"], buyer)
    assert detail["status"] == "returning" and deadline(detail, "dispute_window_end") is None
    api.advance(days=4)
    _carrier(api, code, "delivered_to_sender")
    assert api.status(order["id"], buyer) == "returned"
    [refund] = _refunds(api, order["id"], buyer)
    assert refund["amount"] == 10_00
    assert _payable(api, listing) == [{"currency": "USD", "amount": 2_00 - _commission(2_00)}]


def test_r6_6_a_parcel_going_back_while_the_rest_ships_holds_protection_until_it_is_back(api: Api) -> None:
    buyer, listing, order = paid_order(api, quantity=2, promised_days=10, handling_days=5)
    line = order["lines"][0]["id"]
    first_code = s10("66666661")
    ship(api, listing, order["id"], first_code, [{"line_id": line, "quantity": 1}])
    refused = _refuse(api, order["id"], buyer).json()  # partly shipped: the order goes on
    assert refused["status"] == "partly_shipped" and refused["shipments"][0]["status"] == "returning"
    ship(api, listing, order["id"], s10("66666662"), [{"line_id": line, "quantity": 1}])
    assert api.status(order["id"], buyer) == "shipped"
    api.advance(days=10)  # protection ends with the first parcel still on its way back
    detail = api.order(order["id"], buyer)
    assert detail["status"] == "returning" and detail["times"]["completed_at"] is None
    _carrier(api, first_code, "delivered_to_sender")
    detail = api.order(order["id"], buyer)
    assert detail["status"] == "shipped"
    assert [r["amount"] for r in _refunds(api, order["id"], buyer)] == [10_00]
    api.advance(days=25)
    assert api.status(order["id"], buyer) == "closed"
    assert _payable(api, listing) == [{"currency": "USD", "amount": 12_00 - _commission(12_00)}]


def test_r6_6_refusing_a_parcel_is_only_the_buyers_before_delivery_and_bad_refusals_write_nothing(
    api: Api,
) -> None:
    buyer, listing, order = paid_order(api)
    order_id = order["id"]
    other = api.buyer("Eve")
    with writes_nothing(api):
        assert_problem(_refuse(api, order_id, buyer, expect=None), 409, "order_not_shipped")
    assert action(api.order(order_id, buyer), "refuse_parcel")["code"] == "order_not_shipped"
    shipment = ship(api, listing, order_id, s10("67676767"))
    with writes_nothing(api):
        assert_problem(_refuse(api, order_id, listing.seller, expect=None), 403, "forbidden_role")
        assert_problem(_refuse(api, order_id, other, expect=None), 404, "order_not_found")
        assert_problem(_refuse(api, "ord_does_not_exist", buyer, expect=None), 404, "order_not_found")
        r = _refuse(api, order_id, buyer, {"shipment_id": "shp_not_this_orders"}, expect=None)
        assert_problem(r, 404, "shipment_not_found")
        r = _refuse(api, order_id, buyer, {"shipment_id": shipment["id"], "extra": 1}, expect=None)
        assert_problem(r, 422, "validation_error")
    _scan(api, shipment["id"], "delivered")
    delivered = api.order(order_id, buyer)
    assert delivered["status"] == "delivered"
    assert action(delivered, "refuse_parcel")["code"] == "parcel_delivered"
    with writes_nothing(api):
        assert_problem(_refuse(api, order_id, buyer, expect=None), 409, "parcel_delivered")
    api.post(f"/v1/orders/{order_id}/confirm-receipt", buyer, expect=200)
    with writes_nothing(api):
        assert_problem(_refuse(api, order_id, buyer, expect=None), 409, "order_completed")
    # a parcel already on its way back cannot be refused again
    buyer2, listing2, order2 = paid_order(api)
    ship(api, listing2, order2["id"], s10("68686868"))
    _refuse(api, order2["id"], buyer2)
    with writes_nothing(api):
        assert_problem(_refuse(api, order2["id"], buyer2, expect=None), 409, "parcel_returning")
