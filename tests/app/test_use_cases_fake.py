"""The lifecycle use cases over the in-memory fake of the unit-of-work port (tests/app/fakes.py).

No database: each test runs in milliseconds. What the store does (locks, SQL, both databases) is
tested through the API and in tests/store; here the use cases' own logic is: which commands
reach the provider and when, what each transaction writes, and what the scheduler fires.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from orderguard.app import accounts, cart, catalogue, orders, payments, shipping
from orderguard.app.catalogue import OptionInput
from orderguard.app.context import Principal
from orderguard.app.deadlines import fire_due
from orderguard.domain.ledger import PLATFORM_COMMISSION, escrow, seller_payable
from orderguard.domain.machine import Refused
from orderguard.domain.orders import Address, Order
from orderguard.domain.shipping import Place, s10_check_digit
from tests.app.fakes import Deadline, FakeWorld, fake_world

ADDRESS = Address("Ann Buyer", "1 Main St", "", "Warsaw", "00-001", "PL")
PRICE, SHIPPING, PROMISED_DAYS = 10_00, 2_00, 20


@pytest.fixture
def w() -> FakeWorld:
    return fake_world()


def _principal(w: FakeWorld, role: str, name: str) -> Principal:
    return Principal(accounts.create_account(w.ctx, role, name).id, accounts.ROLES[role])


# long enough that no ship-by time (R4.8) falls inside a test's clock moves unless it means to
HANDLING_DAYS = 30


def _offer(w: FakeWorld, stock: int = 10) -> tuple[Principal, str]:
    seller = _principal(w, "seller", "Sam")
    store_id = catalogue.create_store(w.ctx, seller, "Sam's store")["id"]
    product_id = catalogue.create_product(w.ctx, seller, "Phone case", "")["id"]
    offer = catalogue.create_offer(
        w.ctx,
        seller,
        store_id,
        product_id,
        PRICE,
        "USD",
        stock,
        HANDLING_DAYS,
        [OptionInput("postal", SHIPPING, PROMISED_DAYS)],
    )
    return seller, offer.id


def _placed(w: FakeWorld, quantity: int = 1) -> tuple[Principal, Principal, Order]:
    """(buyer, seller, an unpaid order of `quantity` units)."""
    seller, offer_id = _offer(w)
    buyer = _principal(w, "buyer", "Ann")
    cart.add_item(w.ctx, buyer, offer_id, quantity, None)
    (order,) = cart.check_out(w.ctx, buyer, ADDRESS)
    return buyer, seller, order


def _order(w: FakeWorld, order_id: str) -> Order:
    return w.db.rows.orders[order_id]


def _armed(w: FakeWorld, subject_id: str) -> list[str]:
    return sorted(d.kind for d in w.db.rows.deadlines if d.subject_id == subject_id and d.state == "armed")


def _stock(w: FakeWorld, order: Order) -> int:
    return w.db.rows.offers[order.lines[0].offer_id].stock


def _balance(w: FakeWorld, account: str) -> int:
    with w.ctx.reading() as uow:
        return uow.ledger.balance(account).get("USD", 0)


def _notified(w: FakeWorld, who: Principal) -> list[str]:
    return [n["kind"] for n in w.db.rows.notifications if n["account_id"] == who.id]


def _paid(w: FakeWorld, quantity: int = 1) -> tuple[Principal, Principal, Order]:
    buyer, seller, order = _placed(w, quantity)
    payments.pay(w.ctx, buyer, order.id, "card")
    return buyer, seller, _order(w, order.id)


def _code(serial: str = "12345678") -> str:
    return f"RR{serial}{s10_check_digit(serial)}CN"


def _delivered(w: FakeWorld) -> tuple[Principal, Principal, Order]:
    buyer, seller, order = _paid(w)
    shipping.ship(w.ctx, seller, order.id, "postal", _code(), None)
    w.clock.set(w.clock.now() + timedelta(days=3))
    scan = shipping.ScanReport(_code(), "delivered", w.clock.now(), Place("PL", "Warsaw", "00-001"))
    assert shipping.record_scans(w.ctx, "postal", [scan], source="carrier") == shipping.ScanResult(1, 0)
    return buyer, seller, _order(w, order.id)


# --- placing and paying ---------------------------------------------------------------------------


def test_checkout_places_the_order_reserves_stock_and_arms_pay_by(w: FakeWorld) -> None:
    _, _, order = _placed(w, quantity=3)
    assert _order(w, order.id).state == "awaiting_payment"
    assert _stock(w, order) == 10 - 3
    assert _armed(w, order.id) == ["pay_by"]
    assert order.pay_by_at == w.clock.now() + timedelta(days=20)
    assert [item.order_id for _, item, _ in w.db.rows.cart_items.values()] == [order.id]  # held by it


def test_a_card_payment_is_recorded_then_captured_after_commit(w: FakeWorld) -> None:
    buyer, seller, order = _placed(w)
    commits = w.db.commits
    payment = payments.pay(w.ctx, buyer, order.id, "card")
    assert w.db.commits == commits + 2  # recorded initiated, then the provider's answer
    assert w.provider.calls == [("capture", payment.id)]  # our payment id is the idempotency key
    assert payment.state == "captured" and payment.provider_ref == f"fake_capture_{payment.id}"
    assert _order(w, order.id).state == "awaiting_shipment"
    # pay-by and the retry cancelled; the ship-by time (R4.8) armed
    assert _armed(w, order.id) == ["ship_by"] and _armed(w, payment.id) == []
    assert _balance(w, escrow(order.id)) == PRICE + SHIPPING
    assert w.db.rows.cart_items == {}  # the paid goods left the cart
    assert _notified(w, seller) == ["order_paid"]


def test_a_bank_transfer_stays_pending_until_the_bank_credits_it(w: FakeWorld) -> None:
    buyer, _, order = _placed(w)
    payment = payments.pay(w.ctx, buyer, order.id, "bank_transfer")
    assert w.provider.calls == [("start_transfer", payment.id)]
    assert payment.state == "pending"
    assert _order(w, order.id).state == "payment_pending"
    assert _armed(w, payment.id) == ["transfer_credit_by"]
    credited = payments.report_transfer(w.ctx, payment.id, credited=True)
    assert credited.state == "captured"
    assert _order(w, order.id).state == "awaiting_shipment"
    assert _armed(w, payment.id) == []
    assert _balance(w, escrow(order.id)) == PRICE + SHIPPING


def test_a_failed_transfer_returns_the_order_to_awaiting_payment(w: FakeWorld) -> None:
    buyer, _, order = _placed(w)
    payment = payments.pay(w.ctx, buyer, order.id, "bank_transfer")
    failed = payments.report_transfer(w.ctx, payment.id, credited=False, reason="account closed")
    assert (failed.state, failed.failure_reason) == ("failed", "account closed")
    assert _order(w, order.id).state == "awaiting_payment"
    assert _armed(w, order.id) == ["pay_by"]
    assert _notified(w, buyer) == ["payment_failed"]
    with pytest.raises(Refused) as e:  # settled once
        payments.report_transfer(w.ctx, payment.id, credited=True)
    assert e.value.refusal.code == "payment_not_pending"


def test_a_declined_card_fails_the_payment_and_the_order_can_be_paid_again(w: FakeWorld) -> None:
    buyer, _, order = _placed(w)
    w.provider.decline = "insufficient funds"
    with pytest.raises(Refused) as e:
        payments.pay(w.ctx, buyer, order.id, "card")
    assert (e.value.refusal.code, e.value.refusal.status) == ("payment_declined", 402)
    (payment,) = w.db.rows.payments.values()
    assert (payment.state, payment.failure_reason) == ("failed", "insufficient funds")
    assert _order(w, order.id).state == "awaiting_payment"
    assert _balance(w, escrow(order.id)) == 0
    w.provider.decline = None
    assert payments.pay(w.ctx, buyer, order.id, "card").state == "captured"


def test_a_provider_that_does_not_answer_leaves_the_payment_initiated_and_the_retry_captures_it(
    w: FakeWorld,
) -> None:
    buyer, _, order = _placed(w)
    w.provider.unavailable = True
    with pytest.raises(Refused) as e:
        payments.pay(w.ctx, buyer, order.id, "card")
    assert (e.value.refusal.code, e.value.refusal.status) == ("payment_provider_unavailable", 503)
    (payment,) = w.db.rows.payments.values()
    assert payment.state == "initiated"  # recorded before the provider was called
    assert _order(w, order.id).state == "payment_pending"
    assert _armed(w, payment.id) == ["provider_retry"]

    w.clock.set(w.clock.now() + timedelta(seconds=59))
    assert fire_due(w.ctx).claimed == 0  # not due yet
    w.clock.set(w.clock.now() + timedelta(seconds=1))
    report = fire_due(w.ctx)  # still down: fired, asked again after commit, armed again
    assert (report.claimed, report.fired) == (1, 1)
    assert w.db.rows.payments[payment.id].state == "initiated"
    assert _armed(w, payment.id) == ["provider_retry"]

    w.provider.unavailable = False
    w.clock.set(w.clock.now() + timedelta(seconds=60))
    assert fire_due(w.ctx).fired == 1
    assert w.db.rows.payments[payment.id].state == "captured"
    assert _order(w, order.id).state == "awaiting_shipment"
    assert _armed(w, payment.id) == []
    assert w.provider.calls == [("capture", payment.id)] * 3  # always under the same key
    assert _balance(w, escrow(order.id)) == PRICE + SHIPPING  # captured once


def test_when_the_retry_answers_while_the_request_waits_the_payment_is_recorded_once(w: FakeWorld) -> None:
    """The provider is slow to answer `pay`; its retry deadline falls due meanwhile, asks again (same
    key, same answer) and records first. The request then finds the payment answered."""
    buyer, _, order = _placed(w)

    def scheduler_round() -> None:
        w.clock.set(w.clock.now() + timedelta(seconds=60))
        assert fire_due(w.ctx).fired == 1

    w.provider.meanwhile = scheduler_round
    payment = payments.pay(w.ctx, buyer, order.id, "card")
    assert payment.state == "captured"
    assert len(w.provider.calls) == 2
    assert [e["kind"] for e in orders.timeline(w.ctx, buyer, order.id)].count("payment_captured") == 1
    assert _balance(w, escrow(order.id)) == PRICE + SHIPPING


def test_execute_leaves_an_answered_payment_as_it_is(w: FakeWorld) -> None:
    _paid(w)
    (payment,) = w.db.rows.payments.values()
    calls = list(w.provider.calls)
    assert payments.execute(w.ctx, payment.id) == payment
    assert w.provider.calls == calls


# --- cancelling, shipping, receipt -----------------------------------------------------------------


def test_the_buyer_cancels_an_unpaid_order_and_its_stock_and_cart_are_freed(w: FakeWorld) -> None:
    buyer, _, order = _placed(w, quantity=2)
    view = orders.cancel_unpaid(w.ctx, buyer, order.id)
    assert view.order.state == "cancelled" and _order(w, order.id).state == "cancelled"
    assert _stock(w, order) == 10
    assert w.db.rows.cart_items == {}
    assert _armed(w, order.id) == [] and view.deadlines == []
    assert [e["kind"] for e in orders.timeline(w.ctx, buyer, order.id)] == ["placed", "buyer_cancelled"]
    with pytest.raises(Refused):  # once
        orders.cancel_unpaid(w.ctx, buyer, order.id)


def test_a_refused_command_writes_nothing(w: FakeWorld) -> None:
    buyer, _, order = _paid(w)
    before = (dict(w.db.rows.orders), len(w.db.rows.events), w.db.rollbacks)
    with pytest.raises(Refused) as e:
        orders.cancel_unpaid(w.ctx, buyer, order.id)
    assert e.value.refusal.status == 409
    assert (dict(w.db.rows.orders), len(w.db.rows.events), w.db.rollbacks) == (*before[:2], before[2] + 1)


def test_shipping_and_a_delivery_scan_deliver_the_order(w: FakeWorld) -> None:
    buyer, seller, order = _paid(w)
    parcel = shipping.ship(w.ctx, seller, order.id, "postal", _code(), None)
    shipped = _order(w, order.id)
    assert shipped.state == "shipped"
    assert shipped.protection_ends_at == w.clock.now() + timedelta(days=PROMISED_DAYS)
    assert _armed(w, order.id) == ["protection_end", "protection_reminder"]
    assert parcel.lines == {order.lines[0].id: 1}

    w.clock.set(w.clock.now() + timedelta(days=3))
    scan = shipping.ScanReport(_code(), "delivered", w.clock.now(), Place("PL", "Warsaw", "00-001"))
    assert shipping.record_scans(w.ctx, "postal", [scan], source="carrier") == shipping.ScanResult(1, 0)
    assert shipping.record_scans(w.ctx, "postal", [scan], source="carrier") == shipping.ScanResult(0, 1)
    delivered = _order(w, order.id)
    assert delivered.state == "delivered"
    assert delivered.protection_ends_at == w.clock.now() + timedelta(days=5)  # sooner than promised
    assert w.db.rows.shipments[parcel.id].state == "delivered"
    assert _notified(w, buyer) == ["shipped", "delivered"]


def test_another_stores_parcel_cannot_reuse_a_tracking_code(w: FakeWorld) -> None:
    _, seller, order = _paid(w)
    shipping.ship(w.ctx, seller, order.id, "postal", _code(), None)
    _, other_seller, other = _paid(w)
    with pytest.raises(Refused) as e:
        shipping.ship(w.ctx, other_seller, other.id, "postal", _code(), None)
    assert e.value.refusal.code == "tracking_code_in_use"
    assert _order(w, other.id).state == "awaiting_shipment"


def test_the_buyer_confirms_receipt_and_the_dispute_window_opens(w: FakeWorld) -> None:
    buyer, seller, order = _delivered(w)
    view = orders.confirm_receipt(w.ctx, buyer, order.id)
    assert view.order.state == "completed"
    assert [d.kind for d in view.deadlines] == ["dispute_window_end"]
    assert view.order.dispute_window_ends_at == w.clock.now() + timedelta(days=15)
    assert view.money.in_escrow == PRICE + SHIPPING
    assert _notified(w, seller)[-1] == "order_completed"


# --- the scheduler --------------------------------------------------------------------------------


def test_an_unpaid_order_expires_at_pay_by(w: FakeWorld) -> None:
    buyer, _, order = _placed(w, quantity=4)
    w.clock.set(order.pay_by_at - timedelta(seconds=1))
    assert fire_due(w.ctx).claimed == 0
    w.clock.set(order.pay_by_at)
    assert (fire_due(w.ctx).claimed, _order(w, order.id).state) == (1, "cancelled")
    assert _stock(w, order) == 10
    assert w.db.rows.cart_items == {}
    assert _notified(w, buyer) == ["order_expired"]
    assert [d.state for d in w.db.rows.deadlines] == ["fired"]
    assert fire_due(w.ctx).claimed == 0  # exactly once


def test_a_round_that_claims_nothing_says_when_the_next_deadline_falls_due_within_its_look_ahead(
    w: FakeWorld,
) -> None:
    _, _, order = _placed(w)
    w.clock.set(order.pay_by_at - timedelta(seconds=3))
    assert fire_due(w.ctx).next_due_in is None  # no look-ahead asked
    assert fire_due(w.ctx, look_ahead=2).next_due_in is None  # not due within it
    assert fire_due(w.ctx, look_ahead=5).next_due_in == 3.0
    assert _order(w, order.id).state == "awaiting_payment"


def test_protection_reminds_then_ends_and_the_order_completes(w: FakeWorld) -> None:
    buyer, _, order = _paid(w)
    w.clock.set(w.clock.now() + timedelta(hours=1))
    shipping.ship(w.ctx, _seller_of(w, order), order.id, "postal", _code(), None)
    ends = _order(w, order.id).protection_ends_at
    assert ends is not None
    w.clock.set(ends - timedelta(days=3))
    assert fire_due(w.ctx).fired == 1
    assert _notified(w, buyer)[-1] == "protection_ending"
    assert _order(w, order.id).state == "shipped"
    w.clock.set(ends)
    assert fire_due(w.ctx).fired == 1
    completed = _order(w, order.id)
    assert (completed.state, completed.completed_at) == ("completed", ends)
    assert _armed(w, order.id) == ["dispute_window_end"]


def test_the_dispute_window_closes_the_order_and_pays_the_seller_less_commission(w: FakeWorld) -> None:
    buyer, _, order = _delivered(w)
    orders.confirm_receipt(w.ctx, buyer, order.id)
    closes = _order(w, order.id).dispute_window_ends_at
    assert closes is not None
    w.clock.set(closes)
    assert fire_due(w.ctx).fired == 1
    closed = _order(w, order.id)
    assert closed.state == "closed"
    total = PRICE + SHIPPING
    commission = total * 500 // 10_000
    assert _balance(w, seller_payable(order.store_id)) == total - commission
    assert _balance(w, PLATFORM_COMMISSION) == commission
    assert _balance(w, escrow(order.id)) == 0
    event = orders.timeline(w.ctx, buyer, order.id)[-1]
    assert (event["kind"], event["data"]) == (
        "dispute_window_ended",
        {"released": total - commission, "commission": commission},
    )


def test_a_deadline_whose_order_moved_on_is_cancelled_not_fired(w: FakeWorld) -> None:
    _, _, order = _paid(w)
    stale_due = w.clock.now() + timedelta(hours=1)  # before the order's own ship-by deadline
    w.db.rows.deadlines.append(  # left armed, as by a crash of an older version
        Deadline(w.db.rows.next_id(), "order", order.id, order.id, "pay_by", stale_due)
    )
    w.clock.set(stale_due)
    report = fire_due(w.ctx)
    assert (report.claimed, report.fired) == (1, 0)
    assert w.db.rows.deadlines[-1].state == "cancelled"
    assert _order(w, order.id).state == "awaiting_shipment"


def test_a_deadline_whose_order_a_command_holds_stays_armed_for_the_next_round(w: FakeWorld) -> None:
    _, _, order = _placed(w)
    w.clock.set(order.pay_by_at)
    w.db.held.add(order.id)
    assert (fire_due(w.ctx).claimed, fire_due(w.ctx).fired) == (1, 0)
    assert _armed(w, order.id) == ["pay_by"]
    w.db.held.clear()
    assert fire_due(w.ctx).fired == 1
    assert _order(w, order.id).state == "cancelled"


def test_one_batch_fires_many_orders_in_due_order(w: FakeWorld) -> None:
    placed = [_placed(w)[2] for _ in range(3)]
    w.clock.set(max(o.pay_by_at for o in placed))
    report = fire_due(w.ctx, limit=2)
    assert (report.claimed, report.fired) == (2, 2)
    assert fire_due(w.ctx).fired == 1
    assert {_order(w, o.id).state for o in placed} == {"cancelled"}


def _seller_of(w: FakeWorld, order: Order) -> Principal:
    return Principal(w.db.rows.stores[order.store_id]["seller_id"], accounts.ROLES["seller"])


def test_the_catalogue_is_browsed_a_page_at_a_time(w: FakeWorld) -> None:
    seller, _ = _offer(w)
    buyer = _principal(w, "buyer", "Ann")
    w.clock.set(w.clock.now() + timedelta(minutes=1))  # oldest first
    catalogue.create_product(w.ctx, seller, "Phone stand", "")
    first = catalogue.list_products(w.ctx, buyer, None, None, 1)
    assert [p.title for p in first.products] == ["Phone case"] and first.next_cursor
    second = catalogue.list_products(w.ctx, buyer, None, first.next_cursor, 1)
    assert [p.title for p in second.products] == ["Phone stand"] and second.next_cursor is None
    assert [p.offer_count for p in (*first.products, *second.products)] == [1, 0]
    assert [p.title for p in catalogue.list_products(w.ctx, buyer, "STAND phone", None, 10).products] == [
        "Phone stand"
    ]
    stores = catalogue.list_stores(w.ctx, seller, True, None, 10).stores
    assert [(s.name, s.offer_count) for s in stores] == [("Sam's store", 1)]
    assert catalogue.list_stores(w.ctx, buyer, True, None, 10).stores == []
