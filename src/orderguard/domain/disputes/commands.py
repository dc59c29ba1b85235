"""Dispute commands (R7.1 to R7.8): each takes the dispute and what it needs, and returns a Decision.

Money and the order follow the dispute:
- a refund is granted only when the dispute ends with one (agreed, ruled, or by a missed
  deadline), through the one refund path (domain/refunds.py), with an id derived from the dispute,
  so a dispute can never refund twice;
- while any dispute of an order is open the order is `disputed`: it neither completes nor closes,
  so the disputed money stays in escrow (R7.8); when its last dispute ends the order goes back to
  where it stood and closes, and pays out what remains, in its own time (R6.5);
- a seller who loses an arbitration on a seller-fault reason is fined the policy rate of the
  refund when the refund is paid (R7.5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from orderguard.domain import fines, orders, refunds
from orderguard.domain.decision import Decision, Event, take
from orderguard.domain.disputes import amounts
from orderguard.domain.disputes.model import Dispute, DisputeReason, Outcome, Payer, Proposal, Verdict
from orderguard.domain.disputes.proposals import PROPOSAL, ProposalState
from orderguard.domain.disputes.table import DISPUTE, DisputeState
from orderguard.domain.disputes.texts import notices
from orderguard.domain.fines import Fine
from orderguard.domain.machine import Actor, Facts, Refusal, Refused, one_of
from orderguard.domain.money import Money
from orderguard.domain.orders import Order, OrderState
from orderguard.domain.payments import Payment
from orderguard.domain.policy import Policy
from orderguard.domain.refunds import Refund
from orderguard.ids import derived_id

B, S, A, SYS = Actor.BUYER, Actor.SELLER, Actor.ADMIN, Actor.SYSTEM
DisputeDecision = Decision[Dispute]

NEGOTIABLE = frozenset({DisputeState.NEGOTIATING, DisputeState.ESCALATED})


def _step(
    dispute: Dispute,
    event: str,
    by: Actor,
    actor_id: str | None,
    now: datetime,
    policy: Policy,
    data: dict[str, Any] | None = None,
    **changes: Any,
) -> DisputeDecision:
    return take(DISPUTE, dispute, event, by, actor_id, now, policy, data, notices, **changes)


def _party(role: Actor) -> str:
    if role not in (B, S):
        raise Refused(
            Refusal("forbidden_role", "only the order's buyer and its store's seller take part", 403)
        )
    return str(role)


# --- opening (R7.1) ---------------------------------------------------------------------------


def window(order: Order, now: datetime) -> tuple[Refusal | None, datetime | None]:
    """Whether a dispute can be opened on the order now (None) or why not, and when the window closes.

    From shipment until protection ends; once completed, until the post-completion window ends
    (R6.5). An order that is already disputed keeps the window it had.
    """
    state = order.state
    if state in (OrderState.AWAITING_PAYMENT, OrderState.PAYMENT_PENDING, OrderState.AWAITING_SHIPMENT):
        return _NOT_SHIPPED, None
    if state == OrderState.PARTLY_SHIPPED:
        return _PARTLY_SHIPPED, None
    if state == OrderState.CANCELLED:
        return _CANCELLED, None
    until = order.dispute_window_ends_at if order.completed_at is not None else order.protection_ends_at
    if state not in _DISPUTABLE or until is None:
        return Refusal("dispute_window_closed", f"An order that is {state} cannot be disputed.", 409), until
    if now >= until:
        return (
            Refusal(
                "dispute_window_closed",
                f"The time to open a dispute ended at {until:%Y-%m-%d %H:%M} UTC (R7.1).",
                409,
            ),
            until,
        )
    return None, until


_NOT_SHIPPED = Refusal("order_not_shipped", "A dispute can be opened once the order has shipped.", 409)
_PARTLY_SHIPPED = Refusal(
    "order_not_shipped",
    "A dispute can be opened once every line has shipped; until then ask to cancel the unshipped "
    "lines (R4.1).",
    409,
)
_CANCELLED = Refusal("order_cancelled", "The order is cancelled.", 409)
_DISPUTABLE = frozenset({OrderState.SHIPPED, OrderState.DELIVERED, OrderState.COMPLETED, OrderState.DISPUTED})


def check_lines(order: Order, lines: dict[str, int], earlier: Sequence[Dispute]) -> None:
    """The disputed lines must be the order's, each quantity within what it holds, and no line may
    be in another dispute, open or ended (R7.1, R7.7)."""
    if not lines:
        raise Refused(Refusal("no_lines", "name at least one line to dispute", 422))
    held = {line.id: line.active for line in order.lines}
    taken = {line_id: d.id for d in earlier for line_id in d.lines}
    for line_id, quantity in sorted(lines.items()):
        if line_id not in held:
            raise Refused(Refusal("unknown_line", f"line {line_id} is not in this order", 422))
        if quantity <= 0:
            raise Refused(Refusal("invalid_quantity", "disputed quantities must be at least 1", 422))
        if quantity > held[line_id]:
            raise Refused(
                Refusal(
                    "quantity_exceeds_shipped",
                    f"line {line_id} holds {held[line_id]}, not {quantity}",
                    422,
                )
            )
        if line_id in taken:
            raise Refused(
                Refusal(
                    "line_already_disputed",
                    f"line {line_id} is in dispute {taken[line_id]}: a line is disputed once (R7.7)",
                    409,
                )
            )


def check_offer(
    kind: str, amount: int | None, payer: str | None, order: Order, lines: dict[str, int], refundable: int
) -> int:
    """What an outcome the buyer wants or a party proposes is worth; refused when it cannot be paid."""
    if kind == Outcome.PARTIAL_REFUND:
        if amount is None:
            raise Refused(Refusal("amount_required", "a partial refund names its amount", 422))
        try:
            Money(amount, order.currency)
        except ValueError as e:
            raise Refused(Refusal("invalid_amount", str(e), 422)) from e
        if amount <= 0:
            raise Refused(Refusal("invalid_amount", "a partial refund gives back a positive amount", 422))
        value = amounts.dispute_value(order, lines)
        if amount > value:
            raise Refused(
                Refusal(
                    "amount_exceeds_disputed",
                    f"{Money(amount, order.currency).format()} is more than the disputed lines are worth "
                    f"({Money(value, order.currency).format()})",
                    422,
                )
            )
    elif amount is not None:
        raise Refused(Refusal("amount_not_allowed", "only a partial refund names an amount", 422))
    if payer is not None and kind != Outcome.RETURN_AND_REFUND:
        raise Refused(Refusal("payer_not_allowed", "only a return names who pays the return shipping", 422))
    worth = amounts.outcome_amount(kind, order, lines, amount or 0, payer, refundable)
    if kind == Outcome.PARTIAL_REFUND and amount is not None and amount > refundable:
        raise Refused(
            Refusal(
                "refund_exceeds_refundable",
                f"{Money(amount, order.currency).format()} is more than the "
                f"{Money(max(refundable, 0), order.currency).format()} still held for order {order.id}",
                422,
            )
        )
    return worth


def open_dispute(
    dispute_id: str,
    proposal_id: str,
    order: Order,
    buyer_id: str,
    reason: str,
    lines: dict[str, int],
    wanted: str,
    amount: int | None,
    payer: str | None,
    description: str,
    earlier: Sequence[Dispute],
    refundable: int,
    now: datetime,
    policy: Policy,
) -> DisputeDecision:
    """R7.1: the buyer opens a dispute on shipped lines, saying why and what they want.

    What they want is also their first proposal, which the seller must answer within 5 days
    (R7.3); the order becomes `disputed` and its money stays in escrow (R7.8).
    """
    if order.buyer_id != buyer_id:
        raise Refused(Refusal("forbidden_actor", "only the order's buyer opens a dispute", 403))
    if reason not in set(DisputeReason):
        raise Refused(Refusal("unknown_reason", f"reason must be one of {one_of(DisputeReason)}", 422))
    refusal, _ = window(order, now)
    if refusal is not None:
        raise Refused(refusal)
    check_lines(order, lines, earlier)
    worth = check_offer(wanted, amount, payer, order, lines, refundable)
    payer = payer or (Payer.BUYER if wanted == Outcome.RETURN_AND_REFUND else None)
    fault = "seller" if reason in policy.disputes.seller_fault_reasons else "none"
    dispute = Dispute(
        dispute_id, order.id, buyer_id, order.store_id, DISPUTE.initial, reason, fault, dict(lines),
        wanted, worth, description, order.currency, now, seller_answer_from=now,
        return_shipping_paid_by=payer,
    )  # fmt: skip
    _, arm = DISPUTE.rearm("", dispute, now, policy)
    data = {
        "reason": reason,
        "lines": dict(lines),
        "wanted": wanted,
        "amount": worth,
        "answer_by": _due_text(arm, "seller_answer_by"),
    }
    opened = Event("opened", B, buyer_id, "R7.1", now, data)
    first = Proposal(
        proposal_id, dispute_id, order.id, "buyer", buyer_id, ProposalState.OPEN, wanted, worth, payer,
        description, now,
    )  # fmt: skip
    decision = Decision(dispute, [opened], arm=arm, notifications=notices(dispute, opened), new=True)
    decision.also.append(Decision(first, new=True))
    decision.also.append(orders.dispute_opened(order, buyer_id, dispute_id, now, policy))
    return decision


def _due_text(arm: Sequence[Any], kind: str) -> str:
    due = next((a.due_at for a in arm if a.kind == kind), None)
    return f"{due:%Y-%m-%d %H:%M}" if due is not None else ""


# --- negotiation (R7.2, R7.3) ----------------------------------------------------------------


def must_be_open(dispute: Dispute) -> None:
    if not dispute.is_open:
        raise Refused(
            Refusal(
                "dispute_ended",
                f"dispute {dispute.id} is {dispute.state}: it can never change again (R7.7)",
                409,
            )
        )


def must_negotiate(dispute: Dispute) -> None:
    must_be_open(dispute)
    if dispute.state not in NEGOTIABLE:
        raise Refused(
            Refusal(
                "dispute_not_negotiable",
                f"dispute {dispute.id} is {dispute.state}: the outcome is decided, only the return remains",
                409,
            )
        )


def _answered(dispute: Dispute, role: Actor) -> dict[str, Any]:
    """Field changes of a party's act: the seller's first act is their answer (R7.3)."""
    return {"seller_answer_from": None} if role is S else {}


def propose(
    dispute: Dispute,
    proposal_id: str,
    role: Actor,
    author_id: str,
    kind: str,
    amount: int | None,
    payer: str | None,
    note: str,
    open_proposals: Sequence[Proposal],
    order: Order,
    refundable: int,
    now: datetime,
    policy: Policy,
) -> DisputeDecision:
    """R7.2: a party offers a solution; their earlier open proposal is superseded by it."""
    party = _party(role)
    must_negotiate(dispute)
    worth = check_offer(kind, amount, payer, order, dispute.lines, refundable)
    payer = payer or (Payer.BUYER if kind == Outcome.RETURN_AND_REFUND else None)
    proposal = Proposal(
        proposal_id, dispute.id, dispute.order_id, party, author_id, ProposalState.OPEN, kind, worth, payer,
        note, now,
    )  # fmt: skip
    changes = _answered(dispute, role)
    if role is B:  # silence accepts the buyer's latest request (R7.3)
        changes.update(wanted=kind, wanted_amount=worth, return_shipping_paid_by=payer)
    data = {"proposal_id": proposal_id, "kind": kind, "amount": worth, "return_shipping_paid_by": payer}
    decided = _step(dispute, f"{party}_proposed", role, author_id, now, policy, data, **changes)
    decided.also.extend(
        take(PROPOSAL, p, "superseded", SYS, None, now, policy, answered_at=now)
        for p in open_proposals
        if p.author_role == party
    )
    decided.also.append(Decision(proposal, new=True))
    return decided


def _answerable(dispute: Dispute, proposal: Proposal, role: Actor) -> str:
    party = _party(role)
    must_negotiate(dispute)
    if proposal.dispute_id != dispute.id:
        raise ValueError("the proposal is another dispute's")
    if proposal.state != ProposalState.OPEN:
        raise Refused(Refusal("proposal_answered", f"proposal {proposal.id} is {proposal.state}", 409))
    if proposal.author_role == party:
        raise Refused(
            Refusal("own_proposal", "a proposal is answered by the other party, not by its author", 403)
        )
    return party


def reject_proposal(
    dispute: Dispute, proposal: Proposal, role: Actor, actor_id: str, now: datetime, policy: Policy
) -> DisputeDecision:
    """R7.2: the other party refuses a proposal; the dispute goes on (and escalates in time)."""
    party = _answerable(dispute, proposal, role)
    data = {"proposal_id": proposal.id, "kind": proposal.kind}
    decided = _step(dispute, f"{party}_rejected_proposal", role, actor_id, now, policy, data,
                    **_answered(dispute, role))  # fmt: skip
    decided.also.append(take(PROPOSAL, proposal, "rejected", SYS, None, now, policy, answered_at=now))
    return decided


def accept_proposal(
    dispute: Dispute,
    proposal: Proposal,
    role: Actor,
    actor_id: str,
    end: Ending,
    now: datetime,
    policy: Policy,
) -> DisputeDecision:
    """R7.2: accepting the other side's latest proposal resolves the dispute and carries it out."""
    party = _answerable(dispute, proposal, role)
    kind = proposal.kind
    event = f"{party}_accepted_{'return' if kind == Outcome.RETURN_AND_REFUND else 'refund'}"
    return _decide(
        dispute, event, role, actor_id, end, kind, proposal.amount, proposal.return_shipping_paid_by,
        "agreement", now, policy, accepted=proposal,
    )  # fmt: skip


# --- what ends a negotiation: the outcome carried out --------------------------------------


class Ending:
    """What carrying out an outcome needs, read under the order's lock: the order, where the
    refund goes, what is still refundable, the dispute's open proposals and the order's other
    open disputes."""

    def __init__(
        self,
        order: Order,
        payment: Payment | None,
        refundable: int,
        open_proposals: Sequence[Proposal],
        other_open_disputes: int,
    ) -> None:
        self.order = order
        self.payment = payment
        self.refundable = refundable
        self.open_proposals = list(open_proposals)
        self.other_open_disputes = other_open_disputes


def _decide(
    dispute: Dispute,
    event: str,
    by: Actor,
    actor_id: str | None,
    end: Ending,
    kind: str,
    amount: int,
    payer: str | None,
    decided_by: str,
    now: datetime,
    policy: Policy,
    *,
    accepted: Proposal | None = None,
    rationale: str | None = None,
    fine_on_refund: bool = False,
) -> DisputeDecision:
    """Carry out outcome `kind`: a refund now (resolved), or a return first (awaiting_return)."""
    changes: dict[str, Any] = {
        "outcome": kind,
        "return_shipping_paid_by": payer,
        "decided_by": decided_by,
        "rationale": rationale,
        "seller_answer_from": None,
        "buyer_info_requested_at": None,
        "seller_info_requested_at": None,
    }
    if kind == Outcome.RETURN_AND_REFUND:
        worth = amounts.outcome_amount(kind, end.order, dispute.lines, 0, payer, end.refundable)
        return_by = now + timedelta(days=policy.disputes.return_ship_days)
        data = {
            "outcome": kind,
            "amount": worth,
            "return_shipping_paid_by": payer,
            "decided_by": decided_by,
            "return_by": f"{return_by:%Y-%m-%d %H:%M}",
        }
        changes.update(outcome_amount=worth, return_requested_at=now)
        decided = _step(dispute, event, by, actor_id, now, policy, data, **changes)
    else:
        paid = min(amount, max(end.refundable, 0))
        changes.update(outcome_amount=paid)
        data = {"outcome": kind, "amount": paid, "decided_by": decided_by}
        decided = _step(dispute, event, by, actor_id, now, policy, data, **changes)
        decided = _ended(decided, end, paid, kind, now, policy, fine=fine_on_refund)
    for p in end.open_proposals:
        answer = "accepted" if accepted is not None and p.id == accepted.id else "lapsed"
        decided.also.append(take(PROPOSAL, p, answer, SYS, None, now, policy, answered_at=now))
    return decided


def _ended(
    decided: DisputeDecision, end: Ending, paid: int, kind: str, now: datetime, policy: Policy, *, fine: bool
) -> DisputeDecision:
    """The dispute has ended: its refund granted, the seller fined if they lost an arbitration on
    a seller-fault reason, and the order freed when this was its last open dispute."""
    dispute = decided.subject
    refund: Decision[Refund] | None = None
    if paid > 0:
        if end.payment is None:
            raise ValueError(f"order {end.order.id} is disputed but has no captured payment")
        lines = amounts.refund_lines(end.order, dispute.lines, paid, kind)
        refund = refunds.grant(
            derived_id("rfd", "dispute", dispute.id), end.order, end.payment, lines, paid,
            dispute.reason, "dispute", dispute.id, end.refundable, now, policy,
        )  # fmt: skip
    charged: Decision[Fine] | None = None
    fined = fines.rate(paid, policy.disputes.seller_loss_fine_bps, dispute.currency)
    if fine and dispute.fault == "seller" and fined > 0:
        charged = fines.charge(
            dispute.store_id, dispute.order_id, "dispute", dispute.id, dispute.reason, "R7.5", fined,
            dispute.currency, now,
        )  # fmt: skip
    decided.subject = replace(
        dispute,
        ended_at=now,
        refund_id=refund.subject.id if refund else None,
        refunded=paid,
        fine_id=charged.subject.id if charged else None,
        fined=charged.subject.amount if charged else 0,
    )
    decided.also.extend(d for d in (refund, charged) if d is not None)
    if end.other_open_disputes == 0:
        decided.also.append(orders.disputes_ended(end.order, now, policy))
    return decided


def _closed(decided: DisputeDecision, end: Ending, now: datetime, policy: Policy) -> DisputeDecision:
    """The dispute ended with nothing for the buyer."""
    decided.subject = replace(decided.subject, ended_at=now)
    for p in end.open_proposals:
        decided.also.append(take(PROPOSAL, p, "lapsed", SYS, None, now, policy, answered_at=now))
    if end.other_open_disputes == 0:
        decided.also.append(orders.disputes_ended(end.order, now, policy))
    return decided


@DISPUTE.on_expiry("seller_answer_missed")
def seller_answer_missed(dispute: Dispute, now: datetime, policy: Policy, facts: Facts) -> DisputeDecision:
    """R7.3: the seller did not answer within 5 days: the buyer's (latest) request is carried out."""
    end = _ending(dispute, facts)
    latest = next((p for p in reversed(end.open_proposals) if p.author_role == "buyer"), None)
    kind = dispute.wanted
    event = "seller_answer_missed_return" if kind == Outcome.RETURN_AND_REFUND else "seller_answer_missed"
    return _decide(
        dispute, event, SYS, None, end, kind, dispute.wanted_amount, dispute.return_shipping_paid_by,
        "seller_silence", now, policy, accepted=latest,
    )  # fmt: skip


def _ending(dispute: Dispute, facts: Facts) -> Ending:
    order = facts.order(dispute.order_id)
    others = [d for d in facts.open_disputes(dispute.order_id) if d.id != dispute.id]
    return Ending(
        order,
        facts.captured_payment(order.id),
        facts.escrow(order.id),
        facts.open_proposals(dispute.id),
        len(others),
    )


# --- escalation and arbitration (R7.4, R7.5) -------------------------------------------------


def escalate(dispute: Dispute, role: Actor, actor_id: str, now: datetime, policy: Policy) -> DisputeDecision:
    """R7.4: a party asks the platform to step in, once the policy minimum (3 days) has passed."""
    party = _party(role)
    must_be_open(dispute)
    if dispute.state != DisputeState.NEGOTIATING:
        raise Refused(Refusal("dispute_not_negotiating", f"dispute {dispute.id} is {dispute.state}", 409))
    earliest = dispute.opened_at + timedelta(days=policy.disputes.early_escalation_days)
    if now < earliest:
        raise Refused(
            Refusal(
                "escalation_too_early",
                f"negotiate first: the dispute can be escalated from {earliest:%Y-%m-%d %H:%M} UTC (R7.4)",
                409,
            )
        )
    return _step(dispute, f"{party}_escalated", role, actor_id, now, policy, {"by": party},
                 escalated_at=now, escalated_by=party, **_answered(dispute, role))  # fmt: skip


@DISPUTE.on_expiry("negotiation_ended")
def negotiation_ended(dispute: Dispute, now: datetime, policy: Policy, facts: Facts) -> DisputeDecision:
    """R7.4: 7 days without agreement: the platform steps in."""
    return _step(dispute, "negotiation_ended", SYS, None, now, policy, {"by": "system"}, escalated_at=now,
                 escalated_by="system")  # fmt: skip


def must_be_escalated(dispute: Dispute) -> None:
    must_be_open(dispute)
    if dispute.state != DisputeState.ESCALATED:
        raise Refused(
            Refusal(
                "dispute_not_escalated",
                f"dispute {dispute.id} is {dispute.state}: only an escalated dispute is arbitrated",
                409,
            )
        )


def request_info(
    dispute: Dispute, admin_id: str, party: str, question: str, now: datetime, policy: Policy
) -> DisputeDecision:
    """R7.5: the arbiter asks a party for information; they have 48 hours to answer."""
    must_be_escalated(dispute)
    field = f"{party}_info_requested_at"
    if getattr(dispute, field) is not None:
        raise Refused(
            Refusal("info_already_requested", f"the {party} has an unanswered information request", 409)
        )
    due = now + timedelta(hours=policy.disputes.information_request_hours)
    data = {"party": party, "question": question, "answer_by": f"{due:%Y-%m-%d %H:%M}"}
    return _step(dispute, "info_requested", A, admin_id, now, policy, data,
                 **{field: now, f"{party}_info_question": question})  # fmt: skip


def gave_info(
    dispute: Dispute, role: Actor, actor_id: str, what: str, now: datetime, policy: Policy
) -> DisputeDecision | None:
    """A party's message or evidence answers the arbiter's open request to them (None: none was open)."""
    party = _party(role)
    if dispute.state != DisputeState.ESCALATED or getattr(dispute, f"{party}_info_requested_at") is None:
        return None
    return _step(dispute, f"{party}_gave_info", role, actor_id, now, policy, {"with": what},
                 **{f"{party}_info_requested_at": None})  # fmt: skip


@DISPUTE.on_expiry("buyer_info_missed")
def buyer_info_missed(dispute: Dispute, now: datetime, policy: Policy, facts: Facts) -> DisputeDecision:
    """R7.7: a buyer who misses a deadline of theirs loses the dispute."""
    decided = _step(dispute, "buyer_info_missed", SYS, None, now, policy, outcome="rejected",
                    decided_by="buyer_missed_deadline", buyer_info_requested_at=None,
                    seller_info_requested_at=None)  # fmt: skip
    return _closed(decided, _ending(dispute, facts), now, policy)


@DISPUTE.on_expiry("seller_info_missed")
def seller_info_missed(dispute: Dispute, now: datetime, policy: Policy, facts: Facts) -> DisputeDecision:
    """R7.7: a seller who misses a deadline loses that step: the arbiter decides without them."""
    return _step(dispute, "seller_info_missed", SYS, None, now, policy, seller_info_requested_at=None)


def rule(
    dispute: Dispute,
    admin_id: str,
    verdict: str,
    share: int | None,
    payer: str | None,
    rationale: str,
    end: Ending,
    now: datetime,
    policy: Policy,
) -> DisputeDecision:
    """R7.5: the arbiter's verdict, carried out at once (a refund on return: once it is back)."""
    must_be_escalated(dispute)
    if verdict != Verdict.PARTIAL_REFUND and share is not None:
        raise Refused(Refusal("share_not_allowed", "only a partial refund takes a share", 422))
    if verdict != Verdict.REFUND_ON_RETURN and payer is not None:
        raise Refused(Refusal("payer_not_allowed", "only a refund on return names who pays the return", 422))
    if verdict == Verdict.REJECTED:
        data = {"verdict": verdict, "rationale": rationale}
        decided = _step(dispute, "ruled_rejected", A, admin_id, now, policy, data, outcome="rejected",
                        decided_by="verdict", rationale=rationale, buyer_info_requested_at=None,
                        seller_info_requested_at=None)  # fmt: skip
        return _closed(decided, end, now, policy)
    if verdict == Verdict.REFUND_ON_RETURN:
        return _decide(
            dispute, "ruled_return", A, admin_id, end, Outcome.RETURN_AND_REFUND, 0, payer or Payer.BUYER,
            "verdict", now, policy, rationale=rationale, fine_on_refund=True,
        )  # fmt: skip
    if verdict == Verdict.PARTIAL_REFUND:
        if share is None or not 1 <= share <= 100:
            raise Refused(
                Refusal("invalid_share", "a partial refund's share is a whole percent from 1 to 100", 422)
            )
        kind, paid = (
            Outcome.PARTIAL_REFUND,
            amounts.share_amount(end.order, dispute.lines, share, end.refundable),
        )
    else:
        kind = Outcome.FULL_REFUND
        paid = amounts.outcome_amount(kind, end.order, dispute.lines, 0, None, end.refundable)
    return _decide(
        dispute, "ruled_refund", A, admin_id, end, kind, paid, None, "verdict", now, policy,
        rationale=rationale, fine_on_refund=True,
    )  # fmt: skip


# --- the return (R7.6) -----------------------------------------------------------------------


def must_await_return(dispute: Dispute) -> None:
    must_be_open(dispute)
    if dispute.state != DisputeState.AWAITING_RETURN:
        raise Refused(
            Refusal(
                "no_return_expected", f"dispute {dispute.id} is {dispute.state}: no return is expected", 409
            )
        )


def ship_return(
    dispute: Dispute, buyer_id: str, carrier: str, code: str, now: datetime, policy: Policy
) -> DisputeDecision:
    """R7.6: the buyer gives the return's carrier and tracking code (the code checked by app/)."""
    must_await_return(dispute)
    if dispute.return_tracking_code is not None:
        raise Refused(
            Refusal(
                "return_already_shipped",
                f"the return is on its way with {dispute.return_carrier}, "
                f"code {dispute.return_tracking_code}",
                409,
            )
        )
    data = {"carrier": carrier, "tracking_code": code}
    return _step(dispute, "return_shipped", B, buyer_id, now, policy, data, return_requested_at=None,
                 return_carrier=carrier, return_tracking_code=code, return_shipped_at=now)  # fmt: skip


def return_delivered(
    dispute: Dispute, delivered_at: datetime, now: datetime, policy: Policy
) -> DisputeDecision | None:
    """R7.6: the carrier delivered the return to the seller: 5 days of silence confirm it.

    None when it changes nothing (the dispute moved on, or a delivery was already reported).
    """
    if dispute.state != DisputeState.AWAITING_RETURN or dispute.return_delivered_at is not None:
        return None
    refund_on = delivered_at + timedelta(days=policy.disputes.return_receipt_silence_days)
    data = {"delivered_at": delivered_at.isoformat(), "refund_on": f"{max(refund_on, now):%Y-%m-%d %H:%M}"}
    return _step(dispute, "return_delivered", SYS, None, now, policy, data, return_delivered_at=delivered_at)


def return_received(
    dispute: Dispute, seller_id: str, end: Ending, now: datetime, policy: Policy
) -> DisputeDecision:
    """R7.6: the seller confirms the return arrived: the refund is paid."""
    must_await_return(dispute)
    if dispute.return_tracking_code is None:
        raise Refused(
            Refusal("return_not_shipped", "the buyer has not given the return's tracking code yet", 409)
        )
    return _refund_return(dispute, "return_received", S, seller_id, end, now, policy)


def _refund_return(
    dispute: Dispute, event: str, by: Actor, actor_id: str | None, end: Ending, now: datetime, policy: Policy
) -> DisputeDecision:
    paid = amounts.outcome_amount(
        Outcome.RETURN_AND_REFUND,
        end.order,
        dispute.lines,
        0,
        dispute.return_shipping_paid_by,
        end.refundable,
    )
    decided = _step(dispute, event, by, actor_id, now, policy, {"amount": paid}, outcome_amount=paid)
    return _ended(
        decided, end, paid, Outcome.RETURN_AND_REFUND, now, policy, fine=dispute.decided_by == "verdict"
    )


@DISPUTE.on_expiry("return_refund_due")
def return_refund_due(dispute: Dispute, now: datetime, policy: Policy, facts: Facts) -> DisputeDecision:
    """R7.6: 5 days after the return was delivered back, the seller's silence confirms it."""
    return _refund_return(dispute, "return_refund_due", SYS, None, _ending(dispute, facts), now, policy)


@DISPUTE.on_expiry("return_ship_missed")
def return_ship_missed(dispute: Dispute, now: datetime, policy: Policy, facts: Facts) -> DisputeDecision:
    """R7.7: the buyer did not ship the return within 10 days: they lose the dispute."""
    decided = _step(dispute, "return_ship_missed", SYS, None, now, policy, outcome="rejected",
                    decided_by="buyer_missed_deadline")  # fmt: skip
    return _closed(decided, _ending(dispute, facts), now, policy)


def line_disputes(disputes: Sequence[Dispute]) -> dict[str, str]:
    """Line id -> the dispute it is in (a line is in at most one)."""
    return {line_id: d.id for d in disputes for line_id in d.lines}


def fine_preview(dispute: Dispute, policy: Policy) -> int:
    """What losing the arbitration would fine the seller, on the refund the buyer wants."""
    if dispute.fault != "seller":
        return 0
    return fines.rate(dispute.wanted_amount, policy.disputes.seller_loss_fine_bps, dispute.currency)
