"""What a command or a firing decides about one subject of a lifecycle, before anything is written.

A `Decision` is the whole outcome: the subject in its new state, the events that happened (the
audit trail and timeline), the deadline kinds to cancel and the deadlines to arm (derived from
the lifecycle's timers), ledger transactions, notifications, and named `effects` on other rows
that the subject's repository carries out in the same transaction (an order's `restock`). `app/`
writes every decision, of any lifecycle, through one `save_decisions` path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from orderguard.domain.ledger import LedgerTransaction
from orderguard.domain.machine import Actor, ArmDeadline

S = TypeVar("S")


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


@dataclass
class Decision(Generic[S]):
    subject: S
    events: list[Event] = field(default_factory=list)
    cancel: list[str] = field(default_factory=list)  # deadline kinds of this subject
    arm: list[ArmDeadline] = field(default_factory=list)
    ledger: list[LedgerTransaction] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    effects: set[str] = field(default_factory=set)

    @property
    def changed(self) -> bool:
        return bool(self.events)

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
        )
