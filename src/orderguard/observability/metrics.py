"""Prometheus metrics (`GET /metrics`), with the standard client library, prometheus_client.

What is measured, and where:

- `orderguard_http_requests_total{method,route,status}` and
  `orderguard_http_request_duration_seconds{method,route}`: every HTTP answer, by route template
  (`/v1/orders/{order_id}`, never the raw path); a request no route matches is `route="<unmatched>"`.
  Measured by `api.request_metrics.RequestMetrics`, plain ASGI around the whole application (a 500
  included).
- `orderguard_deadlines_armed_total{kind}`: deadlines armed by committed transactions of this process;
  `orderguard_deadlines_fired_total{kind}`, `orderguard_deadlines_stale_total{kind}` (claimed but no
  longer applying: the subject had moved on), and `orderguard_deadline_lateness_seconds{kind}`, the
  firing lateness `fired_at - due_at` as the clock port tells it: in sandbox mode, virtual time.
- `orderguard_deadline_batch_duration_seconds`: the wall time of each batch of due deadlines fired
  (`app.deadlines.fire_due` that claimed any), whether a worker, the in-process scheduler or a sandbox
  clock advance fired it.
- From the database at each scrape, so the same whichever process answers:
  `orderguard_deadlines_due{kind}` (armed and due now, not fired yet: the backlog),
  `orderguard_ledger_check_*` (the last `orderguard ledger check`: when, over how many transactions,
  its problems by kind, `..._ok` 1 or 0), and `orderguard_database_up` (0 when it did not answer).

Several processes. Counters and histograms live in the process that counted them. With one API
process (and its in-process scheduler) `/metrics` covers it all; workers started with
`orderguard worker` count their firings in their own process, which serves no HTTP. To gather the
counts of several processes of one machine (uvicorn's `--workers N`, gunicorn, workers beside the
API), start them all with `PROMETHEUS_MULTIPROC_DIR` naming one empty directory (emptied before each
start): prometheus_client's multiprocess mode then keeps each process's values in files there and
`/metrics` sums them. Without it, each API process reports its own requests, and Prometheus should
scrape each one (or sum over them). The database-derived gauges are right in every case.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from orderguard.app.ops import Watched

log = logging.getLogger("orderguard.metrics")

CONTENT_TYPE = CONTENT_TYPE_LATEST  # text/plain, the version of the format, UTF-8
REQUESTS = Counter(
    "orderguard_http_requests", "HTTP requests answered, by route template", ["method", "route", "status"]
)
LATENCY = Histogram(
    "orderguard_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by route template",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
ARMED = Counter("orderguard_deadlines_armed", "Deadlines armed (committed), by kind", ["kind"])
FIRED = Counter("orderguard_deadlines_fired", "Deadlines fired, by kind", ["kind"])
STALE = Counter(
    "orderguard_deadlines_stale", "Deadlines claimed that no longer applied and were cancelled", ["kind"]
)
LATENESS = Histogram(
    "orderguard_deadline_lateness_seconds",
    "fired_at - due_at of each deadline fired, by the clock port (virtual time in sandbox mode)",
    ["kind"],
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 86400),
)
BATCHES = Histogram(
    "orderguard_deadline_batch_duration_seconds",
    "Wall time of each batch of due deadlines fired (claim, fire, commit, calls after commit)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


# --- what the use cases report -----------------------------------------------------------------------


def deadlines_armed(kinds: Mapping[str, int]) -> None:
    for kind, n in kinds.items():
        ARMED.labels(kind).inc(n)


def deadlines_settled(
    fired: Iterable[tuple[str, float]], stale: Mapping[str, int], batch_seconds: float
) -> None:
    """A batch of firings: (kind, lateness in seconds) of each deadline fired, the stale ones by kind."""
    counts: dict[str, int] = {}
    late_by_kind: dict[str, Any] = {}  # each kind's histogram, looked up once a batch
    for kind, late in fired:
        counts[kind] = counts.get(kind, 0) + 1
        histogram = late_by_kind.get(kind)
        if histogram is None:
            histogram = late_by_kind[kind] = LATENESS.labels(kind)
        histogram.observe(max(late, 0.0))
    for kind, n in counts.items():
        FIRED.labels(kind).inc(n)
    for kind, n in stale.items():
        STALE.labels(kind).inc(n)
    BATCHES.observe(batch_seconds)


# --- exposition ----------------------------------------------------------------------------------------


def _process_registry() -> Collector:
    """This process's metrics, or with PROMETHEUS_MULTIPROC_DIR those of every process sharing it."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


class DatabaseGauges(Collector):
    """The gauges read from the database at each scrape (see the module's docstring)."""

    def __init__(self, read: Callable[[], Watched]) -> None:
        self.read = read

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("orderguard_database_up", "1 when the database answered this scrape")
        try:
            reading = self.read()
        except Exception as e:
            log.warning("metrics: the database did not answer: %s", str(e).strip().split("\n")[0])
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        due = GaugeMetricFamily(
            "orderguard_deadlines_due", "Armed deadlines due now and not fired yet, by kind", labels=["kind"]
        )
        for kind, n in sorted(reading.due.items()):
            due.add_metric([kind], n)
        yield due
        check = reading.ledger_check
        if check is None:
            return
        yield GaugeMetricFamily(
            "orderguard_ledger_check_ok",
            "1 when the last ledger check found no problem",
            value=int(not check.problems),
        )
        yield GaugeMetricFamily(
            "orderguard_ledger_check_timestamp_seconds",
            "When the last ledger check ran (Unix time)",
            value=check.checked_at.timestamp(),
        )
        yield GaugeMetricFamily(
            "orderguard_ledger_check_transactions",
            "Ledger transactions the last check went over",
            value=check.transactions,
        )
        yield GaugeMetricFamily(
            "orderguard_ledger_check_duration_seconds",
            "How long the last ledger check took",
            value=check.seconds,
        )
        problems = GaugeMetricFamily(
            "orderguard_ledger_check_problems",
            "Problems the last ledger check found, by kind",
            labels=["kind"],
        )
        for kind, n in sorted(check.problems.items()):
            problems.add_metric([kind], n)
        yield problems


def exposition(database: DatabaseGauges) -> bytes:
    """The text `/metrics` answers: this process's (or every process's) metrics, then the database's."""
    own = CollectorRegistry(auto_describe=False)
    own.register(database)
    return generate_latest(_process_registry()) + generate_latest(own)
