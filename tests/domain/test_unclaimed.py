"""R6.6 in the domain: the refund of a parcel back with the seller, the fold of the platform sending a
parcel back, and what the order becomes."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderguard.domain.decision import Decision
from orderguard.domain.payments import Payment
from orderguard.domain.policy import Policy
from orderguard.domain.shipments import Shipment
from orderguard.domain.shipping import Place, Scan, fold
from orderguard.domain.unclaimed import _shipping_share, follow, refuse, return_refund
from tests.domain.test_orders import NOW, refusal_code, shipped_order


def _parcel(sid: str, state: str, lines: dict[str, int], **changes: object) -> Shipment:
    return replace(Shipment(sid, "o1", "postal", f"CODE{sid}", state, NOW, NOW, lines), **changes)


def _full(policy: Policy) -> Policy:
    return policy.model_copy(
        update={"shipping": policy.shipping.model_copy(update={"unclaimed_refund": "full"})}
    )


def test_by_default_the_items_are_refunded_and_the_shipping_kept_for_the_return(policy: Policy) -> None:
    order = shipped_order()  # l1: 2 x 12.50 + 3.00 shipping; l2: 1 x 4.99, free shipping
    quote = return_refund(order, _parcel("s1", "returned", {"l1": 2, "l2": 1}), {}, policy)
    assert (quote.items, quote.shipping, quote.kept, quote.amount) == (2_999, 300, 300, 2_999)
    assert [(x.line_id, x.quantity, x.amount) for x in quote.lines] == [("l1", 2, 2_500), ("l2", 1, 499)]
    full = return_refund(order, _parcel("s1", "returned", {"l1": 2, "l2": 1}), {}, _full(policy))
    assert (full.kept, full.amount) == (0, 3_299)  # everything the order cost


@given(st.integers(0, 10_000), st.lists(st.integers(1, 5), min_size=1, max_size=6))
def test_a_line_back_in_several_parcels_refunds_its_shipping_exactly_once(
    price: int, parts: list[int]
) -> None:
    active, before, shares = sum(parts), 0, []
    for quantity in parts:
        shares.append(_shipping_share(price, active, before, quantity))
        before += quantity
    assert sum(shares) == price and all(s >= 0 for s in shares)


def test_the_platform_sending_a_parcel_back_is_folded_at_its_time() -> None:
    here = Place("PL")
    pickup = Scan("at_pickup_point", NOW, here)
    back = Scan("delivered_to_sender", NOW + timedelta(days=40), here)
    assert fold([pickup], ("storage_ended", NOW + timedelta(days=30)))[0] == "returning"
    assert fold([pickup, back], ("storage_ended", NOW + timedelta(days=30)))[0] == "returned"
    # a delivery that happened before the refusal stands
    delivered = Scan("delivered", NOW + timedelta(days=1), here)
    assert fold([pickup, delivered], ("refused", NOW + timedelta(days=2)))[0] == "delivered"


def test_a_parcel_going_back_suspends_the_order_and_the_last_one_back_ends_it(policy: Policy) -> None:
    order = shipped_order()
    parcel = _parcel("s1", "in_transit", {"l1": 2, "l2": 1})
    [refused] = refuse(order, [parcel], None, "b1", NOW, policy)
    assert (refused.subject.state, refused.subject.sent_back_by) == ("returning", "refused")
    suspended = follow(order, [refused.subject], [refused], None, 0, NOW, policy)
    assert suspended is not None and suspended.subject.state == "returning"
    assert set(suspended.cancel) == {"protection_end", "protection_reminder"}
    assert {n.recipient for n in refused.notifications} == {"buyer", "seller"}

    back = _parcel("s1", "returned", {"l1": 2, "l2": 1}, sent_back_by="refused", sent_back_at=NOW)
    moved = Decision(back)
    payment = Payment("pay1", "o1", "card", "captured", 3_299, "USD", NOW, "ref")
    ended = follow(suspended.subject, [back], [moved], payment, 3_299, NOW, policy)
    assert ended is not None and ended.subject.state == "returned"
    [refund] = [d.subject for d in moved.also]
    assert (refund.amount, refund.cause_type, refund.cause_id) == (2_999, "unclaimed_parcel", "s1")
    [release] = ended.ledger
    assert sum(p.amount for p in release.postings if p.account == "escrow:order:o1") == -300
    again = follow(suspended.subject, [back], [Decision(back)], payment, 300, NOW, policy, frozenset({"s1"}))
    assert again is not None and again.subject.state == "returned"  # and no second refund


@pytest.mark.parametrize(
    ("state", "parcel_state", "code"),
    [
        ("awaiting_shipment", None, "order_not_shipped"),
        ("shipped", "delivered", "parcel_delivered"),
        ("shipped", "returning", "parcel_returning"),
        ("completed", "at_pickup_point", "order_completed"),
    ],
)
def test_refusals(policy: Policy, state: str, parcel_state: str | None, code: str) -> None:
    order = replace(shipped_order(), state=state)
    parcels = [_parcel("s1", parcel_state, {"l1": 2})] if parcel_state else []
    assert refusal_code(lambda: refuse(order, parcels, None, "b1", NOW, policy)) == code
    assert refusal_code(lambda: refuse(order, parcels, None, "someone", NOW, policy)) == "order_not_found"
