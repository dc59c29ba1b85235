"""Lifecycles as data: transition tables read by decide(), actions and diagrams.

A `Machine` is a list of transitions (state, event) -> next state, each with
the actor allowed to cause it and the SPEC rule that allows it, plus the
deadlines that live while the subject is in a state: entering a state arms
its deadlines, leaving it cancels them. No status string is set anywhere
else than through `Machine.step`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum


class Actor(StrEnum):
    BUYER = "buyer"
    SELLER = "seller"
    ADMIN = "admin"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class T:
    """One transition: `event` moves `source` to `target`; `by` may cause it under `rule`."""

    source: str
    event: str
    target: str
    by: Actor
    rule: str


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a command cannot be done now; becomes problem+json with `code`."""

    code: str
    detail: str
    status: int = 409


class Refused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.detail)
        self.refusal = refusal


@dataclass(frozen=True)
class Machine:
    name: str
    transitions: tuple[T, ...]
    terminal: frozenset[str] = field(default_factory=frozenset)
    # state -> deadline kinds alive while the subject is in that state
    state_deadlines: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        seen: set[tuple[str, str]] = set()
        for t in self.transitions:
            if (t.source, t.event) in seen:
                raise ValueError(f"{self.name}: two transitions for {t.source} --{t.event}-->")
            seen.add((t.source, t.event))

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
        for t in self.transitions:
            if t.source == state and t.event == event:
                return t
        return None

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
        old = self.state_deadlines.get(before, ())
        new = self.state_deadlines.get(after, ())
        return tuple(k for k in old), tuple(k for k in new)

    def mermaid(self) -> str:
        lines = [
            "stateDiagram-v2",
            f"    %% {self.name} lifecycle, drawn from its transition table",
            f"    [*] --> {self.initial}",
        ]
        for t in self.transitions:
            if t.source == t.target:
                continue
            lines.append(f"    {t.source} --> {t.target}: {t.event} ({t.by}, {t.rule})")
        for state in sorted(self.terminal):
            lines.append(f"    {state} --> [*]")
        return "\n".join(lines)
