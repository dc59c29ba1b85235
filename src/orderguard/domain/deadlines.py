"""Kinds of deadline: when each falls due, who must act, what happens on expiry.

Deadlines are rows (subject, kind, due_at, state); the scheduler fires each
exactly once by sending `fires` to the subject's machine. The consequence
text is shown to people with the deadline, so every deadline says what it
will do ("deadlines that state their consequence").
"""

from __future__ import annotations

from dataclasses import dataclass

from orderguard.domain.machine import Actor


@dataclass(frozen=True, slots=True)
class DeadlineKind:
    kind: str
    subject: str  # "order" | "payment" | "shipment" ...
    fires: str  # the event sent to the subject's machine
    must_act: Actor | None  # who can still act before it fires (None: nobody, it is a timer)
    action_needed: str
    consequence: str
    rule: str


KINDS: dict[str, DeadlineKind] = {
    k.kind: k
    for k in (
        DeadlineKind(
            "pay_by",
            "order",
            "pay_by_passed",
            Actor.BUYER,
            "pay the order",
            "the unpaid order is cancelled and its goods leave the cart; the buyer is not penalised",
            "R3.3",
        ),
        DeadlineKind(
            "transfer_credit_by",
            "payment",
            "transfer_expired",
            None,
            "the bank must credit the transfer",
            "the transfer fails; the order returns to awaiting payment, "
            "or is cancelled if its pay-by time has passed",
            "R3.5",
        ),
        DeadlineKind(
            "protection_reminder",
            "order",
            "protection_reminder",
            Actor.BUYER,
            "confirm receipt or open a dispute",
            "the buyer is reminded that buyer protection ends soon",
            "R8.5",
        ),
        DeadlineKind(
            "protection_end",
            "order",
            "protection_ended",
            Actor.BUYER,
            "confirm receipt or open a dispute",
            "buyer protection ends and the order completes by itself",
            "R6.4",
        ),
        DeadlineKind(
            "dispute_window_end",
            "order",
            "dispute_window_ended",
            Actor.BUYER,
            "open a dispute if something is wrong",
            "the order closes: no dispute can be opened any more and the escrow is released "
            "to the seller, less the platform commission",
            "R6.5",
        ),
    )
}


def kind(name: str) -> DeadlineKind:
    return KINDS[name]
