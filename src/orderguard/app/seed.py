"""The demo marketplace: one product offered by 24 stores, a few more, buyers and an admin."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from orderguard.app import accounts, catalogue
from orderguard.app.catalogue import OptionInput
from orderguard.app.context import SYSTEM, Context, Principal
from orderguard.app.ports import ProductListing, StoreListing
from orderguard.domain.machine import Actor

STORE_NAMES = [
    "Aurora Gadgets",
    "Blue Lotus",
    "Cheng Trading",
    "Dragon Mall",
    "Eastern Star",
    "Fuxing Direct",
    "Golden Bridge",
    "Harbor Goods",
    "Infinity Store",
    "Jade Garden",
    "Kite Electronics",
    "Lucky Cat",
    "Maple Outlet",
    "Nova Supply",
    "Orient Express",
    "Panda Depot",
    "Qilin House",
    "Red Lantern",
    "Silk Road Shop",
    "Tiger Mart",
    "Unity Bazaar",
    "Vista Retail",
    "Willow Lane",
    "Xin Yue",
]


@dataclass(frozen=True, slots=True)
class DemoAccount:
    role: str
    name: str
    token: str


def is_seeded(ctx: Context) -> bool:
    with ctx.reading() as uow:
        return uow.accounts.count_accounts() > 0


def seed(ctx: Context, on_store: Callable[[], None] | None = None) -> list[DemoAccount]:
    """The demo marketplace; `on_store` is called as each of the STORE_NAMES stores is made (progress)."""
    made: list[DemoAccount] = []

    def account(role: str, name: str) -> Principal:
        new = accounts.create_account(ctx, role, name)
        made.append(DemoAccount(role, name, new.token))
        return Principal(new.id, accounts.ROLES[role])

    account("admin", "Ada Admin")
    for name in ("Ann Buyer", "Boris Buyer", "Chen Buyer"):
        account("buyer", name)
    first_seller = account("seller", "Sam Seller")
    phone_case = catalogue.create_product(ctx, first_seller, "Shockproof phone case", "TPU, 6.1 inch")["id"]
    cable = catalogue.create_product(ctx, first_seller, "USB-C cable 2 m", "100 W, braided")["id"]
    for i, store_name in enumerate(STORE_NAMES):
        seller = first_seller if i == 0 else _quiet_seller(ctx, f"{store_name} owner")
        store_id = catalogue.create_store(ctx, seller, store_name)["id"]
        price = 3_49 + (i * 37) % 250  # 3.49 .. 5.98 USD
        options = [
            OptionInput("postal", (i * 13) % 150, 18 + i % 25),
            OptionInput("cainiao", 1_20 + (i * 7) % 180, 9 + i % 8),
        ]
        if i % 3 == 0:
            options.append(OptionInput("dhl", 7_90 + (i * 11) % 300, 4 + i % 4))
        catalogue.create_offer(
            ctx, seller, store_id, phone_case, price, "USD", 50 + i * 10, 1 + i % 5, options
        )
        if i % 4 == 0:
            catalogue.create_offer(
                ctx,
                seller,
                store_id,
                cable,
                2_99 + i * 11,
                "USD",
                200,
                2,
                [OptionInput("postal", 0, 25), OptionInput("cainiao", 99, 12)],
            )
        if on_store is not None:
            on_store()
    return made


def _quiet_seller(ctx: Context, name: str) -> Principal:
    new = accounts.create_account(ctx, "seller", name)
    return Principal(new.id, Actor.SELLER)


@dataclass(frozen=True, slots=True)
class DemoGuide:
    """What a newcomer needs beyond the tokens to follow the README's tour from the API alone."""

    products: list[ProductListing]  # the catalogue's first products, with their offer counts
    stores: dict[str, list[StoreListing]]  # seller account name -> the stores that account owns


def demo_guide(ctx: Context, accounts_shown: Sequence[Sequence[str]]) -> DemoGuide:
    """The catalogue's first products, and the stores of each seller among `accounts_shown`
    ((role, name, token), as the demo's tokens file keeps them)."""
    products = catalogue.list_products(ctx, SYSTEM, None, None, 10).products
    stores: dict[str, list[StoreListing]] = {}
    for role, name, token in (row for row in accounts_shown if len(row) == 3):
        seller = accounts.authenticate(ctx, token) if role == "seller" else None
        if seller is not None:
            stores[name] = catalogue.list_stores(ctx, seller, True, None, 10).stores
    return DemoGuide(products, stores)
