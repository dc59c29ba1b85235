"""Issue #3's bad input: each is a 4xx problem+json with a stable code and writes nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from httpx import Response

from tests.api.helpers import assert_problem, writes_nothing
from tests.support import Api, Listing, Who, s10


class Shipped:
    """A paid order of 2 units, one already shipped with a known code."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.buyer = api.buyer()
        self.listing: Listing = api.listing()
        order = api.place(self.buyer, self.listing, 2)
        api.pay(self.buyer, order["id"])
        self.order_id = order["id"]
        self.line_id = api.order(self.order_id, self.buyer)["lines"][0]["id"]
        self.code = s10("41414141")
        self.ship(
            {
                "carrier": "postal",
                "tracking_code": self.code,
                "lines": [{"line_id": self.line_id, "quantity": 1}],
            },
            expect=201,
        )

    def ship(self, body: dict[str, Any], expect: int | None = None) -> Response:
        return self.api.post(
            f"/v1/orders/{self.order_id}/shipments", self.listing.seller, body, expect=expect
        )

    def scans(
        self, payload: dict[str, Any], secret: str | None = None, skew: timedelta = timedelta(0)
    ) -> Response:
        raw = json.dumps(payload).encode()
        now = datetime.fromisoformat(self.api.get("/v1/sandbox/clock").json()["now"]) + skew
        ts = str(int(now.timestamp()))
        key = (secret or self.api.ctx.carrier_secrets["postal"]).encode()
        sig = "v1=" + hmac.new(key, ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
        return self.api.client.post(
            "/v1/carriers/postal/scans",
            content=raw,
            headers={"webhook-timestamp": ts, "webhook-signature": sig, "content-type": "application/json"},
        )

    def scan(self, code: str, kind: str = "accepted", at: str | None = None) -> dict[str, Any]:
        when = at or self.api.get("/v1/sandbox/clock").json()["now"]
        return {
            "scans": [
                {
                    "tracking_code": code,
                    "kind": kind,
                    "occurred_at": when,
                    "place": {"country": "CN", "city": "Shenzhen"},
                }
            ]
        }


def _bad_digit(code: str) -> str:
    return code[:10] + str((int(code[10]) + 1) % 10) + code[11:]


CASES: dict[str, tuple[Callable[[Shipped], Response], int, str]] = {
    "bad check digit": (
        lambda s: s.ship({"carrier": "postal", "tracking_code": _bad_digit(s10("42424242"))}),
        422,
        "invalid_check_digit",
    ),
    "code in no carrier format": (
        lambda s: s.ship({"carrier": "dhl", "tracking_code": "ABC"}),
        422,
        "invalid_tracking_code",
    ),
    "unknown carrier": (
        lambda s: s.ship({"carrier": "pigeon", "tracking_code": s10("42424242")}),
        422,
        "unknown_carrier",
    ),
    "line not in the order": (
        lambda s: s.ship(
            {
                "carrier": "postal",
                "tracking_code": s10("42424242"),
                "lines": [{"line_id": "lin_other", "quantity": 1}],
            }
        ),
        422,
        "unknown_line",
    ),
    "more than remains": (
        lambda s: s.ship(
            {
                "carrier": "postal",
                "tracking_code": s10("42424242"),
                "lines": [{"line_id": s.line_id, "quantity": 2}],
            }
        ),
        422,
        "quantity_exceeds_remaining",
    ),
    "zero quantity": (
        lambda s: s.ship(
            {
                "carrier": "postal",
                "tracking_code": s10("42424242"),
                "lines": [{"line_id": s.line_id, "quantity": 0}],
            }
        ),
        422,
        "invalid_quantity",
    ),
    "scan for an unknown code": (lambda s: s.scans(s.scan(s10("43434343"))), 422, "unknown_tracking_code"),
    "scan of an unknown kind": (lambda s: s.scans(s.scan(s.code, "teleported")), 422, "unknown_scan_kind"),
    "forged signature": (lambda s: s.scans(s.scan(s.code), secret="guess"), 401, "bad_signature"),
    "stale signature": (
        lambda s: s.scans(s.scan(s.code), skew=-timedelta(minutes=6)),
        401,
        "stale_signature",
    ),
    "confirm receipt of a partly shipped order": (
        lambda s: s.api.post(f"/v1/orders/{s.order_id}/confirm-receipt", s.buyer),
        409,
        "order_not_shipped",
    ),
    "confirm receipt by the seller": (
        lambda s: s.api.post(f"/v1/orders/{s.order_id}/confirm-receipt", s.listing.seller),
        403,
        "forbidden_role",
    ),
    "refuse a parcel by the seller": (
        lambda s: s.api.post(f"/v1/orders/{s.order_id}/refuse-parcel", s.listing.seller),
        403,
        "forbidden_role",
    ),
    "refuse a parcel that is not the order's": (
        lambda s: s.api.post(
            f"/v1/orders/{s.order_id}/refuse-parcel", s.buyer, {"shipment_id": "shp_of_another_order"}
        ),
        404,
        "shipment_not_found",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_fulfilment_input_is_refused_and_writes_nothing(api: Api, case: str) -> None:
    shipped = Shipped(api)
    call, status, code = CASES[case]
    with writes_nothing(api):
        assert_problem(call(shipped), status, code)


def test_a_replayed_delivery_is_refused_and_writes_nothing(api: Api) -> None:
    shipped = Shipped(api)
    payload = shipped.scan(shipped.code)
    first = shipped.scans(payload)
    assert first.status_code == 200
    with writes_nothing(api):
        assert_problem(shipped.scans(payload), 409, "replayed_webhook")


def test_confirm_receipt_by_another_buyer_is_not_found(api: Api) -> None:
    shipped = Shipped(api)
    other: Who = api.buyer("Eve")
    with writes_nothing(api):
        assert_problem(
            api.post(f"/v1/orders/{shipped.order_id}/confirm-receipt", other), 404, "order_not_found"
        )


def test_refusing_a_parcel_of_another_buyer_is_not_found(api: Api) -> None:
    shipped = Shipped(api)
    other: Who = api.buyer("Eve")
    with writes_nothing(api):
        r = api.post(f"/v1/orders/{shipped.order_id}/refuse-parcel", other)
        assert_problem(r, 404, "order_not_found")
