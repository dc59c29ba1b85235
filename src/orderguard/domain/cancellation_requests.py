"""Cancellation requests after payment (R4.1, R4.3 to R4.6): a lifecycle of their own.

The buyer asks to cancel paid, unshipped quantities of an order, with one reason of the policy
(which decides who is at fault) and an optional message. The request stays `open` until the seller
approves or rejects it, the buyer withdraws it, or the seller's 72 hours pass in silence, which
approves it (R4.4). While it is open, the lines it covers cannot be shipped (R4.5, see
`shipping_lock`); a seller who says the parcel is already on its way rejects it with a carrier and
tracking code, which ships those lines through the ordinary shipping path (R4.6). A line has at
most one open request. When the seller misses the ship-by time, the system cancels everything
unshipped and closes the open requests as `overtaken` (R4.8).

What an approval does to the order, the money and the seller is `domain.cancellation`'s
(`carry_out`); this module only decides the request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from orderguard.domain.decision import Decision, Event, Notification, take
from orderguard.domain.machine import Actor, Due, Facts, Machine, Refusal, Refused, T, Timer
from orderguard.domain.money import Money
from orderguard.domain.orders.actions import Action
from orderguard.domain.policy import Policy

B, S, SYS = Actor.BUYER, Actor.SELLER, Actor.SYSTEM


class RequestState(StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    OVERTAKEN = "overtaken"


class RequestDeadline(StrEnum):
    ANSWER_BY = "answer_by"
    ANSWER_REMINDER = "answer_reminder"


ANSWER_BY = Timer(
    RequestDeadline.ANSWER_BY,
    Due("created_at", "the buyer asked", "cancellation.seller_answer_hours", "hours"),
    S,
    "approve or reject the cancellation request",
    "silence is consent: the request is approved, the quantities are cancelled and refunded, and a "
    "seller-fault reason fines the seller",
)

ANSWER_REMINDER = Timer(
    RequestDeadline.ANSWER_REMINDER,
    Due("created_at", "the buyer asked", "cancellation.seller_reminder_after_hours", "hours"),
    S,
    "approve or reject the cancellation request",
    "the seller is reminded that silence will approve the request",
    only_ahead=True,
)

CANCELLATION_REQUEST = Machine(
    "cancellation_request",
    (
        T(RequestState.OPEN, "approved", RequestState.APPROVED, S, "R4.3"),
        T(RequestState.OPEN, "rejected", RequestState.REJECTED, S, "R4.3"),
        T(RequestState.OPEN, "rejected_as_shipped", RequestState.REJECTED, S, "R4.6"),
        T(RequestState.OPEN, "withdrawn", RequestState.WITHDRAWN, B, "R4.1"),
        T(RequestState.OPEN, "answer_reminder", RequestState.OPEN, SYS, "R8.5", ANSWER_REMINDER),
        T(RequestState.OPEN, "auto_approved", RequestState.APPROVED, SYS, "R4.4", ANSWER_BY),
        T(RequestState.OPEN, "overtaken", RequestState.OVERTAKEN, SYS, "R4.8"),
    ),
    terminal=frozenset(
        {RequestState.APPROVED, RequestState.REJECTED, RequestState.WITHDRAWN, RequestState.OVERTAKEN}
    ),
)


@dataclass(frozen=True, slots=True)
class CancellationRequest:
    lifecycle: ClassVar[str] = "cancellation_request"

    id: str
    order_id: str
    buyer_id: str
    store_id: str
    state: str
    reason: str
    fault: str  # "buyer" | "seller", from the policy when the request was made
    lines: dict[str, int] = field(default_factory=dict)  # order line id -> quantity
    message: str = ""
    created_at: datetime | None = None
    decided_at: datetime | None = None
    answer: str | None = None  # the seller's words when rejecting
    carrier: str | None = None  # rejected as already on its way (R4.6)
    tracking_code: str | None = None
    shipment_id: str | None = None
    refund_id: str | None = None
    fine_id: str | None = None
    refunded: int = 0  # once approved: what was refunded and fined
    fined: int = 0

    @property
    def is_open(self) -> bool:
        return self.state == RequestState.OPEN


RequestDecision = Decision[CancellationRequest]

# event -> (recipient, notification kind, text); `{r}` is the request, `{money}` its amounts
TEXTS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "requested": (
        (
            "seller",
            "cancellation_requested",
            "The buyer asks to cancel {lines} of order {r.order_id} ({r.reason}). Approve or reject "
            "by {data[answer_by]} UTC; silence approves it. Do not ship these lines until you decide.",
        ),
    ),
    "answer_reminder": (
        (
            "seller",
            "cancellation_reminder",
            "Cancellation request {r.id} on order {r.order_id} still waits for your answer: approve or "
            "reject it by {data[answer_by]} UTC, or it is approved without you.",
        ),
    ),
    "withdrawn": (
        (
            "seller",
            "cancellation_withdrawn",
            "The buyer withdrew cancellation request {r.id}: ship as usual.",
        ),
    ),
    "rejected": (
        (
            "buyer",
            "cancellation_rejected",
            "The seller rejected your cancellation request for order {r.order_id}: {r.answer} "
            "The order goes on; open a dispute after delivery if something is wrong.",
        ),
    ),
    "rejected_as_shipped": (
        (
            "buyer",
            "cancellation_rejected",
            "The seller rejected your cancellation request for order {r.order_id}: the parcel is already "
            "on its way with {r.carrier}, tracking code {r.tracking_code}. You may ask for proof of "
            "dispatch.",
        ),
    ),
    "approved": (
        (
            "buyer",
            "cancellation_approved",
            "Your cancellation request for order {r.order_id} was approved: {data[refund]} is refunded "
            "to your original payment method.",
        ),
    ),
    "auto_approved": (
        (
            "buyer",
            "cancellation_approved",
            "The seller did not answer in time, so your cancellation request for order {r.order_id} is "
            "approved: {data[refund]} is refunded to your original payment method.",
        ),
        (
            "seller",
            "cancellation_auto_approved",
            "You did not answer cancellation request {r.id} in time: it is approved and the lines are "
            "cancelled.",
        ),
    ),
    "overtaken": (
        (
            "buyer",
            "cancellation_overtaken",
            "Cancellation request {r.id} is closed: the seller missed the ship-by time, so the unshipped "
            "quantities are cancelled and refunded in full.",
        ),
    ),
}


def _step(
    request: CancellationRequest,
    event: str,
    by: Actor,
    actor_id: str | None,
    now: datetime,
    policy: Policy,
    data: dict[str, Any] | None = None,
    **changes: Any,
) -> RequestDecision:
    return take(CANCELLATION_REQUEST, request, event, by, actor_id, now, policy, data, notices, **changes)


def notices(request: CancellationRequest, event: Event) -> list[Notification]:
    lines = ", ".join(f"{q} of line {line_id}" for line_id, q in request.lines.items())
    return [
        Notification(recipient, kind, text.format(r=request, data=event.data, lines=lines))
        for recipient, kind, text in TEXTS.get(event.kind, ())
    ]


def covered_lines(open_requests: list[CancellationRequest]) -> dict[str, str]:
    """Line id -> the open request that covers it."""
    return {line_id: r.id for r in open_requests if r.is_open for line_id in r.lines}


def open_request(
    request_id: str,
    order_id: str,
    buyer_id: str,
    store_id: str,
    reason: str,
    lines: dict[str, int],
    message: str,
    open_requests: list[CancellationRequest],
    now: datetime,
    policy: Policy,
) -> RequestDecision:
    """R4.1: the buyer asks; the lines (checked cancellable) must not be in another open request."""
    fault = policy.cancellation.reasons.get(reason)
    if fault is None:
        raise Refused(
            Refusal(
                "unknown_reason",
                f"reason must be one of {', '.join(policy.cancellation.reasons)}",
                422,
            )
        )
    covered = covered_lines(open_requests)
    for line_id in lines:
        if line_id in covered:
            raise Refused(
                Refusal(
                    "cancellation_already_requested",
                    f"line {line_id} is already in open cancellation request {covered[line_id]}",
                    409,
                )
            )
    request = CancellationRequest(
        request_id, order_id, buyer_id, store_id, CANCELLATION_REQUEST.initial, reason, fault,
        dict(lines), message, now,
    )  # fmt: skip
    _, arm = CANCELLATION_REQUEST.rearm("", request, now, policy)
    answer_by = arm[0].due_at
    happened = Event(
        "requested",
        B,
        buyer_id,
        "R4.1",
        now,
        {"reason": reason, "fault": fault, "lines": dict(lines), "answer_by": f"{answer_by:%Y-%m-%d %H:%M}"},
    )
    return Decision(request, [happened], arm=arm, notifications=notices(request, happened), new=True)


def withdraw(request: CancellationRequest, buyer_id: str, now: datetime, policy: Policy) -> RequestDecision:
    """The buyer takes the request back; the lines can be shipped again."""
    if request.buyer_id != buyer_id:
        raise Refused(Refusal("forbidden_actor", "only the buyer who asked may withdraw", 403))
    must_be_open(request)
    return _step(request, "withdrawn", B, buyer_id, now, policy, decided_at=now)


def reject(
    request: CancellationRequest,
    seller_id: str,
    answer: str,
    now: datetime,
    policy: Policy,
    shipment: tuple[str, str, str] | None = None,
) -> RequestDecision:
    """R4.3: the seller says no; with `shipment` (carrier, code, shipment id): it is on its way (R4.6)."""
    must_be_open(request)
    if shipment is None:
        return _step(request, "rejected", S, seller_id, now, policy, {"answer": answer}, decided_at=now,
                     answer=answer)  # fmt: skip
    carrier, code, shipment_id = shipment
    data = {"answer": answer, "carrier": carrier, "tracking_code": code, "shipment_id": shipment_id}
    return _step(
        request, "rejected_as_shipped", S, seller_id, now, policy, data, decided_at=now, answer=answer,
        carrier=carrier, tracking_code=code, shipment_id=shipment_id,
    )  # fmt: skip


def approved(
    request: CancellationRequest,
    seller_id: str | None,
    currency: str,
    refund: tuple[str | None, int],
    fine: tuple[str | None, int],
    now: datetime,
    policy: Policy,
) -> RequestDecision:
    """R4.3 (by the seller) or R4.4 (by silence, `seller_id` None): the request is approved;
    `refund` and `fine` are the (id, amount) its approval granted and charged."""
    must_be_open(request)
    event, by = ("approved", S) if seller_id is not None else ("auto_approved", SYS)
    (refund_id, refunded), (fine_id, fined) = refund, fine
    data = {"refund": Money(refunded, currency).format(), "refund_id": refund_id, "fine_id": fine_id}
    return _step(request, event, by, seller_id, now, policy, data, decided_at=now, refund_id=refund_id,
                 fine_id=fine_id, refunded=refunded, fined=fined)  # fmt: skip


@CANCELLATION_REQUEST.on_expiry("answer_reminder")
def answer_reminder(
    request: CancellationRequest, now: datetime, policy: Policy, facts: Facts
) -> RequestDecision:
    """R8.5: the seller is reminded before silence approves the request."""
    answer_by = ANSWER_BY.due.at(request, policy)
    return _step(
        request, "answer_reminder", SYS, None, now, policy, {"answer_by": f"{answer_by:%Y-%m-%d %H:%M}"}
    )


def overtaken(request: CancellationRequest, now: datetime, policy: Policy) -> RequestDecision:
    """R4.8: the missed ship-by time cancelled everything unshipped; the open request is moot."""
    return _step(request, "overtaken", SYS, None, now, policy, decided_at=now)


def must_be_open(request: CancellationRequest) -> None:
    if not request.is_open:
        raise Refused(
            Refusal(
                "cancellation_request_decided",
                f"cancellation request {request.id} is {request.state}: it can no longer change",
                409,
            )
        )


def shipping_lock(wanted: dict[str, int], open_requests: list[CancellationRequest]) -> None:
    """R4.5: lines under an open cancellation request cannot be shipped until it is decided."""
    covered = covered_lines(open_requests)
    for line_id in sorted(wanted):
        if line_id in covered:
            raise Refused(
                Refusal(
                    "cancellation_request_open",
                    f"line {line_id} is in open cancellation request {covered[line_id]}: approve it, or "
                    "reject it (saying the parcel is already on its way, with its tracking code) before "
                    "shipping (R4.5)",
                    409,
                )
            )


# action -> (event it takes, who may take it)
ACTIONS: dict[str, tuple[str, Actor]] = {
    "withdraw": ("withdrawn", B),
    "approve": ("approved", S),
    "reject": ("rejected", S),
}


def actions_for(request: CancellationRequest, role: Actor) -> list[Action]:
    """What `role` can do with the request now, and why not."""
    out = []
    for name, (event, who) in ACTIONS.items():
        if who is not role:
            continue
        if CANCELLATION_REQUEST.find(request.state, event) is not None:
            out.append(Action(name, True))
        else:
            out.append(
                Action(name, False, "cancellation_request_decided", f"The request is {request.state}.")
            )
    return out
