"""Refunds through the public API (R5.1-R5.3), with the sandbox provider and the virtual clock.

Refunds are granted here as a deciding use case grants them (tests/refund_support.py), until the
cancellation requests that grant them land.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from orderguard.providers.payments import RefundStatus, SandboxPayments
from tests.api.helpers import assert_problem, writes_nothing
from tests.refund_support import grant
from tests.support import Api, Who, deadline


class SlowProvider(SandboxPayments):
    """The sandbox, except that refunds never arrive."""

    def refund_status(self, provider_ref: str, now: datetime) -> RefundStatus:
        return RefundStatus("processing")


def _paid(api: Api, method: str = "card") -> tuple[Who, Who, str]:
    buyer = api.buyer()
    listing = api.listing(price=10_00, handling_days=30)  # 10.00 + 2.00; no ship-by in the test
    order = api.place(buyer, listing, 2)
    if method == "bank_transfer":
        payment = api.pay(buyer, order["id"], method).json()
        api.post(f"/v1/sandbox/payments/{payment['id']}/credit", expect=200)
    else:
        api.pay(buyer, order["id"], method)
    return buyer, listing.seller, str(order["id"])


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _refund(api: Api, refund_id: str, who: Who) -> dict[str, Any]:
    return dict(api.get(f"/v1/refunds/{refund_id}", who).json())


def test_r5_1_a_refund_shows_amount_lines_reason_method_reference_and_expected_arrival(api: Api) -> None:
    buyer, seller, order_id = _paid(api, "ewallet")
    line_id = api.order(order_id, buyer)["lines"][0]["id"]
    from orderguard.domain.refunds import RefundLine

    granted = grant(api.ctx, order_id, 10_00, lines=[RefundLine(line_id, 1, 10_00)], cause_id="cr_1")
    admin = api.account("admin", "Ada")
    body = _refund(api, granted.id, buyer)
    assert body["status"] == "processing" and body["order_id"] == order_id
    assert (body["amount"], body["currency"], body["method"]) == (10_00, "USD", "ewallet")
    assert body["lines"] == [{"line_id": line_id, "quantity": 1, "amount": 10_00}]
    assert body["reason"] == "out_of_stock"
    assert body["cause"] == {"type": "cancellation_request", "id": "cr_1"}
    assert body["provider_ref"].startswith("sbx_rf_") and body["attempts"] == 1
    created = _at(body["created_at"])
    assert 1 <= (_at(body["expected_at"]) - created).days <= 3  # the e-wallet's window
    assert _at(body["settle_by"]) == created + timedelta(days=14)
    assert body["overdue"] is False and body["failure_reason"] is None
    check = deadline(body, "settlement_check")
    assert check is not None and _at(check["due_at"]) == _at(body["expected_at"])
    assert check["must_act"] is None and "asked whether the refund has arrived" in check["on_expiry"]
    for who in (seller, admin):
        assert _refund(api, granted.id, who) == body
    listed = api.get(f"/v1/orders/{order_id}/refunds", buyer).json()
    assert listed == {"order_id": order_id, "refunds": [body]}
    texts = [n["text"] for n in api.get("/v1/notifications", buyer).json()["notifications"]]
    assert any("10.00 USD" in t and "e-wallet" in t and body["provider_ref"] in t for t in texts)
    order = api.order(order_id, buyer)
    assert order["money"]["refundable"] == 2 * 10_00 + 2_00 - 10_00
    assert deadline(order, "settlement_check") is not None


def test_r5_2_a_card_refund_settles_within_its_window_in_virtual_time(api: Api) -> None:
    buyer, _, order_id = _paid(api)
    refund = grant(api.ctx, order_id, 5_00)
    body = _refund(api, refund.id, buyer)
    days = (_at(body["expected_at"]) - _at(body["created_at"])).days
    assert 3 <= days <= 7
    api.advance(days=days - 1, hours=23, minutes=59)
    assert _refund(api, refund.id, buyer)["status"] == "processing"
    api.advance(minutes=1)
    settled = _refund(api, refund.id, buyer)
    assert settled["status"] == "settled" and settled["settled_at"] == body["expected_at"]
    assert settled["deadlines"] == []
    kinds = [n["kind"] for n in api.get("/v1/notifications", buyer).json()["notifications"]]
    assert kinds[:3] == ["refund_settled", "refund_accepted", "refund_granted"]
    events = [e["kind"] for e in api.timeline(order_id, buyer) if e["subject_type"] == "refund"]
    assert events == ["granted", "accepted", "settlement_checked", "settled"]
    api.assert_ledger_balanced()


def test_r5_2_a_cancellation_refund_unsettled_after_14_days_is_flagged_to_administrators(api: Api) -> None:
    api.ctx.payments = SlowProvider()
    _, _, order_id = _paid(api, "bank_transfer")
    admin = api.account("admin", "Ada")
    late = grant(api.ctx, order_id, 3_00)
    grant(api.ctx, order_id, 2_00, cause_type="dispute", reason="not_as_described")  # no settle-by
    api.advance(days=13, hours=23, minutes=59)
    assert api.get("/v1/admin/refunds", admin, overdue="true").json()["refunds"] == []
    api.advance(minutes=1)
    (overdue,) = api.get("/v1/admin/refunds", admin, overdue="true").json()["refunds"]
    assert overdue["id"] == late.id and overdue["overdue"] is True and overdue["status"] == "processing"
    everything = api.get("/v1/admin/refunds", admin).json()
    assert len(everything["refunds"]) == 2 and everything["next_cursor"] is None
    first = api.get("/v1/admin/refunds", admin, limit=1).json()
    rest = api.get("/v1/admin/refunds", admin, limit=1, cursor=first["next_cursor"]).json()
    assert [r["id"] for r in first["refunds"] + rest["refunds"]] == [r["id"] for r in everything["refunds"]]


def test_r5_1_a_failed_refund_is_seen_by_administrators_and_sent_again(api: Api) -> None:
    buyer, _, order_id = _paid(api)
    admin = api.account("admin", "Ada")
    refund = grant(api.ctx, order_id, 4_00)
    r = api.post(f"/v1/sandbox/refunds/{refund.id}/fail", json={"reason": "card expired"}, expect=200)
    assert r.json() == {"id": refund.id, "order_id": order_id, "status": "failed"}
    (failed,) = api.get("/v1/admin/refunds", admin, status="failed").json()["refunds"]
    assert failed["id"] == refund.id and failed["failure_reason"] == "card expired"
    retry = deadline(failed, "failure_retry")
    assert retry is not None and "sent to the original payment method again" in retry["on_expiry"]
    assert "card expired" in api.get("/v1/notifications", buyer).json()["notifications"][0]["text"]
    with writes_nothing(api):
        again = api.post(f"/v1/sandbox/refunds/{refund.id}/fail")
    assert_problem(again, 409, "refund_not_in_flight")

    api.advance(minutes=1)  # the backoff: 60 seconds after the first attempt
    body = _refund(api, refund.id, buyer)
    assert body["status"] == "processing" and body["attempts"] == 2 and body["failure_reason"] is None
    assert body["provider_ref"] != failed["provider_ref"]  # sent again: a new refund at the provider
    assert api.get("/v1/admin/refunds", admin, status="failed").json()["refunds"] == []
    api.advance(days=8)
    assert _refund(api, refund.id, buyer)["status"] == "settled"
    api.assert_ledger_balanced()


def test_r5_3_partial_refunds_add_up_and_never_pass_what_was_captured(api: Api) -> None:
    from orderguard.domain.machine import Refused

    buyer, _, order_id = _paid(api)
    grant(api.ctx, order_id, 7_00)
    grant(api.ctx, order_id, 10_00)
    with pytest.raises(Refused) as e:
        grant(api.ctx, order_id, 5_01)
    assert e.value.refusal.code == "refund_exceeds_refundable"
    grant(api.ctx, order_id, 5_00)
    refunds = api.get(f"/v1/orders/{order_id}/refunds", buyer).json()["refunds"]
    assert sum(r["amount"] for r in refunds) == api.order(order_id, buyer)["money"]["paid"] == 22_00
    assert api.order(order_id, buyer)["money"]["refundable"] == 0
    api.advance(days=7)
    assert {r["status"] for r in api.get(f"/v1/orders/{order_id}/refunds", buyer).json()["refunds"]} == {
        "settled"
    }
    api.assert_ledger_balanced()


@pytest.mark.parametrize(
    ("params", "code"),
    [({"status": "lost"}, "unknown_status"), ({"cursor": "not-a-cursor"}, "invalid_cursor")],
)
def test_bad_admin_list_filters_are_refused(api: Api, params: dict[str, str], code: str) -> None:
    admin = api.account("admin", "Ada")
    assert_problem(api.get("/v1/admin/refunds", admin, expect=None, **params), 422, code)


def test_failing_an_unknown_refund_is_404_and_writes_nothing(api: Api) -> None:
    with writes_nothing(api):
        r = api.post("/v1/sandbox/refunds/rfd_nope/fail")
    assert_problem(r, 404, "refund_not_found")
