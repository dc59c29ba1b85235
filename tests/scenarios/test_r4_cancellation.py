"""§4 cancellation after payment: what the buyer is shown before asking (R4.2)."""

from __future__ import annotations

from tests.api.helpers import assert_problem, writes_nothing
from tests.scenarios.test_r6_fulfilment import paid_order, ship
from tests.support import Api, s10

SELLER_FAULT = {
    "price_increased",
    "shipping_method_unsuitable",
    "seller_unresponsive",
    "out_of_stock",
    "other",
}
BUYER_FAULT = {"no_longer_needed", "processing_too_long"}


def _preview(api: Api, order_id: str, who: object, expect: int = 200) -> dict[str, object]:
    return dict(api.get(f"/v1/orders/{order_id}/cancellation-reasons", who, expect=expect).json())  # type: ignore[arg-type]


def test_r4_2_penalty_preview_shows_each_reasons_fault_refund_and_fine(api: Api) -> None:
    buyer, _, order = paid_order(api, quantity=3, price=10_00)  # 30.00 items + 2.00 shipping
    preview = _preview(api, order["id"], buyer)
    assert preview["currency"] == "USD"
    [line] = order["lines"]
    assert preview["lines"] == [{"line_id": line["id"], "quantity": 3, "refund": 32_00}]
    reasons = {r["reason"]: r for r in preview["reasons"]}  # type: ignore[attr-defined]
    assert set(reasons) == SELLER_FAULT | BUYER_FAULT
    for name in BUYER_FAULT:
        assert (reasons[name]["fault"], reasons[name]["fine"], reasons[name]["refund"]) == ("buyer", 0, 32_00)
        assert "No one is fined" in reasons[name]["consequence"]
    for name in SELLER_FAULT:
        # 5 % of 32.00 is 1.60, above the 1.00 minimum
        assert (reasons[name]["fault"], reasons[name]["fine"], reasons[name]["refund"]) == (
            "seller",
            1_60,
            32_00,
        )
        assert "fined 1.60 USD" in reasons[name]["consequence"]
        assert "sellers often refuse" in reasons[name]["consequence"]


def test_r4_2_a_small_order_shows_the_minimum_fine(api: Api) -> None:
    buyer, _, order = paid_order(api, quantity=1, price=3_00)  # 3.00 + 2.00 shipping: 5 % is 0.25
    reasons = {r["reason"]: r for r in _preview(api, order["id"], buyer)["reasons"]}  # type: ignore[attr-defined]
    assert reasons["out_of_stock"]["fine"] == 1_00
    assert reasons["no_longer_needed"]["fine"] == 0


def test_r4_2_only_unshipped_quantities_are_cancellable_and_a_started_line_keeps_its_shipping(
    api: Api,
) -> None:
    buyer, listing, order = paid_order(api, quantity=3, price=10_00)
    [line] = order["lines"]
    ship(api, listing, order["id"], s10("11223344"), lines=[{"line_id": line["id"], "quantity": 1}])
    preview = _preview(api, order["id"], buyer)
    # two units left; the line's shipping paid for the parcel already on its way
    assert preview["lines"] == [{"line_id": line["id"], "quantity": 2, "refund": 20_00}]
    assert {r["refund"] for r in preview["reasons"]} == {20_00}  # type: ignore[attr-defined]


def test_r4_2_no_preview_for_unpaid_or_shipped_orders_or_for_others(api: Api) -> None:
    buyer = api.buyer()
    listing = api.listing()
    unpaid = api.place(buyer, listing)
    with writes_nothing(api):
        assert_problem(
            api.get(f"/v1/orders/{unpaid['id']}/cancellation-reasons", buyer, expect=409),
            409,
            "order_not_paid",
        )
    owner, seller_listing, paid = paid_order(api)
    ship(api, seller_listing, paid["id"], s10("55667788"))
    assert_problem(
        api.get(f"/v1/orders/{paid['id']}/cancellation-reasons", owner, expect=409), 409, "order_shipped"
    )
    stranger = api.buyer("Eve")
    assert_problem(
        api.get(f"/v1/orders/{paid['id']}/cancellation-reasons", stranger, expect=404), 404, "order_not_found"
    )
