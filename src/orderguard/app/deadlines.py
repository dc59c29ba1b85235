"""Firing due deadlines, exactly once, in due order (the scheduler's use case).

One path for every lifecycle: a batch of due rows is claimed with `FOR UPDATE SKIP LOCKED`
(PostgreSQL), so any number of workers share the table; the orders they concern are locked
next, skipping those a user command holds right now (their deadlines stay armed for the next
round, which also keeps workers and commands from waiting on each other in opposite orders),
then the other subjects (payments) the same way. Each claimed deadline either fires, through the
command its lifecycle's table registers for that timer, or is cancelled as stale because the
subject has moved on. Decisions about one subject in a batch are merged, written together, and
their calls to the outside world are made after the commit. Cost grows with the number due,
never with the number armed.
"""

from __future__ import annotations

import time
from collections import Counter
from copy import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from orderguard.app.context import Context
from orderguard.app.effects import run_after_commit
from orderguard.app.ports import DueDeadline, UnitOfWork
from orderguard.domain.cancellation_requests import CancellationRequest
from orderguard.domain.deadlines import MACHINES
from orderguard.domain.decision import AfterCommit, Decision
from orderguard.domain.disputes import Dispute, Proposal, ProposalState
from orderguard.domain.ledger import escrow as escrow_account
from orderguard.domain.orders import Order
from orderguard.domain.payments import Payment
from orderguard.domain.shipments import Shipment


@dataclass(frozen=True, slots=True)
class FireReport:
    claimed: int  # due rows this round looked at
    fired: int  # of which fired; the others were stale (cancelled) or left for the next round
    fired_kinds: dict[str, int] = field(default_factory=dict)  # of `fired`, by kind
    stale: int = 0  # cancelled: the subject had moved on (the rest stay armed for the next round)
    seconds: float = 0.0  # wall time of the batch, calls after commit included
    # Nothing claimed, with a look-ahead: seconds until the earliest armed deadline falls due, if it
    # does within the look-ahead (<= 0: one is due, but another worker holds it); else None.
    next_due_in: float | None = None


class Batch:
    """The subjects of a batch of due deadlines, locked, as the batch's decisions leave them.

    It is also the `Facts` a firing may ask for (domain.machine.Facts).
    """

    def __init__(self, uow: UnitOfWork, due: list[DueDeadline]) -> None:
        self._uow = uow
        self._order_ids = sorted({d.order_id for d in due})
        orders = uow.load_subjects("order", self._order_ids)
        self._current: dict[tuple[str, str], Any] = {("order", k): v for k, v in orders.items()}
        wanted: dict[str, set[str]] = {}
        for d in due:
            if d.subject_type != "order" and d.order_id in orders:
                wanted.setdefault(d.subject_type, set()).add(d.subject_id)
        for lifecycle, ids in sorted(wanted.items()):
            for k, v in uow.load_subjects(lifecycle, ids).items():
                self._current[(lifecycle, k)] = v
        self._escrow: dict[str, int] | None = None
        self._escrow_moved: dict[str, int] = {}  # by this batch's decisions, not written yet

    def subject(self, d: DueDeadline) -> Any:
        """The deadline's subject, or None while a command holds it (or its order)."""
        if ("order", d.order_id) not in self._current:
            return None
        return self._current.get((d.subject_type, d.subject_id))

    def order(self, order_id: str) -> Order:
        order: Order = self._current[("order", order_id)]
        return order

    def escrow(self, order_id: str) -> int:
        """The order's escrow as this batch's decisions leave it (a refund granted earlier in the
        batch has taken its share)."""
        if self._escrow is None:
            self._escrow = self._uow.ledger.escrow_balances(self._order_ids)
        return self._escrow.get(order_id, 0) + self._escrow_moved.get(order_id, 0)

    def shipped(self, order_id: str) -> dict[str, int]:
        return self._uow.shipments.shipped_quantities(order_id)

    def captured_payment(self, order_id: str) -> Payment | None:
        return self._uow.payments.captured_payment(order_id)

    def open_requests(self, order_id: str) -> list[CancellationRequest]:
        """Read under the order's lock (every request command takes it first), as moved in this batch."""
        found = self._uow.cancellations.open_requests(order_id)
        current = [self._current.get(("cancellation_request", r.id), r) for r in found]
        return [r for r in current if r.is_open]

    def open_disputes(self, order_id: str) -> list[Dispute]:
        """Read under the order's lock (every dispute command takes it first), as moved in this batch."""
        found = self._uow.disputes.open_disputes(order_id)
        current = [self._current.get(("dispute", d.id), d) for d in found]
        return [d for d in current if d.is_open]

    def open_proposals(self, dispute_id: str) -> list[Proposal]:
        found = self._uow.disputes.open_proposals(dispute_id)
        current = [self._current.get(("dispute_proposal", p.id), p) for p in found]
        return [p for p in current if p.state == ProposalState.OPEN]

    def parcels(self, order_id: str) -> list[Shipment]:
        """The order's shipments (written only under the order's lock), as moved in this batch."""
        found = self._uow.shipments.shipments_of([order_id])
        return [self._current.get(("shipment", s.id), s) for s in found]

    def moved(self, parts: list[Decision[Any]]) -> None:
        """parts: a decision flattened (the decision and those it entails)."""
        for d in parts:
            self._current[(d.subject.lifecycle, d.subject.id)] = d.subject
            for txn in d.ledger:
                if txn.order_id is None:
                    continue
                account = escrow_account(txn.order_id)
                moved = sum(p.amount for p in txn.postings if p.account == account)
                self._escrow_moved[txn.order_id] = self._escrow_moved.get(txn.order_id, 0) + moved


def fire_due(ctx: Context, limit: int = 500, *, look_ahead: float = 0.0) -> FireReport:
    """Fire up to `limit` deadlines due now, in one transaction; then make their outside calls.

    A batch that fired or cancelled anything is reported to the metrics once committed: each
    firing's lateness is `now - due_at` by the clock port (virtual time in sandbox mode), `now`
    being the time the batch records as the firings' time. When nothing is due and `look_ahead`
    is positive, the report says when the next deadline falls due within that many seconds, so
    that a worker can wake for it instead of sleeping its whole poll interval.
    """
    started = time.perf_counter()
    now = ctx.clock.now()
    with ctx.uow() as uow:
        claimed = uow.deadlines.claim_due(now, limit)
        if not claimed:
            if look_ahead <= 0:
                return FireReport(0, 0)
            due = uow.deadlines.next_due_at(now + timedelta(seconds=look_ahead))
            return FireReport(0, 0, next_due_in=None if due is None else (due - now).total_seconds())
        outcomes, after = _fire(uow, ctx, claimed, now)
    run_after_commit(ctx, after)
    from orderguard.observability import metrics  # late: only processes that fire load it

    by_id = {d.id: d for d in claimed}
    fired = [by_id[i] for i, state in outcomes if state == "fired"]
    stale = Counter(by_id[i].kind for i, state in outcomes if state == "cancelled")
    seconds = time.perf_counter() - started
    metrics.deadlines_settled(((d.kind, (now - d.due_at).total_seconds()) for d in fired), stale, seconds)
    kinds = dict(sorted(Counter(d.kind for d in fired).items()))
    return FireReport(len(claimed), len(fired), kinds, sum(stale.values()), seconds)


def _fire(
    uow: UnitOfWork, ctx: Context, due: list[DueDeadline], now: datetime
) -> tuple[list[tuple[int, str]], list[AfterCommit]]:
    batch = Batch(uow, due)
    decisions: dict[tuple[str, str], Decision[Any]] = {}
    outcomes: list[tuple[int, str]] = []
    for deadline in due:
        subject = batch.subject(deadline)
        if subject is None:
            continue  # a command holds it right now: stays armed, retried next round
        key = (deadline.subject_type, deadline.subject_id)
        already = decisions.get(key)
        if already and deadline.kind in already.cancel:
            outcomes.append((deadline.id, "cancelled"))  # an earlier firing in this batch ended it
            continue
        policy = ctx.policies.get(batch.order(deadline.order_id).policy_key)
        decision = MACHINES[deadline.subject_type].fire(subject, deadline.kind, now, policy, batch)
        if decision is None:
            outcomes.append((deadline.id, "cancelled"))  # stale: the subject moved on
            continue
        if deadline.kind in decision.cancel:  # settled as fired below, the only armed one of its kind
            decision.cancel = [k for k in decision.cancel if k != deadline.kind]
        parts = decision.flatten()
        batch.moved(parts)
        for part in parts:
            part_key = (part.subject.lifecycle, part.subject.id)
            alone = _alone(part)
            earlier = decisions.get(part_key)
            decisions[part_key] = alone if earlier is None else earlier.then(alone)
        outcomes.append((deadline.id, "fired"))
    uow.deadlines.settle(outcomes, now)
    uow.save(list(decisions.values()), now)
    after = [effect for d in decisions.values() for effect in d.after_commit]
    return outcomes, after


def _alone(part: Decision[Any]) -> Decision[Any]:
    """The decision without those it entails (they are merged under their own subjects); most
    firings entail none, and copying a decision costs more than the rest of merging it."""
    if not part.also:
        return part
    alone = copy(part)
    alone.also = []
    return alone
