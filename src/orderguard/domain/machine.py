"""Lifecycles as data: transition tables read by the commands, actions, firing and diagrams.

A `Machine` is a list of transitions (state, event) -> next state, each with
the actor allowed to cause it and the rule that allows it. A transition the
system takes by itself when time runs out carries its `Timer`: when it falls
due (a time field of the subject, shifted by a policy duration), who must act
before then, and what happens on expiry, in words. Everything about deadlines
is derived from those declarations: the deadline rows armed on entering a
state and cancelled on leaving it, their `due_at`, the transition a firing
takes (`timed`), the `deadlines` shown to people, and the timed edges of the
diagram. No status string is set anywhere else than through `Machine.step`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal, Protocol

from orderguard.domain.policy import Policy


class Actor(StrEnum):
    BUYER = "buyer"
    SELLER = "seller"
    ADMIN = "admin"
    SYSTEM = "system"


def policy_number(policy: Policy, path: str) -> int | float:
    """The number at a dotted path of the policy (`"shipping.protection_reminder_days"`)."""
    value: Any = policy
    for part in path.split("."):
        value = getattr(value, part)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TypeError(f"policy {path} is not a number")
    return value


def _policy_fields(policy: Policy) -> dict[str, Any]:
    return {name: getattr(policy, name) for name in type(policy).model_fields}


@dataclass(frozen=True, slots=True)
class Due:
    """When a timer falls due: the subject's time `field`, shifted by the policy duration at `policy`.

    `since` says in words what the field holds ("completion", "the transfer started"); it may
    name policy values (`{checkout.unpaid_expiry_days}`). With no `policy` the field is the due
    time itself, and `since` says how it was set.
    """

    field: str
    since: str
    policy: str | None = None
    unit: Literal["days", "hours", "seconds"] = "days"
    before: bool = False

    def at(self, subject: object, policy: Policy) -> datetime | None:
        base = getattr(subject, self.field)
        if base is None:
            return None
        assert isinstance(base, datetime)
        if self.policy is None:
            return base
        shift = timedelta(**{self.unit: policy_number(policy, self.policy)})
        return base - shift if self.before else base + shift

    def describe(self, policy: Policy) -> str:
        since = self.since.format(**_policy_fields(policy))
        if self.policy is None:
            return since
        n = policy_number(policy, self.policy)
        unit = self.unit if n != 1 else self.unit.removesuffix("s")
        return f"{n:g} {unit} {'before' if self.before else 'after'} {since}"


@dataclass(frozen=True, slots=True)
class Timer:
    """A deadline on a timed transition: due when, who must act before, what expiry does."""

    kind: str  # the deadline rows' kind
    due: Due
    must_act: Actor | None  # who can still act before it fires (None: nobody, it is a wait)
    action_needed: str
    consequence: str
    only_ahead: bool = False  # not armed when already past on entering the state (reminders)
    repeats: bool = False  # on a self-loop: armed again after it fires (retries)


class Facts(Protocol):
    """What a firing may need beyond its subject, loaded by app/ once per batch."""

    def escrow(self, order_id: str) -> int: ...

    def order(self, order_id: str) -> Any:
        """The order, as it stands in this batch (locked)."""
        ...

    def shipped(self, order_id: str) -> dict[str, int]:
        """Quantity shipped so far per line of the order."""
        ...

    def captured_payment(self, order_id: str) -> Any:
        """The order's captured payment (None if it has none): where its refunds go (R3.6)."""
        ...

    def open_requests(self, order_id: str) -> list[Any]:
        """The order's open cancellation requests, as they stand in this batch."""
        ...

    def open_disputes(self, order_id: str) -> list[Any]:
        """The order's open disputes, as they stand in this batch."""
        ...

    def open_proposals(self, dispute_id: str) -> list[Any]:
        """The dispute's open proposals, oldest first, as they stand in this batch."""
        ...

    def parcels(self, order_id: str) -> list[Any]:
        """The order's shipments, as they stand in this batch (R6.6: is one at a pickup point, or
        on its way back?)."""
        ...


# what the system does when a timer runs out: (subject, now, policy, facts) -> a Decision
TimerHandler = Callable[[Any, datetime, Policy, Facts], Any]


@dataclass(frozen=True, slots=True)
class ArmDeadline:
    kind: str
    due_at: datetime


@dataclass(frozen=True, slots=True)
class T:
    """One transition: `event` moves `source` to `target`; `by` may cause it under `rule`.

    With a `timer`, the system takes it by itself when the timer runs out.
    """

    source: str
    event: str
    target: str
    by: Actor
    rule: str
    timer: Timer | None = None


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a command cannot be done now; becomes problem+json with `code`."""

    code: str
    detail: str
    status: int = 409


def one_of(values: Iterable[str]) -> str:
    """`a, b or c`: a list of choices as a refusal's detail says it (never a Python list or tuple)."""
    items = list(values)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


class Refused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.detail)
        self.refusal = refusal


@dataclass(frozen=True)
class Machine:
    name: str
    transitions: tuple[T, ...]
    terminal: frozenset[str] = field(default_factory=frozenset)
    # derived from the timers: state -> the deadline kinds alive while the subject is in it
    state_deadlines: dict[str, tuple[str, ...]] = field(init=False)
    timers: dict[str, Timer] = field(init=False)
    handlers: dict[str, TimerHandler] = field(init=False)  # timed event -> what it does
    timer_rules: dict[str, str] = field(init=False)  # deadline kind -> the rule of its transition
    # the table indexed, for `find` and `timed` (every command and firing looks a transition up)
    by_event: dict[tuple[str, str], T] = field(init=False, repr=False)  # (source, event) ->
    by_timer: dict[tuple[str, str], T] = field(init=False, repr=False)  # (source, deadline kind) ->

    def __post_init__(self) -> None:
        seen: set[tuple[str, str]] = set()
        alive: dict[str, list[str]] = {}
        timers: dict[str, Timer] = {}
        rules: dict[str, str] = {}
        for t in self.transitions:
            if (t.source, t.event) in seen:
                raise ValueError(f"{self.name}: two transitions for {t.source} --{t.event}-->")
            seen.add((t.source, t.event))
            if t.timer is None:
                continue
            if t.by is not Actor.SYSTEM:
                raise ValueError(f"{self.name}: timed transition {t.event} must be the system's")
            if t.timer.repeats and t.source != t.target:
                raise ValueError(f"{self.name}: only a self-loop can repeat ({t.event})")
            if timers.setdefault(t.timer.kind, t.timer) != t.timer:
                raise ValueError(f"{self.name}: two timers named {t.timer.kind}")
            if t.timer.kind in alive.setdefault(t.source, []):
                raise ValueError(f"{self.name}: {t.source} has two transitions timed by {t.timer.kind}")
            alive[t.source].append(t.timer.kind)
            rules.setdefault(t.timer.kind, t.rule)
        object.__setattr__(self, "state_deadlines", {s: tuple(sorted(k)) for s, k in alive.items()})
        object.__setattr__(self, "timers", timers)
        object.__setattr__(self, "handlers", {})
        object.__setattr__(self, "timer_rules", rules)
        object.__setattr__(self, "by_event", {(t.source, t.event): t for t in self.transitions})
        timed = {(t.source, t.timer.kind): t for t in self.transitions if t.timer is not None}
        object.__setattr__(self, "by_timer", timed)

    def on_expiry(self, event: str) -> Callable[[TimerHandler], TimerHandler]:
        """Register the command the system runs when a timer sending `event` runs out."""
        if not any(t.event == event and t.timer for t in self.transitions):
            raise ValueError(f"{self.name}: no timed transition sends {event}")

        def register(handler: TimerHandler) -> TimerHandler:
            self.handlers[event] = handler
            return handler

        return register

    def fire(self, subject: Any, kind: str, now: datetime, policy: Policy, facts: Facts) -> Any:
        """The decision of the deadline `kind` running out on `subject`; None when it is stale."""
        t = self.timed(subject.state, kind)
        return None if t is None else self.handlers[t.event](subject, now, policy, facts)

    @property
    def initial(self) -> str:
        """Where every subject starts: the source of the table's first transition."""
        return self.transitions[0].source

    @property
    def states(self) -> list[str]:
        ordered: dict[str, None] = {}
        for t in self.transitions:
            ordered.setdefault(t.source)
            ordered.setdefault(t.target)
        return list(ordered)

    def find(self, state: str, event: str) -> T | None:
        return self.by_event.get((state, event))

    def events_from(self, state: str) -> Iterable[T]:
        return (t for t in self.transitions if t.source == state)

    def step(self, state: str, event: str, by: Actor) -> T:
        """The transition `by` may take from `state` on `event`, or a refusal."""
        t = self.find(state, event)
        if t is None:
            raise Refused(
                Refusal(
                    f"{self.name}_{event}_not_allowed",
                    f"a {self.name} that is {state} cannot take '{event}'",
                )
            )
        if t.by is not by:
            raise Refused(Refusal("forbidden_actor", f"only the {t.by} may {event}", 403))
        return t

    def deadline_changes(self, before: str, after: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(kinds to cancel, kinds to arm) when moving from `before` to `after`."""
        if before == after:
            return (), ()
        return self.state_deadlines.get(before, ()), self.state_deadlines.get(after, ())

    def rearm(
        self,
        before: str,
        subject: Any,
        now: datetime,
        policy: Policy,
        taken: T | None = None,
        previous: Any = None,
    ) -> tuple[list[str], list[ArmDeadline]]:
        """The deadlines to cancel and to arm as `subject` (already moved) leaves `before`.

        A timed self-loop (`taken`) whose timer `repeats` (a retry) arms it again, due from the
        subject's new field values; the deadline that fired it is settled already. On any other
        self-loop, a timer follows its field (`previous` is the subject before the step): one
        whose due time changed is cancelled and armed again, one whose field was cleared (a
        seller's first answer) is cancelled, one whose field was set (a return delivered) is armed.
        """
        cancel, kinds = self.deadline_changes(before, subject.state)
        if taken is not None and taken.timer is not None and taken.timer.repeats:
            cancel, kinds = (), (taken.timer.kind,)
        elif before == subject.state and previous is not None:
            moved = [
                kind
                for kind in self.state_deadlines.get(before, ())
                if self.timers[kind].due.at(previous, policy) != self.timers[kind].due.at(subject, policy)
                and not (taken is not None and taken.timer is not None and taken.timer.kind == kind)
            ]
            cancel, kinds = tuple(moved), tuple(moved)
        arm = []
        for kind in kinds:
            timer = self.timers[kind]
            due = timer.due.at(subject, policy)
            if due is not None and not (timer.only_ahead and due <= now):
                arm.append(ArmDeadline(kind, due))
        return list(cancel), arm

    def timed(self, state: str, kind: str) -> T | None:
        """The transition the deadline `kind` takes from `state` (None: stale, the subject moved on)."""
        return self.by_timer.get((state, kind))

    def mermaid(self, policy: Policy | None = None) -> str:
        """The diagram; with a policy, timed edges say when they fall due."""
        lines = [
            "stateDiagram-v2",
            f"    %% {self.name} lifecycle, drawn from its transition table",
            f"    [*] --> {self.initial}",
        ]
        for t in self.transitions:
            if t.source == t.target and t.timer is None:
                continue  # an untimed self-loop changes nothing worth drawing
            when = f": {t.timer.due.describe(policy)}" if t.timer and policy else ""
            lines.append(f"    {t.source} --> {t.target}: {t.event}{when} ({t.by}, {t.rule})")
        for state in sorted(self.terminal):
            lines.append(f"    {state} --> [*]")
        return "\n".join(lines)
