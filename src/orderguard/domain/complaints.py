"""Complaints to the administration (R4.6, R8.2) and the seller's response record shown with them.

A complaint is a record the buyer files; the administration reads them newest first. Today one
kind exists: `no_proof_of_dispatch`, filed once a proof request was missed (one per proof request,
domain/proof_requests.py). It stays `open`; the trust-and-safety work (R8.2) will act on it.

With each complaint the administration sees the store's response record (`SellerRecord`), kept
simple and computed from what is stored:
- cancellation requests: how many the store received, how many its seller `answered` (approved or
  rejected), how many it `missed` (approved by silence after 72 hours), how many are `waiting`, and
  the median and slowest time the seller took to answer, in hours;
- proof requests: how many, how many were provided (`answered`), how many `missed` (a missed
  request stays missed once complained about), how many are `waiting`, and the median and slowest
  time to upload.
Requests the buyer withdrew, or that a missed ship-by time overtook, count in the totals only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from statistics import median
from typing import ClassVar

from orderguard.domain.machine import Refusal, Refused

NO_PROOF_OF_DISPATCH = "no_proof_of_dispatch"
KINDS = (NO_PROOF_OF_DISPATCH,)
MAX_COMPLAINT_CHARS = 2000

# how a cancellation request ended, by the event that ended it
SELLER_ANSWERS = frozenset({"approved", "rejected", "rejected_as_shipped"})
SILENCE = "auto_approved"


@dataclass(frozen=True, slots=True)
class Complaint:
    lifecycle: ClassVar[str] = "complaint"

    id: str
    order_id: str
    buyer_id: str
    store_id: str
    kind: str
    state: str
    message: str
    created_at: datetime
    proof_request_id: str | None = None


@dataclass(frozen=True, slots=True)
class Timing:
    """Counts and times (hours) of one kind of request a seller must answer."""

    total: int
    answered: int  # in time: answered by the seller, or proof provided
    missed: int  # by silence: approved automatically, or proof missed
    waiting: int  # still open
    median_hours: float | None
    slowest_hours: float | None


@dataclass(frozen=True, slots=True)
class SellerRecord:
    store_id: str
    cancellation_requests: Timing
    proof_requests: Timing


def _hours(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds() / 3600, 1)


def timing(rows: Iterable[tuple[datetime, datetime | None, str]]) -> Timing:
    """rows: (asked at, answered at or None, outcome 'answered' | 'missed' | 'waiting' | other)."""
    total = answered = missed = waiting = 0
    hours: list[float] = []
    for asked, done, outcome in rows:
        total += 1
        if outcome == "answered":
            answered += 1
            if done is not None:
                hours.append(_hours(asked, done))
        elif outcome == "missed":
            missed += 1
        elif outcome == "waiting":
            waiting += 1
    return Timing(
        total,
        answered,
        missed,
        waiting,
        round(median(hours), 1) if hours else None,
        max(hours) if hours else None,
    )


def cancellation_outcome(state: str, ended_by: str | None) -> str:
    """How a cancellation request counts: by the event that ended it (None while open)."""
    if state == "open":
        return "waiting"
    if ended_by in SELLER_ANSWERS:
        return "answered"
    if ended_by == SILENCE:
        return "missed"
    return "other"  # withdrawn by the buyer, overtaken by a missed ship-by time


def proof_outcome(state: str) -> str:
    return {"requested": "waiting", "provided": "answered", "missed": "missed", "complained": "missed"}.get(
        state, "other"
    )


def check_message(text: str) -> str:
    """The complaint's words, trimmed; at most MAX_COMPLAINT_CHARS as sent, not only white space."""
    if len(text) > MAX_COMPLAINT_CHARS:
        raise Refused(
            Refusal("complaint_too_long", f"a complaint holds at most {MAX_COMPLAINT_CHARS} characters", 422)
        )
    body = text.strip()
    if not body:
        raise Refused(Refusal("complaint_empty", "say what is wrong", 422))
    return body
