"""R7.5 to R7.8: arbitration, returns, final deadlines, and the escrow a dispute keeps."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.api.helpers import assert_problem, writes_nothing
from tests.dispute_support import PNG, Case, new_code, shipped
from tests.scenarios.test_r6_fulfilment import paid_order, post_scans, scan
from tests.support import Api, action, deadline


def _escalated(
    api: Api, quantity: int = 2, reason: str = "not_as_described", **body: Any
) -> tuple[Case, str]:
    case = shipped(api, quantity=quantity)
    d = case.open(reason=reason, **body)
    case.answer(d["proposals"][0]["id"], case.seller, accept=False)
    api.advance(days=3)
    case.escalate(d["id"], case.buyer)
    return case, str(d["id"])


def _now(api: Api) -> datetime:
    return datetime.fromisoformat(api.get("/v1/sandbox/clock").json()["now"])


def _fines(case: Case) -> list[dict[str, Any]]:
    return list(case.api.get(f"/v1/stores/{case.listing.store_id}/fines", case.seller).json()["fines"])


def test_r7_5_the_admin_queue_lists_escalated_disputes_oldest_first_with_their_file(api: Api) -> None:
    first, first_id = _escalated(api)
    api.post(f"/v1/disputes/{first_id}/messages", first.buyer, {"body": "It is blue."}, expect=201)
    api.upload(f"/v1/disputes/{first_id}/evidence", first.buyer, PNG, "blue.png", expect=201)
    api.advance(hours=1)
    _, second_id = _escalated(api)
    shipped(api).open()  # negotiating: not in the queue
    page = api.get("/v1/admin/disputes", first.admin, status="escalated").json()
    assert [f["dispute"]["id"] for f in page["disputes"]] == [first_id, second_id]
    file = page["disputes"][0]
    assert [m["body"] for m in file["messages"]] == ["It is blue."]
    assert [e["filename"] for e in file["dispute"]["evidence"]] == ["blue.png"]
    assert [p["status"] for p in file["dispute"]["proposals"]] == ["rejected"]
    assert file["shipments"][0]["tracking_code"] == first.code
    assert file["order"]["id"] == first.order["id"]
    fresh = {"open": 1, "resolved": 0, "closed": 0, "by_verdict": 0, "by_missed_deadline": 0}
    assert file["buyer_record"] == fresh and file["seller_record"] == fresh
    assert {a["action"]: a["available"] for a in file["dispute"]["actions"]} == {
        "request_info": True,
        "rule": True,
    }
    one = api.get("/v1/admin/disputes", first.admin, status="escalated", limit=1).json()
    rest = api.get("/v1/admin/disputes", first.admin, status="escalated", cursor=one["next_cursor"]).json()
    assert [f["dispute"]["id"] for f in one["disputes"] + rest["disputes"]] == [first_id, second_id]
    assert_problem(api.get("/v1/admin/disputes", first.buyer, expect=None), 403, "forbidden_role")


def test_r7_5_an_information_request_gives_48_hours_and_a_message_answers_it(api: Api) -> None:
    case, dispute_id = _escalated(api)
    body = {"party": "seller", "question": "Which colour did you ship?"}
    d = api.post(f"/v1/disputes/{dispute_id}/info-requests", case.admin, body, expect=201).json()
    assert d["info_requests"][0]["question"] == "Which colour did you ship?"
    due = deadline(d, "seller_info_by")
    assert due is not None and due["must_act"] == "seller"
    notes = api.get("/v1/notifications", case.seller).json()["notifications"]
    assert any(n["kind"] == "dispute_info_requested" for n in notes)
    with writes_nothing(api):
        r = api.post(f"/v1/disputes/{dispute_id}/info-requests", case.admin, body)
    assert_problem(r, 409, "info_already_requested")
    api.post(f"/v1/disputes/{dispute_id}/messages", case.seller, {"body": "Red, see photo."}, expect=201)
    answered = case.dispute(dispute_id)
    assert answered["info_requests"] == [] and deadline(answered, "seller_info_by") is None
    api.advance(hours=49)
    assert case.dispute(dispute_id)["status"] == "escalated"


def test_r7_5_partial_refund_verdict_follows_the_share_formula_and_fines_the_seller(api: Api) -> None:
    # 3 x 3.33 disputed: items 9.99; 35 % of it is 3.4965, rounded half up to 3.50
    case = shipped(api, quantity=3, price=3_33)
    d = case.open()
    case.answer(d["proposals"][0]["id"], case.seller, accept=False)
    api.advance(days=7, minutes=1)  # escalates by itself
    ruled = case.rule(d["id"], outcome="partial_refund", share=35)
    assert (ruled["status"], ruled["outcome"], ruled["refunded"], ruled["decided_by"]) == (
        "resolved",
        "partial_refund",
        3_50,
        "verdict",
    )
    assert ruled["fined"] == 18  # 5 % of 3.50, rounded half up
    (refund,) = case.refunds()
    assert refund["amount"] == 3_50 and all(line["quantity"] == 0 for line in refund["lines"])
    assert [f["amount"] for f in _fines(case)] == [18]


def test_r7_5_full_refund_verdict_and_a_rejection(api: Api) -> None:
    case, dispute_id = _escalated(api, quantity=2)
    ruled = case.rule(dispute_id, outcome="full_refund")
    assert (ruled["refunded"], ruled["fined"]) == (22_00, 1_10)
    assert case.order_now()["money"]["in_escrow"] == 0
    other, other_id = _escalated(api)
    rejected = other.rule(other_id, outcome="rejected", rationale="The photos show the red case.")
    assert (rejected["status"], rejected["outcome"], rejected["refunded"]) == ("closed", "rejected", 0)
    assert other.refunds() == [] and _fines(other) == []
    assert other.order_now()["status"] == "shipped"


def test_r7_5_a_seller_who_loses_on_damage_in_transit_is_not_fined(api: Api) -> None:
    case, dispute_id = _escalated(api, reason="damaged")
    ruled = case.rule(dispute_id, outcome="full_refund")
    assert ruled["fined"] == 0 and _fines(case) == []


def test_r7_5_bad_verdicts_are_refused_and_change_nothing(api: Api) -> None:
    case, dispute_id = _escalated(api)
    path = f"/v1/disputes/{dispute_id}/verdict"
    for who, body, status, code in (
        (case.buyer, {"outcome": "full_refund", "rationale": "x"}, 403, "forbidden_role"),
        (case.seller, {"outcome": "rejected", "rationale": "x"}, 403, "forbidden_role"),
        (case.admin, {"outcome": "partial_refund", "share": 0, "rationale": "x"}, 422, "validation_error"),
        (case.admin, {"outcome": "partial_refund", "share": 101, "rationale": "x"}, 422, "validation_error"),
        (case.admin, {"outcome": "partial_refund", "rationale": "x"}, 422, "invalid_share"),
        (case.admin, {"outcome": "full_refund", "share": 50, "rationale": "x"}, 422, "share_not_allowed"),
    ):
        with writes_nothing(api):
            r = api.post(path, who, body)
        assert_problem(r, status, code)
    negotiating = shipped(api)
    d = negotiating.open()
    with writes_nothing(api):
        r = api.post(
            f"/v1/disputes/{d['id']}/verdict", negotiating.admin, {"outcome": "rejected", "rationale": "x"}
        )
    assert_problem(r, 409, "dispute_not_escalated")


def _return_agreed(api: Api, payer: str = "buyer") -> tuple[Case, dict[str, Any]]:
    case = shipped(api, quantity=1)  # 10.00 + 2.00 shipping
    d = case.open(wanted="return_and_refund", return_shipping_paid_by=payer)
    agreed = case.answer(d["proposals"][0]["id"], case.seller)
    assert agreed["status"] == "awaiting_return"
    return case, agreed


def test_r7_6_the_return_is_shipped_and_confirmed_then_the_refund_is_paid(api: Api) -> None:
    case, d = _return_agreed(api)
    assert action(d, "confirm_return")["available"] is False
    code = new_code()
    shipped_back = api.post(
        f"/v1/disputes/{d['id']}/return-shipment",
        case.buyer,
        {"carrier": "postal", "tracking_code": code},
        expect=200,
    ).json()
    assert shipped_back["return_parcel"]["tracking_code"] == code
    assert deadline(shipped_back, "return_ship_by") is None
    assert case.refunds() == []
    sandbox_scan = api.post(
        f"/v1/sandbox/disputes/{d['id']}/return-scans", json={"kind": "in_transit"}, expect=200
    )
    assert sandbox_scan.json() == {"accepted": 1, "duplicates": 0}
    done = api.post(f"/v1/disputes/{d['id']}/return-received", case.seller, expect=200).json()
    assert (done["status"], done["refunded"]) == ("resolved", 12_00)
    assert [r["amount"] for r in case.refunds()] == [12_00]


def test_r7_6_seller_silent_5_days_after_the_return_is_delivered_the_refund_is_paid(api: Api) -> None:
    case, d = _return_agreed(api, payer="seller")
    code = new_code()
    api.post(
        f"/v1/disputes/{d['id']}/return-shipment",
        case.buyer,
        {"carrier": "postal", "tracking_code": code},
        expect=200,
    )
    api.advance(days=2)
    post_scans(api, "postal", {"scans": [scan(code, "delivered", _now(api) - timedelta(hours=1))]}, 200)
    now = case.dispute(d["id"])
    assert now["return_parcel"]["delivered_at"] is not None
    assert deadline(now, "return_refund_at") is not None
    api.advance(days=4, hours=22)
    assert case.dispute(d["id"])["status"] == "awaiting_return"
    api.advance(hours=2)
    done = case.dispute(d["id"])
    # the seller pays the return: the line's shipping (2.00) again as postage, within what is held
    assert (done["status"], done["refunded"]) == ("resolved", 12_00)
    admin_file = api.get("/v1/admin/disputes", case.admin, status="resolved").json()["disputes"][0]
    assert [s["kind"] for s in admin_file["return_scans"]] == ["delivered"]


def test_r7_6_a_returns_code_is_checked_and_never_one_already_used(api: Api) -> None:
    case, d = _return_agreed(api)
    path = f"/v1/disputes/{d['id']}/return-shipment"
    for body, status, code in (
        ({"carrier": "postal", "tracking_code": "RR123456780CN"}, 422, "invalid_check_digit"),
        ({"carrier": "postal", "tracking_code": case.code}, 409, "tracking_code_in_use"),  # the way out
    ):
        with writes_nothing(api):
            r = api.post(path, case.buyer, body)
        assert_problem(r, status, code)
    with writes_nothing(api):
        r = api.post(path, case.seller, {"carrier": "postal", "tracking_code": new_code()})
    assert_problem(r, 403, "forbidden_role")
    back = new_code()
    api.post(path, case.buyer, {"carrier": "postal", "tracking_code": back}, expect=200)
    _, listing, unshipped = paid_order(api)  # a store cannot ship with a return's code (wrong direction)
    with writes_nothing(api):
        r = api.post(
            f"/v1/orders/{unshipped['id']}/shipments",
            listing.seller,
            {"carrier": "postal", "tracking_code": back},
        )
    assert_problem(r, 409, "tracking_code_in_use")


def test_r7_7_a_buyer_who_misses_the_return_deadline_loses_and_it_never_reopens(api: Api) -> None:
    case, d = _return_agreed(api)
    api.advance(days=10, minutes=1)
    lost = case.dispute(d["id"])
    assert (lost["status"], lost["decided_by"], lost["refunded"]) == ("closed", "buyer_missed_deadline", 0)
    assert case.refunds() == []
    for path, who, body in (
        (
            f"/v1/disputes/{d['id']}/return-shipment",
            case.buyer,
            {"carrier": "postal", "tracking_code": new_code()},
        ),
        (f"/v1/disputes/{d['id']}/proposals", case.seller, {"kind": "full_refund"}),
        (f"/v1/disputes/{d['id']}/messages", case.buyer, {"body": "Please"}),
        (f"/v1/disputes/{d['id']}/escalate", case.buyer, None),
    ):
        with writes_nothing(api):
            r = api.post(path, who, body)
        assert_problem(r, 409, "dispute_ended")
    with writes_nothing(api):
        r = api.upload(f"/v1/disputes/{d['id']}/evidence", case.buyer, PNG, "late.png")
    assert_problem(r, 409, "dispute_ended")
    with writes_nothing(api):
        r = api.post(
            f"/v1/orders/{case.order['id']}/disputes",
            case.buyer,
            {"reason": "damaged", "wanted": "full_refund", "description": "Again"},
        )
    assert_problem(r, 409, "line_already_disputed")


def test_r7_7_a_buyer_who_misses_an_information_request_loses_the_dispute(api: Api) -> None:
    case, dispute_id = _escalated(api)
    api.post(
        f"/v1/disputes/{dispute_id}/info-requests",
        case.admin,
        {"party": "buyer", "question": "A photo of the label?"},
        expect=201,
    )
    api.advance(hours=48, minutes=1)
    lost = case.dispute(dispute_id)
    assert (lost["status"], lost["decided_by"]) == ("closed", "buyer_missed_deadline")
    assert lost["proposals"][0]["status"] == "rejected"


def test_r7_7_a_seller_who_misses_one_loses_only_that_step(api: Api) -> None:
    case, dispute_id = _escalated(api)
    api.post(
        f"/v1/disputes/{dispute_id}/info-requests",
        case.admin,
        {"party": "seller", "question": "Proof of the colour?"},
        expect=201,
    )
    api.advance(hours=48, minutes=1)
    still = case.dispute(dispute_id)
    assert still["status"] == "escalated" and still["info_requests"] == []
    notes = api.get("/v1/notifications", case.seller).json()["notifications"]
    assert any(n["kind"] == "dispute_step_lost" for n in notes)
    case.rule(dispute_id, outcome="full_refund")


def test_r7_8_disputed_money_stays_in_escrow_until_the_dispute_ends(api: Api) -> None:
    case = shipped(api, quantity=2, promised_days=10)  # 20.00 + 2.00 in escrow
    api.advance(days=10, minutes=1)
    assert case.order_now()["status"] == "completed"
    api.advance(days=14)
    d = case.open(lines=[{"line_id": case.line_id, "quantity": 1}], wanted="partial_refund", amount=4_00)
    api.advance(days=3)  # the post-completion window passes while the dispute is open
    order = case.order_now()
    assert order["status"] == "disputed" and order["money"]["in_escrow"] == 22_00
    case.answer(d["proposals"][0]["id"], case.seller)  # resolved: 4.00 back to the buyer
    api.advance(minutes=1)  # the window passed meanwhile: the order closes at once
    closed = case.order_now()
    assert closed["status"] == "closed" and closed["money"]["in_escrow"] == 0
    balance = api.get(f"/v1/stores/{case.listing.store_id}/balance", case.seller).json()
    assert balance["payable"] == [{"currency": "USD", "amount": 18_00 - 90}]  # 18.00 less 5 % commission


def test_r7_8_a_parcel_back_with_the_seller_during_a_dispute_refunds_within_the_escrow(api: Api) -> None:
    case = shipped(api, quantity=2)  # 20.00 + 2.00 shipping held
    d = case.open(reason="not_received")
    shipment_id = case.order["shipments"][0]["id"]
    for kind in ("returned_to_sender", "delivered_to_sender"):
        api.post(f"/v1/sandbox/shipments/{shipment_id}/scans", json={"kind": kind}, expect=200)
        api.advance(minutes=1)
    assert [r["amount"] for r in case.refunds()] == [20_00]  # the items; the shipping kept (R6.6)
    assert case.order_now()["status"] == "disputed"  # the dispute still holds the rest
    done = case.answer(d["proposals"][0]["id"], case.seller)
    assert done["refunded"] == 2_00  # never more than the escrow still holds
    assert case.money()["in_escrow"] == 0
