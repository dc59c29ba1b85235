"""Orders are judged by the policy version they were placed under, even after it changes."""

from __future__ import annotations

from orderguard.domain.policy import version_of
from tests.support import Api, s10


def test_an_order_keeps_its_policy_after_the_operator_changes_it(api: Api) -> None:
    books = api.ctx.policies
    old = books.current
    buyer = api.buyer()
    listing = api.listing(price=100_00, options=[{"carrier": "postal", "price": 0, "promised_days": 10}])
    before = api.place(buyer, listing)

    stricter = old.policy.model_copy(
        update={
            "version": "2026.12-strict",
            "money": old.policy.money.model_copy(update={"commission_bps": 1_000}),
            "checkout": old.policy.checkout.model_copy(update={"unpaid_expiry_days": 5}),
        }
    )
    books.adopt(version_of(stricter))
    after = api.place(buyer, api.listing(price=100_00, seller=listing.seller, product_id=listing.product_id))
    assert before["policy_version"] == old.key
    assert after["policy_version"].startswith("2026.12-strict@")

    api.pay(buyer, before["id"])
    api.post(
        f"/v1/orders/{before['id']}/shipments",
        listing.seller,
        {"carrier": "postal", "tracking_code": s10("31313131")},
        expect=201,
    )
    api.post(f"/v1/orders/{before['id']}/confirm-receipt", buyer, expect=200)
    api.advance(days=15)
    # the first order closes under the old 5 % commission, not the new 10 %
    balance = api.get(f"/v1/stores/{listing.store_id}/balance", listing.seller).json()["payable"]
    assert balance == [{"currency": "USD", "amount": 95_00}]
    # the second order, placed under the strict policy, expired after 5 days
    assert api.status(after["id"], buyer) == "cancelled"
