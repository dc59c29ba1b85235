"""R7.1 to R7.4: a buyer opens a dispute on shipped lines; the parties negotiate; the seller's
silence accepts the buyer's request; without agreement the dispute escalates."""

from __future__ import annotations

from tests import samples
from tests.api.helpers import assert_problem, writes_nothing
from tests.dispute_support import JPEG, MP4, PDF, PNG, latest_open, shipped, shipped_two_lines
from tests.refund_support import grant
from tests.scenarios.test_r6_fulfilment import paid_order
from tests.support import Api, action, deadline


def _notes(api: Api, who: object) -> list[dict[str, object]]:
    return list(api.get("/v1/notifications", who).json()["notifications"])  # type: ignore[arg-type]


def test_r7_1_buyer_opens_a_dispute_and_the_order_waits_for_it(api: Api) -> None:
    case = shipped(api, quantity=2)
    before = case.order_now()
    opening = action(before, "open_dispute")
    assert opening["available"] and opening["until"] == before["times"]["protection_ends_at"]

    d = case.open(lines=[{"line_id": case.line_id, "quantity": 1}], wanted="partial_refund", amount=4_00)
    assert d["status"] == "negotiating"
    assert d["lines"] == [{"line_id": case.line_id, "quantity": 1}]
    assert (d["wanted"], d["wanted_amount"], d["currency"]) == ("partial_refund", 4_00, "USD")
    assert [p["author_role"] for p in d["proposals"]] == ["buyer"]
    assert {x["kind"] for x in d["deadlines"]} == {"seller_answer_by", "escalation"}
    order = case.order_now()
    assert order["status"] == "disputed"
    assert {x["kind"] for x in order["deadlines"]} >= {"seller_answer_by", "escalation"}
    assert not any(x["kind"] == "protection_end" for x in order["deadlines"])  # R7.8: it waits
    seller_notes = [n for n in _notes(api, case.seller) if n["kind"] == "dispute_opened"]
    assert seller_notes and "Answer by" in str(seller_notes[0]["text"])
    # the same buyer, the parties and admins read it; each party lists its own
    for who in (case.buyer, case.seller, case.admin):
        assert case.dispute(d["id"], who)["id"] == d["id"]
    assert [x["id"] for x in api.get("/v1/disputes", case.buyer).json()["disputes"]] == [d["id"]]
    assert [x["id"] for x in api.get("/v1/disputes", case.seller).json()["disputes"]] == [d["id"]]
    listed = api.get(f"/v1/orders/{case.order['id']}/disputes", case.seller).json()["disputes"]
    assert [x["id"] for x in listed] == [d["id"]]


def test_r7_1_no_dispute_on_unshipped_or_cancelled_orders_and_nothing_is_written(api: Api) -> None:
    buyer, _, order = paid_order(api)
    body = {"reason": "not_received", "wanted": "full_refund", "description": "Nothing came."}
    with writes_nothing(api):
        r = api.post(f"/v1/orders/{order['id']}/disputes", buyer, body)
    assert_problem(r, 409, "order_not_shipped")
    assert action(api.order(order["id"], buyer), "open_dispute")["code"] == "order_not_shipped"
    unpaid = api.place(buyer, api.listing())
    api.post(f"/v1/orders/{unpaid['id']}/cancel", buyer, expect=200)
    with writes_nothing(api):
        r = api.post(f"/v1/orders/{unpaid['id']}/disputes", buyer, body)
    assert_problem(r, 409, "order_cancelled")


def test_r7_1_the_window_closes_with_protection_and_15_days_after_completion(api: Api) -> None:
    late = shipped(api, promised_days=10)
    api.advance(days=10, minutes=1)  # protection ended: the order completed by itself
    completed = late.order_now()
    assert completed["status"] == "completed"
    assert action(completed, "open_dispute")["until"] == completed["times"]["dispute_window_ends_at"]
    api.advance(days=14)
    late.open()  # still within the 15 days after completion

    closed = shipped(api, promised_days=10)
    api.advance(days=25, minutes=2)
    assert closed.order_now()["status"] == "closed"
    with writes_nothing(api):
        r = api.post(
            f"/v1/orders/{closed.order['id']}/disputes",
            closed.buyer,
            {"reason": "damaged", "wanted": "full_refund", "description": "Too late?"},
        )
    assert_problem(r, 409, "dispute_window_closed")


def test_r7_1_a_line_is_disputed_once_and_bad_lines_are_refused(api: Api) -> None:
    case, fresh = shipped(api, quantity=2), shipped(api, quantity=2)
    first = case.open(lines=[{"line_id": case.line_id, "quantity": 1}])
    with writes_nothing(api):  # a line is disputed once, even for the quantity left out
        r = api.post(
            f"/v1/orders/{case.order['id']}/disputes",
            case.buyer,
            {"reason": "damaged", "wanted": "full_refund", "description": "x"},
        )
    assert_problem(r, 409, "line_already_disputed")
    cases = [
        ({"lines": [{"line_id": "lin_not_here", "quantity": 1}]}, 422, "unknown_line"),
        ({"lines": [{"line_id": fresh.line_id, "quantity": 3}]}, 422, "quantity_exceeds_shipped"),
        ({"wanted": "partial_refund"}, 422, "amount_required"),
        ({"wanted": "full_refund", "amount": 1_00}, 422, "amount_not_allowed"),
        ({"reason": "too_slow"}, 422, "validation_error"),
        ({"wanted": "partial_refund", "amount": 99_00}, 422, "amount_exceeds_disputed"),
    ]
    for body, status, code in cases:
        with writes_nothing(api):
            r = api.post(
                f"/v1/orders/{fresh.order['id']}/disputes",
                fresh.buyer,
                {"reason": "damaged", "wanted": "full_refund", "description": "x", **body},
            )
        assert_problem(r, status, code)
    assert action(case.order_now(), "open_dispute")["code"] == "line_already_disputed"
    assert case.dispute(first["id"])["status"] == "negotiating"


def test_r7_1_a_party_cannot_read_or_write_another_partys_dispute(api: Api) -> None:
    mine, theirs = shipped(api), shipped(api)
    d = theirs.open()
    for who in (mine.buyer, mine.seller):
        with writes_nothing(api):
            assert_problem(api.get(f"/v1/disputes/{d['id']}", who, expect=None), 404, "dispute_not_found")
            r = api.post(f"/v1/disputes/{d['id']}/messages", who, {"body": "hello"})
            assert_problem(r, 404, "dispute_not_found")
            r = api.upload(f"/v1/disputes/{d['id']}/evidence", who, JPEG, "a.jpg")
            assert_problem(r, 404, "dispute_not_found")
            r = api.post(f"/v1/proposals/{d['proposals'][0]['id']}/accept", who)
            assert_problem(r, 404, "proposal_not_found")
        assert api.get("/v1/disputes", who).json()["disputes"] == []


def test_r7_2_counter_proposal_accepted_resolves_with_a_partial_refund(api: Api) -> None:
    case = shipped(api, quantity=2)  # 2 x 10.00 + 2.00 shipping
    d = case.open()
    assert d["wanted_amount"] == 22_00
    d = case.propose(d["id"], case.seller, kind="partial_refund", amount=5_00, note="A discount?")
    assert deadline(d, "seller_answer_by") is None  # the seller answered (R7.3)
    buyer_side = case.dispute(d["id"])
    assert [p["status"] for p in buyer_side["proposals"]] == ["open", "open"]
    counter = case.propose(d["id"], case.buyer, kind="partial_refund", amount=8_00)
    statuses = {p["author_role"] + ":" + str(p["amount"]): p["status"] for p in counter["proposals"]}
    assert statuses == {"buyer:2200": "superseded", "seller:500": "open", "buyer:800": "open"}
    done = case.answer(latest_open(counter, "buyer")["id"], case.seller)
    assert (done["status"], done["outcome"], done["refunded"], done["decided_by"]) == (
        "resolved",
        "partial_refund",
        8_00,
        "agreement",
    )
    assert {p["status"] for p in done["proposals"]} == {"superseded", "accepted", "lapsed"}
    (refund,) = case.refunds()
    assert (refund["amount"], refund["cause"]) == (8_00, {"type": "dispute", "id": d["id"]})
    assert sum(line["amount"] for line in refund["lines"]) == 8_00
    order = case.order_now()
    assert order["status"] == "shipped"  # back where it stood; protection runs again
    assert order["money"]["in_escrow"] == 14_00


def test_r7_2_proposals_above_what_can_be_refunded_are_refused(api: Api) -> None:
    case = shipped(api, quantity=1)
    d = case.open()
    for body, code in (
        ({"kind": "partial_refund", "amount": 12_01}, "amount_exceeds_disputed"),
        ({"kind": "partial_refund"}, "amount_required"),
        ({"kind": "full_refund", "return_shipping_paid_by": "seller"}, "payer_not_allowed"),
    ):
        with writes_nothing(api):
            r = api.post(f"/v1/disputes/{d['id']}/proposals", case.seller, body)
        assert_problem(r, 422, code)
    with writes_nothing(api):
        r = api.post(f"/v1/proposals/{d['proposals'][0]['id']}/accept", case.buyer)
    assert_problem(r, 403, "own_proposal")
    with writes_nothing(api):
        r = api.post(f"/v1/disputes/{d['id']}/proposals", case.admin, {"kind": "full_refund"})
    assert_problem(r, 403, "forbidden_role")


def test_r7_2_evidence_is_typed_by_content_hashed_and_served_to_the_parties_only(api: Api) -> None:
    case = shipped(api)
    d = case.open()
    photo = api.upload(
        f"/v1/disputes/{d['id']}/evidence", case.buyer, PNG, "box.png", "image/png", 201
    ).json()
    video = api.upload(f"/v1/disputes/{d['id']}/evidence", case.seller, MP4, "packing.mp4", None, 201).json()
    assert (photo["media_type"], photo["author_role"], photo["size"]) == ("image/png", "buyer", len(PNG))
    assert video["media_type"] == "video/mp4"
    import hashlib

    assert photo["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert [e["id"] for e in case.dispute(d["id"])["evidence"]] == [photo["id"], video["id"]]
    for who in (case.buyer, case.seller, case.admin):
        r = api.get(photo["href"], who)
        assert r.content == PNG and r.headers["content-type"] == "image/png"
    stranger = shipped(api)
    assert_problem(api.get(photo["href"], stranger.buyer, expect=None), 404, "dispute_not_found")


def test_r7_2_evidence_of_the_wrong_type_empty_renamed_or_truncated_is_refused(api: Api) -> None:
    case = shipped(api)
    d = case.open()
    path = f"/v1/disputes/{d['id']}/evidence"
    for data, name, declared, code in (
        (PDF, "receipt.pdf", "application/pdf", "unsupported_file_type"),  # not a photo or video
        (b"", "empty.jpg", "image/jpeg", "file_empty"),
        (PNG, "photo.jpg", None, "file_type_mismatch"),  # renamed
        (JPEG, "photo.jpg", "image/png", "file_type_mismatch"),
        (PNG[:-12], "cut.png", "image/png", "unsupported_file_type"),  # truncated: no IEND
        (b"hello", "notes.txt", "text/plain", "unsupported_file_type"),
    ):
        with writes_nothing(api):
            r = api.upload(path, case.buyer, data, name, declared)
        assert_problem(r, 422, code)
    big = samples.jpeg_of_size(api.ctx.policies.current.policy.disputes.evidence_max_bytes + 1)
    with writes_nothing(api):
        r = api.upload(path, case.buyer, big, "huge.jpg", "image/jpeg")
    assert r.status_code in (413, 422)
    assert r.json()["code"] in ("file_too_large", "body_too_large")
    assert case.dispute(d["id"])["evidence"] == []


def test_r7_2_messages_in_the_dispute_are_between_the_parties(api: Api) -> None:
    case = shipped(api)
    d = case.open()
    api.post(f"/v1/disputes/{d['id']}/messages", case.buyer, {"body": "The screen is cracked."}, expect=201)
    api.post(f"/v1/disputes/{d['id']}/messages", case.seller, {"body": "Send a photo, please."}, expect=201)
    page = api.get(f"/v1/disputes/{d['id']}/messages", case.admin).json()
    assert [m["author_role"] for m in page["messages"]] == ["buyer", "seller"]
    assert api.get(f"/v1/orders/{case.order['id']}/messages", case.buyer).json()["messages"] == []
    assert any(n["kind"] == "dispute_message" for n in _notes(api, case.seller))
    with writes_nothing(api):
        r = api.post(f"/v1/disputes/{d['id']}/messages", case.admin, {"body": "Admin here"})
    assert_problem(r, 403, "forbidden_role")


def test_r7_3_seller_silent_for_5_days_the_buyers_request_is_carried_out(api: Api) -> None:
    case = shipped(api, quantity=1)
    d = case.open(wanted="partial_refund", amount=6_00)
    api.advance(days=4, hours=23)
    assert case.dispute(d["id"])["status"] == "negotiating"
    api.advance(hours=2)
    done = case.dispute(d["id"])
    assert (done["status"], done["decided_by"], done["refunded"]) == ("resolved", "seller_silence", 6_00)
    assert done["proposals"][0]["status"] == "accepted"
    assert [r["amount"] for r in case.refunds()] == [6_00]
    assert any(n["kind"] == "dispute_lost" for n in _notes(api, case.seller))
    assert case.order_now()["status"] == "shipped"


def test_r7_3_seller_silent_on_a_return_request_starts_the_return(api: Api) -> None:
    case = shipped(api, quantity=1)
    d = case.open(wanted="return_and_refund")
    api.advance(days=5, minutes=1)
    now = case.dispute(d["id"])
    assert (now["status"], now["decided_by"]) == ("awaiting_return", "seller_silence")
    assert now["return_parcel"]["paid_by"] == "buyer"
    assert deadline(now, "return_ship_by") is not None
    assert case.refunds() == []


def test_r7_4_no_agreement_in_7_days_escalates_by_itself(api: Api) -> None:
    case = shipped(api)
    d = case.open()
    case.answer(d["proposals"][0]["id"], case.seller, accept=False)  # answered, not agreed
    api.advance(days=6, hours=23)
    assert case.dispute(d["id"])["status"] == "negotiating"
    api.advance(hours=2)
    now = case.dispute(d["id"])
    assert (now["status"], now["escalated_by"]) == ("escalated", "system")
    assert any(n["kind"] == "dispute_escalated" for n in _notes(api, case.buyer))


def test_r7_4_either_party_may_escalate_after_3_days_and_not_before(api: Api) -> None:
    case = shipped(api)
    d = case.open()
    assert action(d, "escalate")["code"] == "escalation_too_early"
    with writes_nothing(api):
        r = api.post(f"/v1/disputes/{d['id']}/escalate", case.seller)
    assert_problem(r, 409, "escalation_too_early")
    case.propose(d["id"], case.seller, kind="partial_refund", amount=1_00)
    api.advance(days=3)
    now = case.escalate(d["id"], case.seller)
    assert (now["status"], now["escalated_by"]) == ("escalated", "seller")
    with writes_nothing(api):
        r = api.post(f"/v1/disputes/{d['id']}/escalate", case.buyer)
    assert_problem(r, 409, "dispute_not_negotiating")


def test_r7_2_a_proposal_above_what_the_escrow_still_holds_is_refused(api: Api) -> None:
    case = shipped(api, quantity=2)  # 22.00 held
    grant(api.ctx, case.order["id"], 15_00)  # another refund took 15.00 of it
    for body in ({"wanted": "partial_refund", "amount": 8_00},):
        with writes_nothing(api):
            r = api.post(
                f"/v1/orders/{case.order['id']}/disputes",
                case.buyer,
                {"reason": "damaged", "description": "Cracked", **body},
            )
        assert_problem(r, 422, "refund_exceeds_refundable")
    d = case.open()  # a full refund is capped at what is held
    assert d["wanted_amount"] == 7_00
    done = case.answer(d["proposals"][0]["id"], case.seller)
    assert done["refunded"] == 7_00 and case.money()["in_escrow"] == 0


def test_r7_1_two_disputes_on_two_lines_and_the_order_waits_for_both(api: Api) -> None:
    case = shipped_two_lines(api)  # 10.00 + 2.00 and 30.00 + 2.00
    by_price = {line["unit_price"]: line["id"] for line in case.order["lines"]}
    cheap, dear = by_price[10_00], by_price[30_00]
    first = case.open(lines=[{"line_id": cheap, "quantity": 1}])
    second = case.open(lines=[{"line_id": dear, "quantity": 1}], wanted="partial_refund", amount=5_00)
    assert action(case.order_now(), "open_dispute")["code"] == "line_already_disputed"
    case.answer(first["proposals"][0]["id"], case.seller)
    assert case.order_now()["status"] == "disputed"  # the other dispute is open
    assert case.money()["in_escrow"] == 32_00
    case.answer(second["proposals"][0]["id"], case.seller)
    order = case.order_now()
    assert order["status"] == "shipped" and order["money"]["in_escrow"] == 27_00
    assert sorted(r["amount"] for r in case.refunds()) == [5_00, 12_00]
