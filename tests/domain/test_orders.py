"""Order decisions (R3.3-R3.5, R6.4, R6.5, R8.5, R9.2), judged by the default policy."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from orderguard.domain import ledger
from orderguard.domain.ledger import Posting, imbalance
from orderguard.domain.machine import Actor, Refused
from orderguard.domain.orders import (
    LEAVE_CART,
    ORDER,
    Address,
    ArmDeadline,
    Decision,
    Event,
    Line,
    Notification,
    Order,
    actions_for,
    buyer_cancel,
    confirm_receipt,
    dispute_window_ended,
    pay_by_passed,
    payment_captured,
    payment_failed,
    payment_started,
    place,
    protection_ended,
    protection_reminder,
    transition,
)
from orderguard.domain.policy import Policy

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PAY_BY = NOW + timedelta(days=20)
ESCROW = "escrow:order:o1"


def make_order(state: str = "awaiting_payment", **changes: object) -> Order:
    lines = (
        Line("l1", "of1", "p1", "Kettle", unit_price=1_250, quantity=2, shipping_price=300,
             carrier="post", promised_days=12, handling_days=4),
        Line("l2", "of2", "p2", "Mug", unit_price=499, quantity=1, shipping_price=0,
             carrier="post", promised_days=20, handling_days=2),
    )  # fmt: skip
    order = Order(
        id="o1",
        buyer_id="b1",
        store_id="s1",
        state=state,
        currency="USD",
        lines=lines,
        address=Address("Ann", "1 Main St", "Springfield", "12345", "US"),
        policy_key="2026.11-default@abc",
        placed_at=NOW,
        pay_by_at=PAY_BY,
    )
    return replace(order, **changes)


def shipped_order(ends_in_days: int = 20) -> Order:
    return make_order(
        "shipped",
        paid_at=NOW - timedelta(days=2),
        shipped_at=NOW,
        protection_ends_at=NOW + timedelta(days=ends_in_days),
    )


def refusal_code(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(Refused) as e:
        call()
    return e.value.refusal.code


# --- the order itself ---------------------------------------------------------------


def test_order_total_is_items_plus_shipping() -> None:
    order = make_order()
    assert order.items_total == 2 * 1_250 + 499
    assert order.shipping_total == 300
    assert order.total.minor == 3_299
    assert order.total.currency == "USD"


def test_promised_days_is_the_longest_line() -> None:
    assert make_order().promised_days == 20


def test_place_arms_pay_by(policy: Policy) -> None:
    d = place(make_order(), NOW, policy)
    assert d.arm == [ArmDeadline("pay_by", PAY_BY)]
    assert [e.kind for e in d.events] == ["placed"]


def test_place_refuses_an_order_not_awaiting_payment(policy: Policy) -> None:
    with pytest.raises(ValueError):
        place(make_order("awaiting_shipment"), NOW, policy)


# --- paying ---------------------------------------------------------------------


def _paid(policy: Policy, method: str = "card") -> Order:
    started = payment_started(make_order(), "b1", method, NOW, policy)
    return payment_captured(started.subject, NOW, policy).subject


def test_payment_started_is_pending_and_cancels_pay_by(policy: Policy) -> None:
    d = payment_started(make_order(), "b1", "card", NOW, policy)
    assert d.subject.state == "payment_pending"
    assert d.events[0].kind == "payment_started"
    assert d.events[0].data == {"method": "card"}
    assert d.cancel == ["pay_by"]
    assert d.arm == []
    assert d.ledger == []


def test_payment_captured_moves_to_awaiting_shipment(policy: Policy) -> None:
    d = payment_captured(make_order("payment_pending"), NOW, policy)
    assert d.subject.state == "awaiting_shipment"
    assert d.subject.paid_at == NOW
    assert d.events[0].kind == "payment_captured"
    # R4.8: the ship-by time is the payment plus the longest handling days of the lines
    assert d.subject.ship_by_at == NOW + timedelta(days=4)
    assert d.cancel == [] and [(a.kind, a.due_at) for a in d.arm] == [("ship_by", NOW + timedelta(days=4))]


def test_payment_captured_posts_a_balanced_capture_of_the_total_into_escrow(policy: Policy) -> None:
    d = payment_captured(make_order("payment_pending"), NOW, policy)
    [tx] = d.ledger
    assert tx.kind == "capture"
    assert imbalance(tx.postings) == {}
    assert Posting(ESCROW, 3_299, "USD") in tx.postings
    assert Posting(ledger.EXTERNAL_PAYMENTS, -3_299, "USD") in tx.postings


def test_payment_captured_takes_goods_out_of_the_cart_and_tells_the_seller(policy: Policy) -> None:
    d = payment_captured(make_order("payment_pending"), NOW, policy)
    assert d.effects == {LEAVE_CART}
    assert [(n.recipient, n.kind) for n in d.notifications] == [("seller", "order_paid")]


def test_payment_started_by_another_buyer_is_not_found(policy: Policy) -> None:
    with pytest.raises(Refused) as e:
        payment_started(make_order(), "b2", "card", NOW, policy)
    assert (e.value.refusal.code, e.value.refusal.status) == ("order_not_found", 404)


@pytest.mark.parametrize(
    ("state", "code"),
    [
        ("payment_pending", "payment_pending"),
        ("cancelled", "order_cancelled"),
        ("awaiting_shipment", "order_already_paid"),
        ("shipped", "order_already_paid"),
    ],
)
def test_payment_started_refused_unless_awaiting_payment(policy: Policy, state: str, code: str) -> None:
    assert refusal_code(lambda: payment_started(make_order(state), "b1", "card", NOW, policy)) == code


def test_payment_failed_before_pay_by_returns_to_awaiting_payment(policy: Policy) -> None:
    d = payment_failed(
        make_order("payment_pending"), "insufficient_funds", PAY_BY - timedelta(days=1), policy
    )
    assert d.subject.state == "awaiting_payment"
    assert d.events[0].kind == "payment_failed"
    assert d.events[0].data == {"reason": "insufficient_funds"}
    assert d.arm == [ArmDeadline("pay_by", PAY_BY)]
    assert d.effects == set()
    assert [n.kind for n in d.notifications] == ["payment_failed"]
    assert "insufficient_funds" in d.notifications[0].text


def test_payment_failed_after_pay_by_cancels_the_order(policy: Policy) -> None:
    later = PAY_BY + timedelta(hours=1)
    d = payment_failed(make_order("payment_pending"), "expired", later, policy)
    assert d.subject.state == "cancelled"
    assert d.subject.cancelled_at == later
    assert d.events[0].kind == "payment_failed_after_pay_by"
    assert d.arm == []
    assert d.effects == {LEAVE_CART}
    assert d.restock == {"of1": 2, "of2": 1}


def test_payment_failed_exactly_at_pay_by_cancels(policy: Policy) -> None:
    d = payment_failed(make_order("payment_pending"), "expired", PAY_BY, policy)
    assert d.subject.state == "cancelled"


def test_pay_by_passed_cancels_without_penalty(policy: Policy) -> None:
    d = pay_by_passed(make_order(), PAY_BY, policy)
    assert d.subject.state == "cancelled"
    assert d.cancel == ["pay_by"]
    assert d.ledger == []
    assert d.effects == {LEAVE_CART}
    assert d.restock == {"of1": 2, "of2": 1}
    assert "no penalty" in d.notifications[0].text


def test_pay_by_passed_refused_while_a_transfer_is_pending(policy: Policy) -> None:
    code = refusal_code(lambda: pay_by_passed(make_order("payment_pending"), PAY_BY, policy))
    assert code == "order_pay_by_passed_not_allowed"


# --- buyer cancel (R3.4) ---------------------------------------------------------------


def test_buyer_cancel_of_an_unpaid_order(policy: Policy) -> None:
    d = buyer_cancel(make_order(), "b1", NOW, policy)
    assert d.subject.state == "cancelled"
    assert d.subject.cancelled_at == NOW
    assert d.cancel == ["pay_by"]
    assert d.ledger == []
    assert d.effects == {LEAVE_CART}
    assert d.restock == {"of1": 2, "of2": 1}


@pytest.mark.parametrize(
    ("state", "code"),
    [
        ("payment_pending", "payment_pending"),
        ("awaiting_shipment", "order_paid"),
        ("partly_shipped", "order_shipped"),
        ("shipped", "order_shipped"),
        ("delivered", "order_shipped"),
        ("completed", "order_shipped"),
        ("closed", "order_shipped"),
        ("cancelled", "order_not_cancellable"),
    ],
)
def test_buyer_cancel_refused_with_the_right_code(policy: Policy, state: str, code: str) -> None:
    assert refusal_code(lambda: buyer_cancel(make_order(state), "b1", NOW, policy)) == code


def test_buyer_cancel_by_another_buyer_is_not_found(policy: Policy) -> None:
    assert refusal_code(lambda: buyer_cancel(make_order(), "b2", NOW, policy)) == "order_not_found"


# --- actions ---------------------------------------------------------------------


def _actions(state: str, role: Actor) -> dict[str, tuple[bool, str | None]]:
    return {a.name: (a.available, a.code) for a in actions_for(make_order(state), role)}


def test_buyer_actions_awaiting_payment() -> None:
    assert _actions("awaiting_payment", Actor.BUYER) == {
        "pay": (True, None),
        "cancel": (True, None),
        "confirm_receipt": (False, "order_not_shipped"),
    }


def test_buyer_actions_payment_pending() -> None:
    assert _actions("payment_pending", Actor.BUYER) == {
        "pay": (False, "payment_pending"),
        "cancel": (False, "payment_pending"),
        "confirm_receipt": (False, "order_not_shipped"),
    }


def test_buyer_actions_awaiting_shipment() -> None:
    assert _actions("awaiting_shipment", Actor.BUYER) == {
        "pay": (False, "order_already_paid"),
        "cancel": (False, "order_paid"),
        "confirm_receipt": (False, "order_not_shipped"),
    }


@pytest.mark.parametrize("state", ["shipped", "delivered"])
def test_buyer_can_confirm_receipt_once_shipped(state: str) -> None:
    assert _actions(state, Actor.BUYER)["confirm_receipt"] == (True, None)
    assert _actions(state, Actor.BUYER)["cancel"] == (False, "order_shipped")


def test_buyer_actions_completed() -> None:
    assert _actions("completed", Actor.BUYER)["confirm_receipt"] == (False, "order_completed")


def test_buyer_actions_cancelled() -> None:
    actions = _actions("cancelled", Actor.BUYER)
    assert actions["pay"] == (False, "order_cancelled")
    assert actions["cancel"] == (False, "order_not_cancellable")


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("awaiting_payment", (False, "order_not_paid")),
        ("payment_pending", (False, "order_not_paid")),
        ("awaiting_shipment", (True, None)),
        ("partly_shipped", (True, None)),
        ("shipped", (False, "order_fully_shipped")),
        ("cancelled", (False, "order_cancelled")),
    ],
)
def test_seller_ship_action(state: str, expected: tuple[bool, str | None]) -> None:
    assert _actions(state, Actor.SELLER) == {"ship": expected}


def test_unavailable_actions_say_why() -> None:
    [ship] = actions_for(make_order("awaiting_payment"), Actor.SELLER)
    assert ship.reason and "not paid" in ship.reason


@pytest.mark.parametrize("role", [Actor.ADMIN, Actor.SYSTEM])
def test_admin_and_system_have_no_order_actions(role: Actor) -> None:
    assert actions_for(make_order(), role) == []


def test_available_actions_match_the_table() -> None:
    for state in ORDER.states:
        for role in (Actor.BUYER, Actor.SELLER):
            for action in actions_for(make_order(state), role):
                assert action.available == (action.code is None)


class _Escrow:
    """Facts with one order's escrow balance."""

    def __init__(self, balance: int) -> None:
        self.balance = balance

    def escrow(self, order_id: str) -> int:
        return self.balance

    def parcels(self, order_id: str) -> list[object]:
        return []


# --- Decision.then ------------------------------------------------------------------


def _event(kind: str) -> Event:
    return Event(kind, Actor.SYSTEM, None, "R0", NOW)


def test_then_keeps_the_later_order_and_concatenates() -> None:
    first_order, later_order = make_order(), make_order("cancelled")
    first = Decision(
        first_order,
        events=[_event("a")],
        cancel=["x"],
        ledger=[ledger.capture("o1", 10, "USD")],
        notifications=[Notification("buyer", "n1", "one")],
        restock={"of1": 1},
    )
    later = Decision(
        later_order,
        events=[_event("b")],
        cancel=["y"],
        ledger=[ledger.capture("o1", 20, "USD")],
        notifications=[Notification("seller", "n2", "two")],
        effects={LEAVE_CART},
        restock={"of1": 2, "of2": 3},
    )
    both = first.then(later)
    assert both.subject is later_order
    assert [e.kind for e in both.events] == ["a", "b"]
    assert both.cancel == ["x", "y"]
    assert [tx.postings[1].amount for tx in both.ledger] == [10, 20]
    assert [n.kind for n in both.notifications] == ["n1", "n2"]
    assert both.effects == {LEAVE_CART}
    assert both.restock == {"of1": 3, "of2": 3}


def test_then_drops_arms_cancelled_by_the_later_decision() -> None:
    first = Decision(make_order(), arm=[ArmDeadline("pay_by", PAY_BY), ArmDeadline("other", PAY_BY)])
    later = Decision(make_order(), cancel=["pay_by"], arm=[ArmDeadline("later", NOW)])
    both = first.then(later)
    assert [a.kind for a in both.arm] == ["other", "later"]
    assert both.cancel == ["pay_by"]


def test_then_keeps_arms_the_later_decision_makes_after_cancelling() -> None:
    first = Decision(make_order(), arm=[ArmDeadline("pay_by", NOW)])
    later = Decision(make_order(), cancel=["pay_by"], arm=[ArmDeadline("pay_by", PAY_BY)])
    assert first.then(later).arm == [ArmDeadline("pay_by", PAY_BY)]


def test_then_on_real_decisions_place_then_pay(policy: Policy) -> None:
    placed = place(make_order(), NOW, policy)
    started = payment_started(placed.subject, "b1", "card", NOW, policy)
    both = placed.then(started).then(payment_captured(started.subject, NOW, policy))
    assert [a.kind for a in both.arm] == ["ship_by"]  # pay-by was armed, then cancelled by paying
    assert both.subject.state == "awaiting_shipment"
    assert [e.kind for e in both.events] == ["placed", "payment_started", "payment_captured"]


def test_changed_is_whether_anything_happened() -> None:
    assert Decision(make_order()).changed is False
    assert Decision(make_order(), events=[_event("a")]).changed is True


# --- after shipment --------------------------------------------------------------------


def test_entering_shipped_arms_protection_end_and_reminder(policy: Policy) -> None:
    ends = NOW + timedelta(days=20)
    order = make_order("awaiting_shipment")
    parcel = {"carrier": "postal", "tracking_code": "RA473124829GB"}
    d = transition(order, "shipped_fully", Actor.SELLER, None, NOW, policy, parcel, protection_ends_at=ends)
    assert d.arm == [
        ArmDeadline("protection_end", ends),
        ArmDeadline("protection_reminder", ends - timedelta(days=3)),
    ]


def test_a_reminder_already_past_is_not_armed(policy: Policy) -> None:
    ends = NOW + timedelta(days=2)
    order = make_order("awaiting_shipment")
    parcel = {"carrier": "postal", "tracking_code": "RA473124829GB"}
    d = transition(order, "shipped_fully", Actor.SELLER, None, NOW, policy, parcel, protection_ends_at=ends)
    assert d.arm == [ArmDeadline("protection_end", ends)]


def test_protection_reminder_tells_the_buyer_when_protection_ends(policy: Policy) -> None:
    order = shipped_order(ends_in_days=3)
    d = protection_reminder(order, NOW, policy)
    [n] = d.notifications
    assert (n.recipient, n.kind) == ("buyer", "protection_ending")
    assert n.text == (
        "Buyer protection for order o1 ends 2026-01-08 09:00 UTC: confirm receipt "
        "if all is well, or open a dispute before then."
    )


def test_protection_reminder_changes_neither_state_nor_deadlines(policy: Policy) -> None:
    d = protection_reminder(shipped_order(), NOW, policy)
    assert d.subject.state == "shipped"
    assert d.cancel == [] and d.arm == []


def test_confirm_receipt_completes_and_opens_the_dispute_window(policy: Policy) -> None:
    d = confirm_receipt(shipped_order(), "b1", NOW, policy)
    window_end = NOW + timedelta(days=15)
    assert d.subject.state == "completed"
    assert d.subject.completed_at == NOW
    assert d.subject.dispute_window_ends_at == window_end
    assert d.cancel == ["protection_end", "protection_reminder"]
    assert d.arm == [ArmDeadline("dispute_window_end", window_end)]


@pytest.mark.parametrize(
    ("state", "code"),
    [("awaiting_shipment", "order_not_shipped"), ("completed", "order_completed")],
)
def test_confirm_receipt_refused(policy: Policy, state: str, code: str) -> None:
    assert refusal_code(lambda: confirm_receipt(make_order(state), "b1", NOW, policy)) == code


def test_protection_ended_completes_by_itself(policy: Policy) -> None:
    d = protection_ended(shipped_order(), NOW, policy)
    assert d.subject.state == "completed"
    assert d.events[0].actor is Actor.SYSTEM


def _completed() -> Order:
    return make_order("completed", completed_at=NOW, dispute_window_ends_at=NOW)


@pytest.mark.parametrize(
    ("escrow_balance", "commission"),
    [(10_000, 500), (1_010, 51), (1_009, 50), (10, 1), (9, 0), (3_299, 165)],
)
def test_dispute_window_ended_commission_is_5_percent_half_up(
    policy: Policy, escrow_balance: int, commission: int
) -> None:
    d = dispute_window_ended(_completed(), NOW, policy, _Escrow(escrow_balance))
    assert d.events[0].data == {"released": escrow_balance - commission, "commission": commission}


def test_dispute_window_ended_releases_escrow_balanced(policy: Policy) -> None:
    d = dispute_window_ended(_completed(), NOW, policy, _Escrow(1_010))
    assert d.subject.state == "closed"
    assert d.subject.closed_at == NOW
    [tx] = d.ledger
    assert tx.kind == "release"
    assert imbalance(tx.postings) == {}
    assert set(tx.postings) == {
        Posting(ESCROW, -1_010, "USD"),
        Posting("seller:s1:payable", 959, "USD"),
        Posting(ledger.PLATFORM_COMMISSION, 51, "USD"),
    }
    assert d.cancel == ["dispute_window_end"]
    assert "9.59 USD" in d.notifications[0].text


def test_dispute_window_ended_with_empty_escrow_posts_nothing(policy: Policy) -> None:
    d = dispute_window_ended(_completed(), NOW, policy, _Escrow(0))
    assert d.subject.state == "closed"
    assert d.ledger == []


def test_escrow_is_zero_after_capture_and_release(policy: Policy) -> None:
    paid = payment_captured(make_order("payment_pending"), NOW, policy)
    closed = dispute_window_ended(_completed(), NOW, policy, _Escrow(paid.subject.total.minor))
    postings = [p for d in (paid, closed) for tx in d.ledger for p in tx.postings]
    assert sum(p.amount for p in postings if p.account == ESCROW) == 0
