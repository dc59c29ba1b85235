"""R6.1: the carrier the buyer chose matters (issue #11 item 7).

At checkout the buyer chooses one of the offer's shipping options (a carrier, a price, a promised
delivery time) and pays for it. The seller ships each line with that carrier or not at all: another
carrier is refused with 422 `carrier_not_chosen`, writing nothing, whether the seller ships or
rejects a cancellation request as already on its way (R4.6). An offer may only name carriers that a
parcel can be shipped with.
"""

from __future__ import annotations

from typing import Any

from tests.api.helpers import assert_problem, writes_nothing
from tests.support import Api, Listing, Who, s10

CAINIAO = "LP00123456789012"
OPTIONS = [
    {"carrier": "postal", "price": 1_00, "promised_days": 25},
    {"carrier": "cainiao", "price": 3_00, "promised_days": 10},
]


def _option(listing: Listing, carrier: str) -> str:
    return str(next(o["id"] for o in listing.offer["shipping_options"] if o["carrier"] == carrier))


def _paid(api: Api, listings: list[tuple[Listing, str]]) -> tuple[Who, dict[str, Any]]:
    """A buyer's paid order of one line per (listing, chosen carrier); the listings share a store."""
    buyer = api.buyer()
    for listing, carrier in listings:
        body = {"offer_id": listing.offer_id, "shipping_option_id": _option(listing, carrier)}
        api.post("/v1/cart/items", buyer, body, expect=201)
    (order,) = api.checkout(buyer)
    api.pay(buyer, order["id"])
    return buyer, api.order(order["id"], buyer)


def _ship(api: Api, seller: Who, order_id: str, carrier: str, code: str, lines: Any = None) -> Any:
    body: dict[str, Any] = {"carrier": carrier, "tracking_code": code}
    if lines is not None:
        body["lines"] = lines
    return api.post(f"/v1/orders/{order_id}/shipments", seller, body)


def test_r6_1_the_seller_ships_with_the_carrier_the_buyer_chose(api: Api) -> None:
    listing = api.listing(options=OPTIONS)
    buyer, order = _paid(api, [(listing, "cainiao")])
    [line] = order["lines"]
    assert (line["carrier"], line["shipping_price"], line["promised_days"]) == ("cainiao", 3_00, 10)

    with writes_nothing(api):
        r = _ship(api, listing.seller, order["id"], "postal", s10("61616161"))
    body = assert_problem(r, 422, "carrier_not_chosen")
    assert "cainiao" in body["detail"] and line["id"] in body["detail"]
    assert api.status(order["id"], buyer) == "awaiting_shipment"

    shipment = _ship(api, listing.seller, order["id"], "cainiao", CAINIAO)
    assert shipment.status_code == 201, shipment.text
    detail = api.order(order["id"], buyer)
    assert detail["status"] == "shipped"
    assert [(s["carrier"], s["tracking_code"]) for s in detail["shipments"]] == [("cainiao", CAINIAO)]


def test_r6_1_lines_bought_with_different_carriers_ship_in_parcels_of_their_own(api: Api) -> None:
    case = api.listing(options=OPTIONS)
    cable = api.listing(seller=case.seller, options=OPTIONS)
    # one store offers both products, so that they land in one order
    second = api.post(
        "/v1/offers",
        case.seller,
        {
            "store_id": case.store_id,
            "product_id": cable.product_id,
            "price": 4_00,
            "currency": "USD",
            "stock": 10,
            "handling_days": 3,
            "shipping_options": OPTIONS,
        },
        expect=201,
    ).json()
    cable = Listing(case.seller, case.store_id, cable.product_id, second)
    buyer, order = _paid(api, [(case, "postal"), (cable, "cainiao")])
    lines = {ln["carrier"]: ln["id"] for ln in order["lines"]}
    assert set(lines) == {"postal", "cainiao"}

    with writes_nothing(api):
        everything = _ship(api, case.seller, order["id"], "postal", s10("62626262"))
    body = assert_problem(everything, 422, "carrier_not_chosen")
    assert "parcel of their own" in body["detail"]

    postal = [{"line_id": lines["postal"], "quantity": 1}]
    cainiao = [{"line_id": lines["cainiao"], "quantity": 1}]
    assert _ship(api, case.seller, order["id"], "postal", s10("62626262"), postal).status_code == 201
    assert api.status(order["id"], buyer) == "partly_shipped"
    with writes_nothing(api):
        wrong = _ship(api, case.seller, order["id"], "postal", s10("63636363"), cainiao)
    assert_problem(wrong, 422, "carrier_not_chosen")
    assert _ship(api, case.seller, order["id"], "cainiao", CAINIAO, cainiao).status_code == 201
    detail = api.order(order["id"], buyer)
    assert detail["status"] == "shipped"
    assert sorted(s["carrier"] for s in detail["shipments"]) == ["cainiao", "postal"]


def test_r6_1_a_rejection_as_already_shipped_must_name_the_chosen_carrier(api: Api) -> None:
    listing = api.listing(options=OPTIONS)
    buyer, order = _paid(api, [(listing, "cainiao")])
    request = api.post(
        f"/v1/orders/{order['id']}/cancellation-requests", buyer, {"reason": "no_longer_needed"}, expect=201
    ).json()
    path = f"/v1/cancellation-requests/{request['id']}/reject"
    with writes_nothing(api):
        r = api.post(path, listing.seller, {"carrier": "postal", "tracking_code": s10("64646464")})
    assert_problem(r, 422, "carrier_not_chosen")
    assert api.get(f"/v1/cancellation-requests/{request['id']}", buyer).json()["status"] == "open"
    rejected = api.post(path, listing.seller, {"carrier": "cainiao", "tracking_code": CAINIAO}, expect=200)
    assert rejected.json()["rejection"]["carrier"] == "cainiao"
    assert api.status(order["id"], buyer) == "shipped"


def test_r6_1_an_offer_names_only_carriers_a_parcel_can_be_shipped_with(api: Api) -> None:
    seller = api.account("seller", "Sam")
    store = api.post("/v1/stores", seller, {"name": "Sam's"}, expect=201).json()["id"]
    product = api.post("/v1/products", seller, {"title": "Case"}, expect=201).json()["id"]
    body = {
        "store_id": store,
        "product_id": product,
        "price": 5_00,
        "currency": "USD",
        "stock": 3,
        "handling_days": 2,
        "shipping_options": [{"carrier": "pigeon", "price": 0, "promised_days": 3}],
    }
    with writes_nothing(api):
        r = api.post("/v1/offers", seller, body)
    assert "dhl" in assert_problem(r, 422, "unknown_carrier")["detail"]
