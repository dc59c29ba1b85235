"""The demo's output beyond its tokens (issue #11): the seeding's progress, the products' ids and
each seller's store.

A newcomer follows the README's tour from the API alone: the banner names the seeded products with
their ids and offer counts, and the store the seller account owns (the tour ships as that seller,
so the order must come from that store). The same is found later with `GET /v1/products` and
`GET /v1/stores?mine=true`.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from orderguard.app.context import Context
from orderguard.app.seed import STORE_NAMES, DemoAccount, demo_guide, seed
from orderguard.observability.progress import progress


def seed_showing_progress(ctx: Context) -> list[DemoAccount]:
    """`app.seed.seed`, with a progress bar on stderr (a store, its seller and its offers at a time)."""
    with progress("seeding the demo marketplace", total=len(STORE_NAMES)) as advance:
        return seed(ctx, on_store=advance)


def print_guide(console: Console, ctx: Context, accounts: Sequence[Sequence[str]]) -> None:
    guide = demo_guide(ctx, accounts)
    if guide.products:
        table = Table(
            "product id", "title", "offers", title="Products (GET /v1/products)", title_justify="left"
        )
        for p in guide.products:
            table.add_row(p.id, p.title, str(p.offer_count))
        table.columns[0].no_wrap = True
        console.print(table)
    for seller, stores in guide.stores.items():
        owned = ", ".join(f"{s.name} ({s.id})" for s in stores) or "no store yet"
        console.print(
            f"  {seller} owns {owned}: as {seller}, ship the orders placed with that store", soft_wrap=True
        )
