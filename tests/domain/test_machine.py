"""Lifecycles as data: the ORDER and PAYMENT transition tables and Machine behaviour."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from orderguard.domain.machine import Actor, Due, Machine, Refused, T, Timer
from orderguard.domain.orders import ORDER
from orderguard.domain.payments import PAYMENT
from orderguard.domain.policy import Policy

MACHINES = {"order": (ORDER, "awaiting_payment"), "payment": (PAYMENT, "initiated")}


def _reachable(machine: Machine, start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        state = todo.pop()
        for t in machine.events_from(state):
            if t.target not in seen:
                seen.add(t.target)
                todo.append(t.target)
    return seen


@pytest.fixture(params=list(MACHINES), ids=list(MACHINES))
def machine_and_start(request: pytest.FixtureRequest) -> tuple[Machine, str]:
    return MACHINES[request.param]


# --- the tables ----------------------------------------------------------------


def test_tables_have_no_duplicate_state_event(machine_and_start: tuple[Machine, str]) -> None:
    machine, _ = machine_and_start
    counts = Counter((t.source, t.event) for t in machine.transitions)
    assert [pair for pair, n in counts.items() if n > 1] == []


def test_every_state_is_reachable_from_the_start(machine_and_start: tuple[Machine, str]) -> None:
    machine, start = machine_and_start
    assert set(machine.states) - _reachable(machine, start) == set()


def test_terminal_states_have_no_outgoing_transitions(machine_and_start: tuple[Machine, str]) -> None:
    machine, _ = machine_and_start
    assert machine.terminal
    for state in machine.terminal:
        assert list(machine.events_from(state)) == []


def test_every_non_terminal_state_has_a_way_out(machine_and_start: tuple[Machine, str]) -> None:
    machine, _ = machine_and_start
    for state in set(machine.states) - machine.terminal:
        assert any(t.target != state for t in machine.events_from(state)), state


def test_terminal_states_are_states_of_the_table(machine_and_start: tuple[Machine, str]) -> None:
    machine, _ = machine_and_start
    assert machine.terminal <= set(machine.states)


def test_deadline_states_are_states_of_the_table(machine_and_start: tuple[Machine, str]) -> None:
    machine, _ = machine_and_start
    assert set(machine.state_deadlines) <= set(machine.states)


def test_terminal_states_arm_no_deadlines(machine_and_start: tuple[Machine, str]) -> None:
    machine, _ = machine_and_start
    assert all(not machine.state_deadlines.get(s) for s in machine.terminal)


def test_every_transition_names_a_spec_rule(machine_and_start: tuple[Machine, str]) -> None:
    machine, _ = machine_and_start
    assert all(t.rule.startswith("R") for t in machine.transitions)


def test_order_terminal_states() -> None:
    assert frozenset({"cancelled", "closed", "returned"}) == ORDER.terminal


def test_payment_reports_come_only_from_the_system() -> None:
    assert {t.by for t in PAYMENT.transitions} == {Actor.SYSTEM}


def test_a_pending_payment_can_neither_be_cancelled_nor_expire() -> None:
    events = {t.event for t in ORDER.events_from("payment_pending")}
    assert "buyer_cancelled" not in events
    assert "pay_by_passed" not in events
    assert "payment_pending" not in ORDER.state_deadlines


def test_machine_with_duplicate_state_event_is_refused() -> None:
    with pytest.raises(ValueError, match="two transitions"):
        Machine("m", (T("a", "go", "b", Actor.BUYER, "R1"), T("a", "go", "c", Actor.BUYER, "R1")))


# --- step ---------------------------------------------------------------------


def test_step_returns_the_transition() -> None:
    t = ORDER.step("awaiting_payment", "payment_started", Actor.BUYER)
    assert t.target == "payment_pending"
    assert t.rule == "R3.5"


def test_step_refuses_the_wrong_actor_with_403() -> None:
    with pytest.raises(Refused) as e:
        ORDER.step("awaiting_payment", "pay_by_passed", Actor.BUYER)
    assert e.value.refusal.code == "forbidden_actor"
    assert e.value.refusal.status == 403


def test_step_refuses_a_seller_confirming_receipt() -> None:
    with pytest.raises(Refused) as e:
        ORDER.step("shipped", "receipt_confirmed", Actor.SELLER)
    assert e.value.refusal.status == 403


def test_step_refuses_an_unknown_transition_with_409() -> None:
    with pytest.raises(Refused) as e:
        ORDER.step("cancelled", "payment_started", Actor.BUYER)
    assert e.value.refusal.code == "order_payment_started_not_allowed"
    assert e.value.refusal.status == 409


def test_payment_step_refuses_a_settled_payment() -> None:
    with pytest.raises(Refused) as e:
        PAYMENT.step("captured", "failed", Actor.SYSTEM)
    assert e.value.refusal.code == "payment_failed_not_allowed"
    assert e.value.refusal.status == 409


def test_find_returns_none_for_an_unknown_pair() -> None:
    assert ORDER.find("closed", "receipt_confirmed") is None


# --- deadline changes ---------------------------------------------------------------


def test_deadline_changes_leaving_awaiting_payment_cancels_pay_by() -> None:
    assert ORDER.deadline_changes("awaiting_payment", "awaiting_shipment") == (("pay_by",), ("ship_by",))


def test_deadline_changes_entering_awaiting_payment_arms_pay_by() -> None:
    assert ORDER.deadline_changes("payment_pending", "awaiting_payment") == ((), ("pay_by",))


def test_deadline_changes_shipped_to_completed() -> None:
    assert ORDER.deadline_changes("shipped", "completed") == (
        ("protection_end", "protection_reminder"),
        ("dispute_window_end",),
    )


def test_deadline_changes_on_a_self_transition_is_nothing() -> None:
    assert ORDER.deadline_changes("shipped", "shipped") == ((), ())


def test_deadline_changes_between_states_without_deadlines_is_nothing() -> None:
    assert ORDER.deadline_changes("closed", "cancelled") == ((), ())


def test_a_deadline_alive_in_both_states_is_armed_again_from_the_new_fields() -> None:
    assert ORDER.deadline_changes("shipped", "delivered") == (
        ("protection_end", "protection_reminder"),
        ("protection_end", "protection_reminder"),
    )


def test_payment_deadline_changes_on_settlement() -> None:
    assert PAYMENT.deadline_changes("pending", "captured") == (("transfer_credit_by",), ())


# --- mermaid ----------------------------------------------------------------------


def test_mermaid_lists_every_non_self_transition(machine_and_start: tuple[Machine, str]) -> None:
    machine, _ = machine_and_start
    text = machine.mermaid()
    assert text.startswith("stateDiagram-v2")
    for t in machine.transitions:
        line = f"    {t.source} --> {t.target}: {t.event} ({t.by}, {t.rule})"
        if t.source == t.target and t.timer is None:
            assert line not in text
        else:
            assert line in text.splitlines()


def test_mermaid_marks_terminal_states(machine_and_start: tuple[Machine, str]) -> None:
    machine, _ = machine_and_start
    lines = machine.mermaid().splitlines()
    for state in machine.terminal:
        assert f"    {state} --> [*]" in lines


def test_mermaid_has_one_arrow_per_transition_but_untimed_self_loops() -> None:
    arrows = [line for line in ORDER.mermaid().splitlines() if "-->" in line and "[*]" not in line]
    drawn = [t for t in ORDER.transitions if t.source != t.target or t.timer is not None]
    assert len(arrows) == len(drawn)


def test_mermaid_marks_the_initial_state() -> None:
    assert "    [*] --> awaiting_payment" in ORDER.mermaid().splitlines()
    assert "    [*] --> initiated" in PAYMENT.mermaid().splitlines()


# --- timers: declared once on the transitions, everything else derived ----------------------


def test_the_deadlines_alive_in_each_state_come_from_the_timers() -> None:
    assert ORDER.state_deadlines == {
        "awaiting_payment": ("pay_by",),
        "awaiting_shipment": ("ship_by",),
        "partly_shipped": ("ship_by",),
        "shipped": ("protection_end", "protection_reminder"),
        "delivered": ("protection_end", "protection_reminder"),
        "completed": ("dispute_window_end",),
    }
    assert PAYMENT.state_deadlines == {"initiated": ("provider_retry",), "pending": ("transfer_credit_by",)}


def test_every_timed_transition_has_its_expiry_command(machine_and_start: tuple[Machine, str]) -> None:
    machine, _ = machine_and_start
    assert {t.event for t in machine.transitions if t.timer} == set(machine.handlers)


def test_a_timed_self_loop_arms_its_timer_again_from_the_new_field_values(policy: Policy) -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    retry = PAYMENT.find("initiated", "provider_retried")
    retried = SimpleNamespace(state="initiated", attempted_at=at)
    cancel, arm = PAYMENT.rearm("initiated", retried, at, policy, retry)
    assert cancel == []
    assert [(a.kind, a.due_at) for a in arm] == [("provider_retry", at + timedelta(seconds=60))]


def test_a_timer_says_when_it_falls_due_in_policy_units(policy: Policy) -> None:
    assert ORDER.timers["pay_by"].due.describe(policy) == "20 days after the last cart addition"
    assert ORDER.timers["protection_reminder"].due.describe(policy) == "3 days before buyer protection ends"
    assert ORDER.timers["dispute_window_end"].due.describe(policy) == "15 days after completion"
    assert PAYMENT.timers["transfer_credit_by"].due.describe(policy) == "5 days after the transfer started"


def test_a_timer_computes_its_due_time_from_the_subject_and_the_policy(policy: Policy) -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    completed = SimpleNamespace(completed_at=at)
    assert ORDER.timers["dispute_window_end"].due.at(completed, policy) == at + timedelta(days=15)
    assert ORDER.timers["dispute_window_end"].due.at(SimpleNamespace(completed_at=None), policy) is None


def test_the_diagram_shows_when_timed_edges_fall_due(policy: Policy) -> None:
    lines = ORDER.mermaid(policy).splitlines()
    pay_by = "pay_by_passed: 20 days after the last cart addition (system, R3.3)"
    assert f"    awaiting_payment --> cancelled: {pay_by}" in lines
    assert "    completed --> closed: dispute_window_ended: 15 days after completion (system, R6.5)" in lines


def test_a_firing_of_a_deadline_the_subject_has_left_behind_is_stale(policy: Policy) -> None:
    paid = SimpleNamespace(state="awaiting_shipment")
    assert ORDER.fire(paid, "pay_by", datetime(2026, 3, 1, tzinfo=UTC), policy, None) is None  # type: ignore[arg-type]


def test_a_timer_only_the_system_may_take() -> None:
    timer = Timer("soon", Due("at", "then"), Actor.BUYER, "act", "it ends")
    with pytest.raises(ValueError, match="must be the system's"):
        Machine("m", (T("a", "go", "b", Actor.BUYER, "R1", timer),))


def test_two_different_timers_of_one_kind_are_refused() -> None:
    first = Timer("soon", Due("at", "then"), None, "act", "it ends")
    second = Timer("soon", Due("at", "later"), None, "act", "it ends")
    with pytest.raises(ValueError, match="two timers"):
        Machine(
            "m",
            (T("a", "go", "b", Actor.SYSTEM, "R1", first), T("b", "go", "c", Actor.SYSTEM, "R1", second)),
        )
