"""Every lifecycle's timers, found by the subject type and kind of a deadline row.

Deadlines are rows (subject type, subject, kind, due_at, state). What each kind means (when it
falls due, who must act, what happens on expiry) is declared once, as a `Timer` on a transition
of its lifecycle's table; this module only finds it.
"""

from __future__ import annotations

from orderguard.domain import (
    cancellation,  # noqa: F401 (registers the cancellation timers' handlers)
    unclaimed,  # noqa: F401 (registers the storage timer's handler, R6.6)
)
from orderguard.domain.cancellation_requests import CANCELLATION_REQUEST
from orderguard.domain.disputes import DISPUTE
from orderguard.domain.machine import Machine, Timer
from orderguard.domain.orders import ORDER
from orderguard.domain.payments import PAYMENT
from orderguard.domain.proof_requests import PROOF_REQUEST
from orderguard.domain.refunds import REFUND
from orderguard.domain.shipping import SHIPMENT

MACHINES: dict[str, Machine] = {
    m.name: m for m in (ORDER, PAYMENT, SHIPMENT, CANCELLATION_REQUEST, REFUND, PROOF_REQUEST, DISPUTE)
}


def timer(subject_type: str, kind: str) -> Timer:
    return MACHINES[subject_type].timers[kind]
