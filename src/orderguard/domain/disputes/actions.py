"""What a party or an arbiter may do with a dispute now, and for what they may not, why."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from orderguard.domain.disputes.commands import line_disputes, window
from orderguard.domain.disputes.model import Dispute, Proposal
from orderguard.domain.disputes.proposals import ProposalState
from orderguard.domain.disputes.table import DisputeState
from orderguard.domain.machine import Actor
from orderguard.domain.orders import Order
from orderguard.domain.orders.actions import Action, refused
from orderguard.domain.policy import Policy

NEGOTIABLE = frozenset({DisputeState.NEGOTIATING, DisputeState.ESCALATED})


def actions_for(
    dispute: Dispute, proposals: Sequence[Proposal], role: Actor, now: datetime, policy: Policy
) -> list[Action]:
    if not dispute.is_open:
        names = {
            Actor.BUYER: (
                "propose",
                "accept_proposal",
                "reject_proposal",
                "escalate",
                "message",
                "add_evidence",
                "ship_return",
            ),
            Actor.SELLER: (
                "propose",
                "accept_proposal",
                "reject_proposal",
                "escalate",
                "message",
                "add_evidence",
                "confirm_return",
            ),
            Actor.ADMIN: ("request_info", "rule"),
        }.get(role, ())
        ended = f"The dispute is {dispute.state}: it can never change again (R7.7)."
        return [Action(name, False, "dispute_ended", ended) for name in names]
    if role is Actor.ADMIN:
        escalated = dispute.state == DisputeState.ESCALATED
        why = None if escalated else f"The dispute is {dispute.state}; only an escalated one is arbitrated."
        code = None if escalated else "dispute_not_escalated"
        return [Action("request_info", escalated, code, why), Action("rule", escalated, code, why)]
    if role not in (Actor.BUYER, Actor.SELLER):
        return []
    party = str(role)
    out = [_negotiate("propose", dispute)]
    theirs = [p for p in proposals if p.state == ProposalState.OPEN and p.author_role != party]
    for name in ("accept_proposal", "reject_proposal"):
        action = _negotiate(name, dispute)
        if action.available and not theirs:
            action = Action(name, False, "no_proposal_to_answer", "The other party has no open proposal.")
        out.append(action)
    out.append(_escalate(dispute, now, policy))
    out += [Action("message", True), Action("add_evidence", True)]
    if role is Actor.BUYER:
        out.append(
            _return_step(
                "ship_return",
                dispute,
                dispute.return_tracking_code is None,
                "return_already_shipped",
                "The return's tracking code is given.",
            )
        )
    else:
        out.append(
            _return_step(
                "confirm_return",
                dispute,
                dispute.return_tracking_code is not None,
                "return_not_shipped",
                "The buyer has not shipped the return yet.",
            )
        )
    return out


def _negotiate(name: str, dispute: Dispute) -> Action:
    if dispute.state in NEGOTIABLE:
        return Action(name, True)
    return Action(name, False, "dispute_not_negotiable", "The outcome is decided; only the return remains.")


def _escalate(dispute: Dispute, now: datetime, policy: Policy) -> Action:
    if dispute.state != DisputeState.NEGOTIATING:
        return Action("escalate", False, "dispute_not_negotiating", f"The dispute is {dispute.state}.")
    earliest = dispute.opened_at + timedelta(days=policy.disputes.early_escalation_days)
    if now < earliest:
        return Action(
            "escalate",
            False,
            "escalation_too_early",
            f"Negotiate first: the dispute can be escalated from {earliest:%Y-%m-%d %H:%M} UTC (R7.4).",
        )
    return Action("escalate", True)


def _return_step(name: str, dispute: Dispute, ready: bool, code: str, why: str) -> Action:
    if dispute.state != DisputeState.AWAITING_RETURN:
        return Action(name, False, "no_return_expected", "No return is expected in this dispute.")
    return Action(name, True) if ready else Action(name, False, code, why)


def open_action(order: Order, order_disputes: Sequence[Dispute], now: datetime) -> Action:
    """R7.1: can the buyer open a dispute on the order now, until when, and if not, why."""
    refusal, until = window(order, now)
    if refusal is not None:
        return refused("open_dispute", refusal, until)
    taken = line_disputes(order_disputes)
    if all(line.id in taken or not line.active for line in order.lines):
        return Action(
            "open_dispute", False, "line_already_disputed", "Every line is in a dispute already.", until
        )
    return Action("open_dispute", True, until=until)
