"""What a command or a firing decides about one subject of a lifecycle, before anything is written.

A `Decision` is the whole outcome: the subject in its new state (`new` when it is to be created),
the events that happened (the audit trail and timeline), the deadline kinds to cancel and the
deadlines to arm (derived from the lifecycle's timers), ledger transactions, notifications,
named `effects` on other rows that the subject's repository carries out in the same transaction
(an order's goods leaving the cart), stock going back to offers (`restock`), the decisions it
entails on other subjects (`also`: a payment captured moves its order), and `after_commit`:
calls to the outside world (a payment provider) that `app/` makes only once the transaction has
committed. Every decision, of any lifecycle, is written through one `save_decisions` path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from orderguard.domain.frozen import constructor, evolve
from orderguard.domain.ledger import LedgerTransaction
from orderguard.domain.machine import Actor, ArmDeadline, Machine
from orderguard.domain.policy import Policy


class Subject(Protocol):
    """What every lifecycle's subject has: the lifecycle it follows, an id, its order and a state."""

    lifecycle: ClassVar[str]

    @property
    def id(self) -> str: ...

    @property
    def order_id(self) -> str: ...

    @property
    def state(self) -> str: ...


S = TypeVar("S", bound=Subject)


@dataclass(frozen=True, slots=True)
class Event:
    kind: str
    actor: Actor
    actor_id: str | None
    rule: str
    at: datetime
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Notification:
    recipient: str  # "buyer" | "seller": resolved to accounts by app/
    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class AfterCommit:
    """A call to the outside world, made after the transaction commits: `action` on `subject_id`."""

    action: str
    subject_id: str


@dataclass
class Decision(Generic[S]):
    subject: S
    events: list[Event] = field(default_factory=list)
    cancel: list[str] = field(default_factory=list)  # deadline kinds of this subject
    arm: list[ArmDeadline] = field(default_factory=list)
    ledger: list[LedgerTransaction] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    effects: set[str] = field(default_factory=set)
    restock: dict[str, int] = field(default_factory=dict)  # offer id -> quantity back in stock
    new: bool = False
    also: list[Decision[Any]] = field(default_factory=list)
    after_commit: list[AfterCommit] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.new or bool(self.events)

    def flatten(self) -> list[Decision[Any]]:
        """This decision and every one it entails."""
        return [self, *(d for entailed in self.also for d in entailed.flatten())]

    def then(self, later: Decision[S]) -> Decision[S]:
        """This decision followed by `later` on the same subject, as one set of changes."""
        return Decision(
            later.subject,
            events=self.events + later.events,
            cancel=self.cancel + later.cancel,
            arm=[a for a in self.arm if a.kind not in later.cancel] + later.arm,
            ledger=self.ledger + later.ledger,
            notifications=self.notifications + later.notifications,
            effects=self.effects | later.effects,
            restock={
                k: self.restock.get(k, 0) + later.restock.get(k, 0) for k in self.restock | later.restock
            },
            new=self.new,
            also=self.also + later.also,
            after_commit=self.after_commit + later.after_commit,
        )


_event = constructor(Event)  # every transition records one: Event's own __init__ costs twice as much


def take(
    machine: Machine,
    subject: S,
    event: str,
    by: Actor,
    actor_id: str | None,
    now: datetime,
    policy: Policy,
    data: dict[str, Any] | None = None,
    notices: Callable[[S, Event], list[Notification]] | None = None,
    **changes: Any,
) -> Decision[S]:
    """`by` takes `event` through `machine`'s table: the subject moved (with field `changes`), the event
    recorded, its deadlines re-armed as the timers declare, and the `notices` it sends."""
    t = machine.step(subject.state, event, by)
    after: S = evolve(subject, state=t.target, **changes)
    happened = _event(event, by, actor_id, t.rule, now, data or {})
    cancel, arm = machine.rearm(subject.state, after, now, policy, t, previous=subject)
    told = notices(after, happened) if notices else []
    return Decision(after, [happened], cancel, arm, notifications=told)
