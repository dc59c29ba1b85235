"""Calls to the outside world that decisions ask for, made after their transaction commits.

Each is idempotent (the provider is keyed by our id) and covered by a retry deadline, so a call
that fails here, or a process that dies before making it, is made again later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from orderguard.app import payments, refunds
from orderguard.app.context import Context
from orderguard.domain import payments as payment_rules
from orderguard.domain import refunds as refund_rules
from orderguard.domain.decision import AfterCommit
from orderguard.domain.machine import Refused

log = logging.getLogger(__name__)

ACTIONS: dict[str, Callable[[Context, str], Any]] = {
    payment_rules.EXECUTE: payments.execute,
    refund_rules.EXECUTE: refunds.execute,
    refund_rules.CHECK: refunds.check_settlement,
}


def run_after_commit(ctx: Context, effects: Sequence[AfterCommit]) -> None:
    for effect in effects:
        try:
            ACTIONS[effect.action](ctx, effect.subject_id)
        except Refused as e:  # e.g. the provider is still unreachable: the retry deadline stays armed
            log.warning("%s %s: %s", effect.action, effect.subject_id, e.refusal.detail)
