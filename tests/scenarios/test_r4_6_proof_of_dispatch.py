"""R4.6, second half: proof of dispatch within 48 hours, and the complaint when it does not come."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from tests import samples
from tests.api.helpers import assert_problem, writes_nothing
from tests.scenarios.test_r6_fulfilment import paid_order
from tests.support import Api, Listing, Who, action, deadline, s10

MiB = 1024 * 1024


def _rejected_as_shipped(
    api: Api, serial: str = "31313131"
) -> tuple[Who, Listing, dict[str, Any], dict[str, Any]]:
    """A paid order whose cancellation request the seller rejected as already on its way."""
    buyer, listing, order = paid_order(api, quantity=2, handling_days=10)
    request = api.post(
        f"/v1/orders/{order['id']}/cancellation-requests", buyer, {"reason": "no_longer_needed"}, expect=201
    ).json()
    api.advance(hours=5)
    rejected = api.post(
        f"/v1/cancellation-requests/{request['id']}/reject",
        listing.seller,
        {"answer": "It left yesterday.", "carrier": "postal", "tracking_code": s10(serial)},
        expect=200,
    ).json()
    return buyer, listing, order, rejected


def _ask(api: Api, buyer: Who, order_id: str, expect: int = 201, **body: Any) -> dict[str, Any]:
    return dict(api.post(f"/v1/orders/{order_id}/proof-requests", buyer, body or None, expect=expect).json())


def _proof_path(proof: dict[str, Any]) -> str:
    return f"/v1/proof-requests/{proof['id']}/proof"


def _notes(api: Api, who: Who, kind: str) -> list[str]:
    return [n["text"] for n in api.get("/v1/notifications", who).json()["notifications"] if n["kind"] == kind]


def _kept_files(api: Api) -> list[Path]:
    root: Path = api.ctx.files.root  # type: ignore[attr-defined]
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_r4_6_the_buyer_asks_for_proof_and_the_seller_uploads_it_in_time(api: Api) -> None:
    buyer, listing, order, rejected = _rejected_as_shipped(api)
    seller = listing.seller
    proof = _ask(api, buyer, order["id"])
    assert proof["status"] == "requested"
    assert proof["cancellation_request_id"] == rejected["id"]
    assert (proof["shipment_id"], proof["tracking_code"]) == (
        rejected["rejection"]["shipment_id"],
        rejected["rejection"]["tracking_code"],
    )
    [due] = proof["deadlines"]
    assert (due["kind"], due["must_act"], due["rule"]) == ("proof_due", "seller", "R4.6")
    assert due["on_expiry"] == "the buyer may complain to the administration"
    assert due["due_at"] == proof["due_at"]
    assert deadline(api.order(order["id"], buyer), "proof_due")["due_at"] == proof["due_at"]  # type: ignore[index]
    [asked] = _notes(api, seller, "proof_requested")
    assert proof["id"] in asked and "Upload" in asked
    assert action(api.get(f"/v1/proof-requests/{proof['id']}", seller).json(), "upload_proof")["available"]

    api.advance(hours=47)
    receipt = samples.png(seed=7)
    provided = api.upload(_proof_path(proof), seller, receipt, "receipt.png", "image/png", expect=200).json()
    assert provided["status"] == "provided" and provided["deadlines"] == []
    sha = hashlib.sha256(receipt).hexdigest()
    assert provided["proof"] == {
        "sha256": sha,
        "media_type": "image/png",
        "size": len(receipt),
        "uploaded_at": provided["proof"]["uploaded_at"],
        "href": _proof_path(proof),
    }
    assert [p.name for p in _kept_files(api)] == [sha]  # content-addressed
    assert _notes(api, buyer, "proof_provided")

    admin = api.account("admin", "Ada")
    for reader in (buyer, seller, admin):
        r = api.get(_proof_path(proof), reader)
        assert r.content == receipt
        assert r.headers["content-type"] == "image/png" and r.headers["etag"] == f'"{sha}"'
        assert r.headers["content-disposition"].startswith("attachment;")
    stranger = api.buyer("Eve")
    assert_problem(api.get(_proof_path(proof), stranger, expect=None), 404, "proof_request_not_found")
    assert_problem(
        api.get(f"/v1/proof-requests/{proof['id']}", stranger, expect=None), 404, "proof_request_not_found"
    )

    complain = {"proof_request_id": proof["id"], "message": "Where is it?"}
    assert_problem(api.post("/v1/complaints", buyer, complain), 409, "proof_provided")
    assert_problem(api.upload(_proof_path(proof), seller, samples.pdf()), 409, "proof_already_provided")
    assert api.advance(hours=2)["deadlines_fired"] == 0  # the deadline went with the proof
    listed = api.get(f"/v1/orders/{order['id']}/proof-requests", buyer).json()["proof_requests"]
    assert [p["status"] for p in listed] == ["provided"]


def test_r4_6_a_missed_proof_lets_the_buyer_complain_and_the_administration_sees_the_sellers_record(
    api: Api,
) -> None:
    buyer, listing, order, _ = _rejected_as_shipped(api)
    seller = listing.seller
    proof = _ask(api, buyer, order["id"])
    complaint_body = {"proof_request_id": proof["id"], "order_id": order["id"], "message": "No proof came."}
    with writes_nothing(api):
        assert_problem(api.post("/v1/complaints", buyer, complaint_body), 409, "proof_not_missed")
    api.advance(hours=47, minutes=59)
    assert api.get(f"/v1/proof-requests/{proof['id']}", buyer).json()["status"] == "requested"
    api.advance(minutes=1)

    missed = api.get(f"/v1/proof-requests/{proof['id']}", buyer).json()
    assert missed["status"] == "missed" and missed["missed_at"] == proof["due_at"]
    assert action(missed, "complain") == {
        "action": "complain",
        "available": True,
        "code": None,
        "reason": None,
        "until": None,
    }
    assert any("complain" in text for text in _notes(api, buyer, "proof_missed"))
    assert _notes(api, seller, "proof_missed")
    with writes_nothing(api):
        late = api.upload(_proof_path(proof), seller, samples.jpeg(), "late.jpg", "image/jpeg")
    assert_problem(late, 409, "proof_deadline_passed")

    complaint = api.post("/v1/complaints", buyer, complaint_body, expect=201).json()
    assert (complaint["kind"], complaint["status"], complaint["message"]) == (
        "no_proof_of_dispatch",
        "open",
        "No proof came.",
    )
    assert complaint["proof_request"]["status"] == "complained"
    assert _notes(api, seller, "complaint_filed") and _notes(api, buyer, "complaint_filed")
    with writes_nothing(api):
        assert_problem(api.post("/v1/complaints", buyer, complaint_body), 409, "complaint_exists")

    admin = api.account("admin", "Ada")
    page = api.get("/v1/admin/complaints", admin).json()
    [listed] = page["complaints"]
    assert listed["id"] == complaint["id"] and page["next_cursor"] is None
    assert (listed["order"]["id"], listed["store"]["id"], listed["store"]["seller_id"]) == (
        order["id"],
        listing.store_id,
        seller.id,
    )
    record = listed["seller_record"]
    # the seller answered the cancellation request in 5 hours (rejecting it), and missed the proof
    assert record["cancellation_requests"] == {
        "count": 1,
        "answered": 1,
        "missed": 0,
        "waiting": 0,
        "median_hours": 5.0,
        "slowest_hours": 5.0,
    }
    assert record["proof_requests"] == {
        "count": 1,
        "answered": 0,
        "missed": 1,
        "waiting": 0,
        "median_hours": None,
        "slowest_hours": None,
    }
    for who in (buyer, seller):
        assert_problem(api.get("/v1/admin/complaints", who, expect=None), 403, "forbidden_role")
    kinds = [e["kind"] for e in api.timeline(order["id"], admin) if e["subject_type"] == "proof_request"]
    assert kinds == ["proof_requested", "proof_missed", "complained"]


def test_r4_6_complaints_are_listed_newest_first_a_page_at_a_time(api: Api) -> None:
    admin = api.account("admin", "Ada")
    filed = []
    for serial in ("41414141", "42424242"):
        buyer, _, order, _ = _rejected_as_shipped(api, serial)
        proof = _ask(api, buyer, order["id"])
        api.advance(hours=49)
        filed.append(
            api.post(
                "/v1/complaints", buyer, {"proof_request_id": proof["id"], "message": "x"}, expect=201
            ).json()
        )
    first = api.get("/v1/admin/complaints", admin, limit=1).json()
    second = api.get("/v1/admin/complaints", admin, limit=1, cursor=first["next_cursor"]).json()
    assert [c["id"] for c in first["complaints"] + second["complaints"]] == [filed[1]["id"], filed[0]["id"]]
    assert second["next_cursor"] is None


def test_r4_6_proof_can_be_asked_only_after_a_rejection_as_shipped_and_once(api: Api) -> None:
    buyer, listing, order = paid_order(api, quantity=2, handling_days=10)
    with writes_nothing(api):
        assert_problem(
            api.post(f"/v1/orders/{order['id']}/proof-requests", buyer), 409, "not_rejected_as_shipped"
        )
    request = api.post(
        f"/v1/orders/{order['id']}/cancellation-requests", buyer, {"reason": "no_longer_needed"}, expect=201
    ).json()
    api.post(
        f"/v1/cancellation-requests/{request['id']}/reject", listing.seller, {"answer": "No."}, expect=200
    )
    with writes_nothing(api):
        r = api.post(
            f"/v1/orders/{order['id']}/proof-requests", buyer, {"cancellation_request_id": request["id"]}
        )
        assert_problem(r, 409, "not_rejected_as_shipped")
        assert_problem(
            api.post(f"/v1/orders/{order['id']}/proof-requests", buyer), 409, "not_rejected_as_shipped"
        )

    _, other_listing, other_order, other_rejected = _rejected_as_shipped(api, "51515151")
    with writes_nothing(api):  # another order's rejection, named on this order
        r = api.post(
            f"/v1/orders/{order['id']}/proof-requests",
            buyer,
            {"cancellation_request_id": other_rejected["id"]},
        )
        assert_problem(r, 404, "cancellation_request_not_found")
        assert_problem(
            api.post(f"/v1/orders/{other_order['id']}/proof-requests", buyer), 404, "order_not_found"
        )
        seller = other_listing.seller
        r = api.post(f"/v1/orders/{other_order['id']}/proof-requests", seller)
        assert_problem(r, 403, "forbidden_role")


def test_r4_6_one_proof_request_per_rejection(api: Api) -> None:
    buyer, _, order, rejected = _rejected_as_shipped(api)
    _ask(api, buyer, order["id"], cancellation_request_id=rejected["id"])
    with writes_nothing(api):
        assert_problem(
            api.post(f"/v1/orders/{order['id']}/proof-requests", buyer), 409, "proof_already_requested"
        )
        r = api.post(
            f"/v1/orders/{order['id']}/proof-requests", buyer, {"cancellation_request_id": rejected["id"]}
        )
        assert_problem(r, 409, "proof_already_requested")


def test_r4_6_a_proof_file_that_is_not_what_it_claims_is_empty_or_too_large_is_refused(api: Api) -> None:
    buyer, listing, order, _ = _rejected_as_shipped(api)
    seller = listing.seller
    proof = _ask(api, buyer, order["id"])
    path = _proof_path(proof)
    limit = 10 * MiB  # the default policy's cancellation.proof_max_bytes
    attempts: list[tuple[str, bytes, str, str | None, int, str]] = [
        ("a PDF named as a photo", samples.pdf(), "receipt.jpg", None, 422, "file_type_mismatch"),
        ("a JPEG labelled PNG", samples.jpeg(), "receipt", "image/png", 422, "file_type_mismatch"),
        ("a PNG labelled text", samples.png(), "receipt.png", "text/plain", 422, "file_type_mismatch"),
        ("an empty file", b"", "receipt.png", "image/png", 422, "file_empty"),
        ("text", b"I promise I sent it", "receipt.txt", "text/plain", 422, "unsupported_file_type"),
        ("a video", samples.mp4(), "unboxing.mp4", "video/mp4", 422, "unsupported_file_type"),
        ("a byte too many", samples.jpeg_of_size(limit + 1), "big.jpg", "image/jpeg", 422, "file_too_large"),
        ("far over the limit", samples.jpeg_of_size(limit + 100 * 1024), "huge.jpg", "image/jpeg", 413,
         "payload_too_large"),
    ]  # fmt: skip
    for label, data, name, content_type, status, code in attempts:
        with writes_nothing(api):
            r = api.upload(path, seller, data, name, content_type)
        assert r.status_code == status, label
        assert_problem(r, status, code)
    intruder = api.account("seller", "Mallory")
    with writes_nothing(api):
        r = api.post(path, seller, {"file": "aGVsbG8="})  # not multipart
        assert_problem(r, 415, "unsupported_media_type")
        assert_problem(api.upload(path, buyer, samples.png()), 403, "forbidden_role")
        assert_problem(api.upload(path, intruder, samples.png()), 404, "proof_request_not_found")
    assert _kept_files(api) == []  # nothing refused was kept

    exactly = samples.jpeg_of_size(limit)  # the limit itself is taken
    provided = api.upload(path, seller, exactly, "receipt.jpeg", "image/jpg", expect=200).json()
    assert provided["proof"]["media_type"] == "image/jpeg" and provided["proof"]["size"] == len(exactly)
