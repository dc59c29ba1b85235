"""R9.1/R9.2 at the edge: balances past 64 bits are summed exactly, never a 500."""

from __future__ import annotations

from orderguard.domain.money import MAX_MINOR
from tests.support import Api, s10

SHIPPING = 2_00


def test_r9_2_a_payable_balance_beyond_64_bits_is_exact(api: Api) -> None:
    """Two orders at the largest total close: the store is owed more than 2^63 - 1 minor units."""
    seller = api.account("seller", "Sam")
    listing = api.listing(
        price=MAX_MINOR - SHIPPING,
        stock=10,
        seller=seller,
        options=[{"carrier": "postal", "price": SHIPPING, "promised_days": 10}],
    )
    expected = 0
    for serial in ("61616161", "62626262"):
        buyer = api.buyer()
        order = api.place(buyer, listing)
        assert order["total"] == MAX_MINOR
        api.pay(buyer, order["id"])
        api.post(
            f"/v1/orders/{order['id']}/shipments",
            seller,
            {"carrier": "postal", "tracking_code": s10(serial)},
            expect=201,
        )
        api.post(f"/v1/orders/{order['id']}/confirm-receipt", buyer, expect=200)
        commission = (MAX_MINOR * 500 + 5_000) // 10_000
        expected += MAX_MINOR - commission
    api.advance(days=16)
    balance = api.get(f"/v1/stores/{listing.store_id}/balance", seller).json()
    assert expected > MAX_MINOR
    assert balance["payable"] == [{"currency": "USD", "amount": expected}]
    api.assert_ledger_balanced()
