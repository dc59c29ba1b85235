"""`orderguard ledger check`, run the operator's way: its progress drawn on stderr while it works (a
large ledger takes a while), its result kept in the database so that `/metrics` of any process
reports the last one (`orderguard_ledger_check_*`)."""

from __future__ import annotations

import logging
import time

from sqlalchemy import Engine

from orderguard.observability.progress import progress
from orderguard.providers.clock import SystemClock
from orderguard.store.db import reading, unit_of_work
from orderguard.store.ledger_checks_repo import record_check
from orderguard.store.ledger_repo import CHECK_STEPS, LedgerProblem, check

log = logging.getLogger("orderguard.ledger")


def run_ledger_check(engine: Engine) -> tuple[int, list[LedgerProblem]]:
    """(transactions checked, problems), as `store.ledger_repo.check` finds them."""
    started = time.perf_counter()
    with progress(f"checking the ledger: {CHECK_STEPS[0]}", total=len(CHECK_STEPS)) as advance:
        upcoming = iter(CHECK_STEPS[1:])

        def done(_: str) -> None:
            advance(1, description=f"checking the ledger: {next(upcoming, 'done')}")

        with reading(engine) as conn:
            count, problems = check(conn, on_step=done)
    seconds = time.perf_counter() - started
    try:
        with unit_of_work(engine) as conn:
            record_check(conn, SystemClock().now(), count, problems, seconds)
    except Exception as e:  # the check itself stands; only /metrics will not know of it
        log.warning("the ledger check's result could not be kept for /metrics: %s", str(e).splitlines()[0])
    return count, problems
