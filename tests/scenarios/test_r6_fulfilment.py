"""R6.x and R9.2 scenarios: shipment, scans, buyer protection, completion, payout."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta
from typing import Any

from tests.support import Api, Listing, Who, action, deadline, s10


def paid_order(
    api: Api, quantity: int = 1, price: int = 10_00, promised_days: int = 20, handling_days: int = 3
) -> tuple[Who, Listing, dict[str, Any]]:
    buyer = api.buyer()
    listing = api.listing(
        price=price,
        handling_days=handling_days,
        options=[{"carrier": "postal", "price": 2_00, "promised_days": promised_days}],
    )
    order = api.place(buyer, listing, quantity)
    api.pay(buyer, order["id"])
    return buyer, listing, api.order(order["id"], buyer)


def ship(
    api: Api,
    listing: Listing,
    order_id: str,
    code: str,
    lines: list[dict[str, Any]] | None = None,
    expect: int = 201,
    carrier: str = "postal",
) -> dict[str, Any]:
    body: dict[str, Any] = {"carrier": carrier, "tracking_code": code}
    if lines is not None:
        body["lines"] = lines
    return dict(api.post(f"/v1/orders/{order_id}/shipments", listing.seller, body, expect=expect).json())


def test_r6_1_seller_ships_all_lines_with_a_checked_s10_code(api: Api) -> None:
    buyer, listing, order = paid_order(api, quantity=2)
    shipment = ship(api, listing, order["id"], s10("12345678"))
    assert shipment["status"] == "label_created"
    detail = api.order(order["id"], buyer)
    assert detail["status"] == "shipped"
    assert detail["shipments"][0]["lines"] == [{"line_id": order["lines"][0]["id"], "quantity": 2}]
    assert not action(api.order(order["id"], listing.seller), "ship")["available"]


def test_r6_1_bad_check_digit_is_refused_and_nothing_is_written(api: Api) -> None:
    buyer, listing, order = paid_order(api)
    good = s10("12345678")
    bad = good[:10] + str((int(good[10]) + 1) % 10) + good[11:]
    r = ship(api, listing, order["id"], bad, expect=422)
    assert r["code"] == "invalid_check_digit"
    assert api.status(order["id"], buyer) == "awaiting_shipment"
    assert api.order(order["id"], buyer)["shipments"] == []


def test_r6_1_partial_shipments_then_the_rest(api: Api) -> None:
    buyer, listing, order = paid_order(api, quantity=3)
    line = order["lines"][0]["id"]
    ship(api, listing, order["id"], s10("10000001"), [{"line_id": line, "quantity": 1}])
    assert api.status(order["id"], buyer) == "partly_shipped"
    assert deadline(api.order(order["id"], buyer), "protection_end") is None
    r = ship(api, listing, order["id"], s10("10000002"), [{"line_id": line, "quantity": 3}], expect=422)
    assert r["code"] == "quantity_exceeds_remaining"
    ship(api, listing, order["id"], s10("10000003"), [{"line_id": line, "quantity": 2}])
    assert api.status(order["id"], buyer) == "shipped"
    r = ship(api, listing, order["id"], s10("10000004"), expect=409)
    assert r["code"] == "order_fully_shipped"
    notes = api.get("/v1/notifications", buyer).json()["notifications"]
    shipped = [n["text"] for n in notes if n["kind"] == "shipped"]
    assert len(shipped) == 2
    assert any(s10("10000001") in text for text in shipped) and any(
        s10("10000003") in text for text in shipped
    )


def test_r6_1_shipping_unpaid_or_cancelled_orders_is_refused(api: Api) -> None:
    buyer = api.buyer()
    listing = api.listing()
    order = api.place(buyer, listing)
    assert ship(api, listing, order["id"], s10("22222222"), expect=409)["code"] == "order_not_paid"
    api.post(f"/v1/orders/{order['id']}/cancel", buyer, expect=200)
    assert ship(api, listing, order["id"], s10("22222222"), expect=409)["code"] == "order_cancelled"


def test_r6_1_lines_not_in_the_order_are_refused(api: Api) -> None:
    _, listing, order = paid_order(api)
    r = ship(api, listing, order["id"], s10("33333333"), [{"line_id": "lin_nope", "quantity": 1}], expect=422)
    assert r["code"] == "unknown_line"


def _signed(
    api: Api, carrier: str, payload: dict[str, Any], at: datetime | None = None, secret: str | None = None
) -> dict[str, str]:
    body = json.dumps(payload).encode()
    ts = str(int((at or datetime.fromisoformat(api.get("/v1/sandbox/clock").json()["now"])).timestamp()))
    key = (secret or api.ctx.carrier_secrets[carrier]).encode()
    sig = "v1=" + hmac.new(key, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"webhook-timestamp": ts, "webhook-signature": sig, "content-type": "application/json"}


def post_scans(api: Api, carrier: str, payload: dict[str, Any], expect: int, **sign: Any) -> dict[str, Any]:
    headers = _signed(api, carrier, payload, **sign)
    r = api.client.post(
        f"/v1/carriers/{carrier}/scans", content=json.dumps(payload).encode(), headers=headers
    )
    assert r.status_code == expect, r.text
    return dict(r.json())


def scan(code: str, kind: str, at: datetime, country: str = "PL", city: str = "Warsaw") -> dict[str, Any]:
    return {
        "tracking_code": code,
        "kind": kind,
        "occurred_at": at.isoformat(),
        "place": {"country": country, "city": city, "postal_code": "00-001"},
    }


def _now(api: Api) -> datetime:
    return datetime.fromisoformat(api.get("/v1/sandbox/clock").json()["now"])


def test_r6_2_signed_carrier_scans_move_the_shipment_in_order_of_occurrence(api: Api) -> None:
    buyer, listing, order = paid_order(api)
    code = s10("44444444")
    ship(api, listing, order["id"], code)
    t0 = _now(api)
    api.advance(days=2)
    # in_transit arrives before accepted, though it happened later
    post_scans(
        api, "postal", {"scans": [scan(code, "in_transit", t0 + timedelta(days=1), "CN", "Shenzhen")]}, 200
    )
    result = post_scans(
        api, "postal", {"scans": [scan(code, "accepted", t0 + timedelta(hours=2), "CN")]}, 200
    )
    assert result == {"accepted": 1, "duplicates": 0}
    shipment = api.order(order["id"], buyer)["shipments"][0]
    assert shipment["status"] == "in_transit"
    assert [s["kind"] for s in shipment["scans"]] == ["accepted", "in_transit"]
    api.advance(minutes=1)  # the carrier sends the same scan again in a later delivery
    dup = post_scans(api, "postal", {"scans": [scan(code, "accepted", t0 + timedelta(hours=2), "CN")]}, 200)
    assert dup == {"accepted": 0, "duplicates": 1}


def test_r6_2_forged_stale_and_replayed_signatures_are_refused(api: Api) -> None:
    buyer, listing, order = paid_order(api)
    code = s10("55555555")
    ship(api, listing, order["id"], code)
    payload = {"scans": [scan(code, "accepted", _now(api))]}
    assert post_scans(api, "postal", payload, 401, secret="wrong")["code"] == "bad_signature"
    stale = _now(api) - timedelta(minutes=10)
    assert post_scans(api, "postal", payload, 401, at=stale)["code"] == "stale_signature"
    headers = _signed(api, "postal", payload)
    raw = json.dumps(payload).encode()
    assert api.client.post("/v1/carriers/postal/scans", content=raw, headers=headers).status_code == 200
    replay = api.client.post("/v1/carriers/postal/scans", content=raw, headers=headers)
    assert replay.status_code == 409 and replay.json()["code"] == "replayed_webhook"
    unknown = post_scans(api, "postal", {"scans": [scan(s10("99999999"), "accepted", _now(api))]}, 422)
    assert unknown["code"] == "unknown_tracking_code"
    assert len(api.order(order["id"], buyer)["shipments"][0]["scans"]) == 1


def test_r6_3_no_cancellation_after_shipment(api: Api) -> None:
    buyer, listing, order = paid_order(api)
    ship(api, listing, order["id"], s10("66666666"))
    cancel = action(api.order(order["id"], buyer), "cancel")
    assert not cancel["available"] and cancel["code"] == "order_shipped" and "R6.3" in cancel["reason"]
    r = api.post(f"/v1/orders/{order['id']}/cancel", buyer, expect=409)
    assert r.json()["code"] == "order_shipped"


def test_r6_4_protection_ends_at_promised_days_and_the_order_completes(api: Api) -> None:
    buyer, listing, order = paid_order(api, promised_days=20)
    ship(api, listing, order["id"], s10("77777777"))
    shipped_at = _now(api)
    detail = api.order(order["id"], buyer)
    end = deadline(detail, "protection_end")
    assert end is not None and datetime.fromisoformat(end["due_at"]) == shipped_at + timedelta(days=20)
    assert end["must_act"] == "buyer" and "completes" in end["on_expiry"]
    api.advance(days=17, hours=1)  # the reminder fires 3 days before
    kinds = [n["kind"] for n in api.get("/v1/notifications", buyer).json()["notifications"]]
    assert "protection_ending" in kinds
    assert api.status(order["id"], buyer) == "shipped"
    api.advance(days=3)
    detail = api.order(order["id"], buyer)
    assert detail["status"] == "completed"
    window = deadline(detail, "dispute_window_end")
    assert window is not None and datetime.fromisoformat(window["due_at"]) == shipped_at + timedelta(days=35)


def test_r6_4_delivery_scan_brings_protection_forward_to_five_days(api: Api) -> None:
    buyer, listing, order = paid_order(api, promised_days=30)
    shipment = ship(api, listing, order["id"], s10("88888888"))
    api.advance(days=6)
    api.post(f"/v1/sandbox/shipments/{shipment['id']}/scans", json={"kind": "delivered"}, expect=200)
    delivered_at = _now(api)
    detail = api.order(order["id"], buyer)
    assert detail["status"] == "delivered"
    end = deadline(detail, "protection_end")
    assert end is not None and datetime.fromisoformat(end["due_at"]) == delivered_at + timedelta(days=5)
    api.advance(days=5)
    assert api.status(order["id"], buyer) == "completed"


def test_r6_4_late_delivery_keeps_the_sooner_promised_end(api: Api) -> None:
    buyer, listing, order = paid_order(api, promised_days=7)
    shipment = ship(api, listing, order["id"], s10("12121212"))
    shipped_at = _now(api)
    api.advance(days=4)
    api.post(f"/v1/sandbox/shipments/{shipment['id']}/scans", json={"kind": "delivered"}, expect=200)
    end = deadline(api.order(order["id"], buyer), "protection_end")
    assert end is not None and datetime.fromisoformat(end["due_at"]) == shipped_at + timedelta(days=7)


def test_r6_4_buyer_confirms_receipt_and_only_the_buyer_may(api: Api) -> None:
    buyer, listing, order = paid_order(api)
    r = api.post(f"/v1/orders/{order['id']}/confirm-receipt", buyer, expect=409)
    assert r.json()["code"] == "order_not_shipped"
    ship(api, listing, order["id"], s10("13131313"))
    api.post(f"/v1/orders/{order['id']}/confirm-receipt", listing.seller, expect=403)
    other = api.buyer("Eve")
    api.post(f"/v1/orders/{order['id']}/confirm-receipt", other, expect=404)
    body = api.post(f"/v1/orders/{order['id']}/confirm-receipt", buyer, expect=200).json()
    assert body["status"] == "completed" and deadline(body, "protection_end") is None
    assert [e["kind"] for e in api.timeline(order["id"], buyer)][-1] == "receipt_confirmed"


def test_r6_5_after_the_dispute_window_escrow_goes_to_the_seller_less_commission(api: Api) -> None:
    buyer, listing, order = paid_order(api, price=19_99)
    total = order["total"]  # 19.99 + 2.00 shipping
    ship(api, listing, order["id"], s10("14141414"))
    api.post(f"/v1/orders/{order['id']}/confirm-receipt", buyer, expect=200)
    api.advance(days=14, hours=23)
    assert api.status(order["id"], buyer) == "completed"
    assert api.get(f"/v1/stores/{listing.store_id}/balance", listing.seller).json()["payable"] == []
    api.advance(hours=1)
    detail = api.order(order["id"], buyer)
    assert detail["status"] == "closed" and detail["money"]["in_escrow"] == 0
    commission = (total * 500 + 5_000) // 10_000  # 5%, half up
    balance = api.get(f"/v1/stores/{listing.store_id}/balance", listing.seller).json()
    assert balance["payable"] == [{"currency": "USD", "amount": total - commission}]
    api.get(f"/v1/stores/{listing.store_id}/balance", buyer, expect=404)
    api.assert_ledger_balanced()


def test_r9_2_ledger_reconciles_after_a_full_lifecycle(api: Api) -> None:
    buyer, listing, order = paid_order(api)
    ship(api, listing, order["id"], s10("15151515"))
    api.advance(days=40)
    assert api.status(order["id"], buyer) == "closed"
    events = [e["kind"] for e in api.timeline(order["id"], buyer)]
    assert events.count("dispute_window_ended") == 1 and events.count("protection_ended") == 1
    api.assert_ledger_balanced()
