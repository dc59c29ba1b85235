"""What an operator's probes and dashboards ask the database: readiness, the deadlines due, the
last ledger check (`/readyz`, `/metrics`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from orderguard.app.context import Context
from orderguard.app.ports import LedgerCheckResult, SchemaState

log = logging.getLogger("orderguard.ops")


@dataclass(frozen=True, slots=True)
class Readiness:
    """Whether this process can serve: the database answers and its schema is this code's."""

    code: str | None  # None when ready; else `database_unreachable` or `schema_not_at_head`
    detail: str
    schema: SchemaState | None  # None when the database did not answer

    @property
    def ready(self) -> bool:
        return self.code is None


def readiness(ctx: Context) -> Readiness:
    """Readiness (`/readyz`): one query for the schema's revision. Why the database did not answer
    is logged, not told to the caller (it may name hosts)."""
    try:
        state = ctx.units.schema_state()
    except Exception as e:
        log.warning("not ready: the database cannot be reached: %s", _first_line(e))
        return Readiness("database_unreachable", "the database cannot be reached", None)
    if not state.at_head:
        at = ", ".join(state.current) or "no revision (never migrated)"
        needs = ", ".join(state.head)
        detail = f"the database schema is at {at}, this code needs {needs}: run `orderguard migrate`"
        log.warning("not ready: %s", detail)
        return Readiness("schema_not_at_head", detail, state)
    return Readiness(None, "the database answers and its schema is at head", state)


@dataclass(frozen=True, slots=True)
class Watched:
    """What `/metrics` reads from the database at each scrape."""

    due: dict[str, int]  # armed deadlines due now, by kind: the backlog
    ledger_check: LedgerCheckResult | None  # the last `orderguard ledger check`


def watched(ctx: Context) -> Watched:
    """One read-only transaction; `now` is the clock port's (virtual in sandbox mode)."""
    now = ctx.clock.now()
    with ctx.reading() as uow:
        return Watched(uow.deadlines.due_counts(now), uow.ledger.last_check())


def _first_line(e: BaseException) -> str:
    return next(iter(str(e).strip().splitlines()), type(e).__name__)
