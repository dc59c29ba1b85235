"""A proposal's small lifecycle: open until the other party answers it, its author replaces it, or
the dispute ends otherwise. Its acts are entailed by the dispute's (whose table checks who acts)."""

from __future__ import annotations

from enum import StrEnum

from orderguard.domain.machine import Actor, Machine, T

SYS = Actor.SYSTEM


class ProposalState(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"  # its author proposed again
    LAPSED = "lapsed"  # the dispute ended another way


PROPOSAL = Machine(
    "dispute_proposal",
    (
        T(ProposalState.OPEN, "accepted", ProposalState.ACCEPTED, SYS, "R7.2"),
        T(ProposalState.OPEN, "rejected", ProposalState.REJECTED, SYS, "R7.2"),
        T(ProposalState.OPEN, "superseded", ProposalState.SUPERSEDED, SYS, "R7.2"),
        T(ProposalState.OPEN, "lapsed", ProposalState.LAPSED, SYS, "R7.2"),
    ),
    terminal=frozenset(
        {ProposalState.ACCEPTED, ProposalState.REJECTED, ProposalState.SUPERSEDED, ProposalState.LAPSED}
    ),
)
