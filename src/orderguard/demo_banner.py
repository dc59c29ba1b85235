"""What the demo's banner shows beyond its tokens: product ids and each seller's store (issue #11).

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
from orderguard.app.seed import demo_guide


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
