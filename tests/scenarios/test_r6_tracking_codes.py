"""R6.1: a carrier's tracking code belongs to one parcel (issue #7 item 6).

The store that first ships with a code owns it, for that order's buyer: it may put more orders of
the same buyer in the parcel; anyone else is refused (409 `tracking_code_in_use`, nothing
written); a scan moves only the shipments that hold the code legitimately.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from orderguard.store import tables as t
from orderguard.store.db import reading, unit_of_work
from tests.api.helpers import assert_problem, writes_nothing
from tests.scenarios.test_r6_fulfilment import paid_order, post_scans, scan
from tests.support import Api, Listing, Who, s10

CODE = s10("70707070")


def _ship(
    api: Api,
    seller: Who,
    order_id: str,
    code: str = CODE,
    carrier: str = "postal",
    lines: list[dict[str, Any]] | None = None,
) -> Any:
    body: dict[str, Any] = {"carrier": carrier, "tracking_code": code}
    if lines is not None:
        body["lines"] = lines
    return api.post(f"/v1/orders/{order_id}/shipments", seller, body)


def _now(api: Api) -> datetime:
    return datetime.fromisoformat(api.get("/v1/sandbox/clock").json()["now"])


def _delivered(api: Api, code: str = CODE) -> dict[str, Any]:
    api.advance(days=2)
    return post_scans(api, "postal", {"scans": [scan(code, "delivered", _now(api))]}, 200)


def _owners(api: Api) -> list[tuple[str, str, str, str]]:
    tc = t.tracking_codes.c
    with reading(api.ctx.engine) as conn:
        rows = conn.execute(select(tc.carrier, tc.tracking_code, tc.store_id, tc.buyer_id)).all()
    return sorted(tuple(r) for r in rows)  # type: ignore[misc]


def _two_carrier_order(api: Api) -> tuple[Who, Listing, dict[str, Any]]:
    """A paid order of two lines from one store: one chosen with postal shipping, one with sandbox."""
    buyer = api.buyer()
    postal = api.listing()
    by_sandbox = api.listing(
        seller=postal.seller, options=[{"carrier": "sandbox", "price": 1_00, "promised_days": 9}]
    )
    # the second listing opened a store of its own: offer its product from the first store too
    offer = api.post(
        "/v1/offers",
        postal.seller,
        {
            **{k: by_sandbox.offer[k] for k in ("price", "currency", "stock", "handling_days")},
            "store_id": postal.store_id,
            "product_id": by_sandbox.product_id,
            "shipping_options": [{"carrier": "sandbox", "price": 1_00, "promised_days": 9}],
        },
        expect=201,
    ).json()
    api.add(buyer, postal)
    api.post("/v1/cart/items", buyer, {"offer_id": offer["id"]}, expect=201)
    (order,) = api.checkout(buyer)
    api.pay(buyer, order["id"])
    return buyer, postal, api.order(order["id"], buyer)


def test_r6_1_another_store_cannot_ship_with_a_code_in_use(api: Api) -> None:
    x_buyer, x, x_order = paid_order(api)
    y_buyer, y, y_order = _two_carrier_order(api)
    by_carrier = {ln["carrier"]: {"line_id": ln["id"], "quantity": 1} for ln in y_order["lines"]}
    postal_line, sandbox_line = by_carrier["postal"], by_carrier["sandbox"]
    assert _ship(api, x.seller, x_order["id"]).status_code == 201
    with writes_nothing(api):
        r = _ship(api, y.seller, y_order["id"], lines=[postal_line])
    body = assert_problem(r, 409, "tracking_code_in_use")
    assert x.store_id not in body["detail"] and x_buyer.id not in body["detail"]
    assert api.order(y_order["id"], y_buyer)["status"] == "awaiting_shipment"
    # the same characters under another carrier are another code
    assert _ship(api, y.seller, y_order["id"], carrier="sandbox", lines=[sandbox_line]).status_code == 201

    assert _delivered(api) == {"accepted": 1, "duplicates": 0}
    assert api.status(x_order["id"], x_buyer) == "delivered"
    y_detail = api.order(y_order["id"], y_buyer)
    assert y_detail["status"] == "partly_shipped" and y_detail["shipments"][0]["scans"] == []
    assert _owners(api) == sorted(
        [("postal", CODE, x.store_id, x_buyer.id), ("sandbox", CODE, y.store_id, y_buyer.id)]
    )


def test_r6_1_the_same_store_may_not_reuse_its_code_for_another_buyer(api: Api) -> None:
    seller = api.account("seller", "Sam")
    listing = api.listing(seller=seller)
    ann, bob = api.buyer("Ann"), api.buyer("Bob")
    ann_order, bob_order = api.place(ann, listing), api.place(bob, listing)
    api.pay(ann, ann_order["id"])
    api.pay(bob, bob_order["id"])
    assert _ship(api, seller, ann_order["id"]).status_code == 201
    with writes_nothing(api):
        r = _ship(api, seller, bob_order["id"])
    assert_problem(r, 409, "tracking_code_in_use")


def test_r6_1_one_parcel_may_carry_several_orders_of_one_buyer_from_one_store(api: Api) -> None:
    buyer = api.buyer()
    seller = api.account("seller", "Sam")
    first, second = api.listing(seller=seller), api.listing(seller=seller)  # two stores of one seller
    orders = [api.place(buyer, first), api.place(buyer, first), api.place(buyer, second)]
    for order in orders:
        api.pay(buyer, order["id"])
    assert _ship(api, seller, orders[0]["id"]).status_code == 201
    assert _ship(api, seller, orders[1]["id"]).status_code == 201  # same store, same buyer
    # the seller's other store is another store: it cannot use the first store's parcel
    assert_problem(_ship(api, seller, orders[2]["id"]), 409, "tracking_code_in_use")

    assert _delivered(api) == {"accepted": 2, "duplicates": 0}
    assert [api.status(o["id"], buyer) for o in orders] == ["delivered", "delivered", "awaiting_shipment"]


def _forge_shipment_code(api: Api, shipment_id: str, code: str) -> None:
    """A shipment row that bypassed the rule (written before codes were owned, or by hand)."""
    with unit_of_work(api.ctx.engine) as conn:
        conn.execute(update(t.shipments).where(t.shipments.c.id == shipment_id).values(tracking_code=code))


def test_r6_1_a_scan_moves_only_the_legitimate_holders_even_past_a_bad_row(api: Api) -> None:
    x_buyer, x, x_order = paid_order(api)
    y_buyer, y, y_order = paid_order(api)
    _ship(api, x.seller, x_order["id"])
    y_shipment = _ship(api, y.seller, y_order["id"], s10("71717171")).json()
    _forge_shipment_code(api, y_shipment["id"], CODE)
    y_deadlines = api.order(y_order["id"], y_buyer)["deadlines"]

    assert _delivered(api) == {"accepted": 1, "duplicates": 0}
    assert api.status(x_order["id"], x_buyer) == "delivered"
    y_detail = api.order(y_order["id"], y_buyer)
    assert y_detail["status"] == "shipped"
    assert y_detail["shipments"][0]["status"] == "label_created"
    assert y_detail["deadlines"] == y_deadlines  # its protection clock did not start early
    # the sandbox carrier, asked for the bad row's parcel, moves the code's owner and not that row
    api.post(f"/v1/sandbox/shipments/{y_shipment['id']}/scans", json={"kind": "in_transit"}, expect=200)
    assert api.order(y_order["id"], y_buyer)["shipments"][0]["scans"] == []


def test_r6_1_refusals_of_other_kinds_come_before_the_code_is_claimed(api: Api) -> None:
    buyer = api.buyer()
    listing: Listing = api.listing()
    unpaid = api.place(buyer, listing)
    with writes_nothing(api):
        r = _ship(api, listing.seller, unpaid["id"])
    assert_problem(r, 409, "order_not_paid")
    assert _owners(api) == []
