"""PostgreSQL's CPU for each page the API reads, with OrderGuard's session settings and without.

`uv run python -m benchmarks.pg_read_cost [--reads 4000] [--rounds 3]`

With `orderguard serve --workers 2`, two serving processes share a 2-core machine with PostgreSQL,
so the server's CPU for a page bounds how far a second process can scale the reads
(`benchmarks/README.md`, issue #12, the eighteenth change). This measures that CPU without HTTP
and without a load generator, whose own noise is larger than the differences sought: the database
of `benchmarks/http_edge.py` (seeded the same way, `ANALYZE`d), then each read of its loads run
`--reads` times in this process, as the store runs it for the API: an order's page
(`store.order_page`), the first page of the orders list of the buyer with 200 orders
(`store.order_listing`), and the offers of the phone case offered by 24 stores
(`offers_repo.product_comparison`). For each, the CPU time of this process (the client) and of
every PostgreSQL process (user + system, from /proc) a read.

Each round measures every read twice over, once on an engine whose sessions start with
`store.db.PG_SESSION_OPTIONS` and once with only `-c timezone=UTC` (PostgreSQL's planner defaults,
`random_page_cost` 4), alternating, so that a stretch where the machine runs slow falls on both.
The figures include the PostgreSQL processes' background work, so run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from benchmarks.cpu import postgres_cpu_seconds
from benchmarks.http_edge import seed_database
from benchmarks.run import DEFAULT_PG_URL, cpu_model, postgres_url
from orderguard.app.accounts import token_digest
from orderguard.store import offers_repo
from orderguard.store import tables as t
from orderguard.store.db import PG_SESSION_OPTIONS, make_engine, reading
from orderguard.store.order_listing import order_listing
from orderguard.store.order_page import order_page

SETTINGS = {"OrderGuard's": PG_SESSION_OPTIONS, "PostgreSQL's defaults": "-c timezone=UTC"}
WARM_UP = 50  # reads before each measure: statements prepared, caches filled


def reads_of(engine: Engine, order_id: str, buyer_id: str, product_id: str) -> dict[str, Callable[[], Any]]:
    def page() -> Any:
        with reading(engine) as conn:
            return order_page(conn, order_id, buyer_parts=True)

    def listing() -> Any:
        with reading(engine) as conn:
            return order_listing(
                conn, buyer_id=buyer_id, store_ids=None, status=None, after=None, limit=50, buyer_parts=True
            )

    def offers() -> Any:
        with reading(engine) as conn:
            return offers_repo.product_comparison(conn, product_id)

    return {"order page": page, "orders list": listing, "offers": offers}


def check(reads: dict[str, Callable[[], Any]]) -> None:
    """Each read finds what the seeded database holds, so the figures are of real pages."""
    page = reads["order page"]()
    listing = reads["orders list"]()
    _, offers, store_names = reads["offers"]()
    if page is None or len(listing.orders) != 50 or not listing.more or len(offers) != 24:
        raise AssertionError("a read did not find what benchmarks.http_edge seeded")
    if set(store_names) != {o.store_id for o in offers}:
        raise AssertionError("the offers' store names were not read")


def measure(read: Callable[[], Any], times: int) -> tuple[float, float]:
    """Client and server CPU a read, in µs."""
    for _ in range(WARM_UP):
        read()
    client, server = time.process_time(), postgres_cpu_seconds()
    for _ in range(times):
        read()
    return (time.process_time() - client) * 1e6 / times, (postgres_cpu_seconds() - server) * 1e6 / times


Figures = dict[tuple[str, str], list[tuple[float, float]]]  # (read, settings): (client, server) µs a round


def main(pg_url: str, times: int, rounds: int) -> Figures:
    print(f"PostgreSQL CPU a read, {times} reads each, {rounds} rounds; {os.cpu_count()} CPUs, {cpu_model()}")
    with tempfile.TemporaryDirectory(prefix="og_read_cost_") as tmp, postgres_url(pg_url, "read_cost") as url:
        seeded = seed_database(url, Path(tmp), connections=1)
        engines = {
            name: make_engine(url, connect_args={"options": options}) for name, options in SETTINGS.items()
        }
        try:
            with reading(engines["OrderGuard's"]) as conn:
                buyer_id = conn.execute(
                    select(t.tokens.c.account_id).where(
                        t.tokens.c.digest == token_digest(seeded.orders_list["token"])
                    )
                ).scalar_one()
            order_id = seeded.order_detail["path"].rsplit("/", 1)[1]
            product_id = seeded.offers["path"].split("/")[3]
            figures: Figures = {}
            for _ in range(rounds):
                for name, engine in engines.items():
                    reads = reads_of(engine, order_id, buyer_id, product_id)
                    check(reads)
                    for read, run in reads.items():
                        n = times // 4 if read == "orders list" else times
                        figures.setdefault((read, name), []).append(measure(run, n))
        finally:
            for engine in engines.values():
                engine.dispose()
    print(f"{'read':<12} {'session settings':<22} {'client µs':>22} {'PostgreSQL µs':>22}")
    for (read, name), runs in sorted(figures.items()):
        client = " / ".join(f"{c:,.0f}" for c, _ in runs)
        server = " / ".join(f"{s:,.0f}" for _, s in runs)
        print(f"{read:<12} {name:<22} {client:>22} {server:>22}")
    return figures


def _cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--reads", type=int, default=4000, help="reads of each page a round (the list: a quarter)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="PostgreSQL server")
    args = parser.parse_args()
    if args.reads < 4 or args.rounds < 1:
        parser.error("--reads must be at least 4 and --rounds at least 1")
    main(args.pg_url, args.reads, args.rounds)


if __name__ == "__main__":
    _cli()
