"""A small driver for the public API, so scenario tests read like the rules they check."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from httpx import Response
from sqlalchemy import Connection

from orderguard.app import accounts, cart, catalogue
from orderguard.app.catalogue import OptionInput
from orderguard.app.context import Context, Principal
from orderguard.domain.machine import Actor
from orderguard.domain.orders import Address
from orderguard.store import pg_wire
from orderguard.store.db import reading
from orderguard.store.ledger_repo import check

if TYPE_CHECKING:  # imported by the `api` fixture at test time, where pytest's warning filters apply
    import pytest
    from fastapi.testclient import TestClient

ADDRESS = {
    "name": "Ann Buyer",
    "line1": "1 Main St",
    "city": "Warsaw",
    "postal_code": "00-001",
    "country": "PL",
}


def _on_exchange(
    monkeypatch: pytest.MonkeyPatch, record: Callable[[Sequence[pg_wire.Outgoing]], None]
) -> None:
    """`record` is handed the statements of each exchange with PostgreSQL from now on."""
    exchange = pg_wire.Wire.exchange

    def recorded(self: pg_wire.Wire, statements: Sequence[pg_wire.Outgoing]) -> list[pg_wire.Answer]:
        record(statements)
        return exchange(self, statements)

    monkeypatch.setattr(pg_wire.Wire, "exchange", recorded)


def exchanges(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many statements each exchange with PostgreSQL carries from now on (none on SQLite)."""
    carried: list[int] = []
    _on_exchange(monkeypatch, lambda statements: carried.append(len(statements)))
    return carried


def sent_sql(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SQL of each statement sent to PostgreSQL from now on, in order (none on SQLite)."""
    sent: list[str] = []
    _on_exchange(monkeypatch, lambda statements: sent.extend(sql for sql, _, _ in statements))
    return sent


def server_plans(conn: Connection, fragment: str) -> tuple[int, int]:
    """(generic plans, custom plans) the PostgreSQL server made for this session's prepared
    statements whose SQL holds `fragment`."""
    row = conn.exec_driver_sql(
        "SELECT coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0)"
        " FROM pg_prepared_statements WHERE statement LIKE %(f)s",
        {"f": f"%{fragment}%"},
    ).one()
    return int(row[0]), int(row[1])


@dataclass(frozen=True)
class Who:
    id: str
    role: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass(frozen=True)
class Listing:
    seller: Who
    store_id: str
    product_id: str
    offer: dict[str, Any]

    @property
    def offer_id(self) -> str:
        return str(self.offer["id"])


class Api:
    def __init__(self, client: TestClient, ctx: Context) -> None:
        self.client = client
        self.ctx = ctx

    # --- raw calls --------------------------------------------------------------------
    def post(
        self,
        path: str,
        who: Who | None = None,
        json: Any = None,
        expect: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        h = {**(who.auth if who else {}), **(headers or {})}
        r = self.client.post(path, json=json, headers=h)
        return _expect(r, expect)

    def get(self, path: str, who: Who | None = None, expect: int | None = 200, **params: Any) -> Response:
        r = self.client.get(path, headers=who.auth if who else {}, params=params)
        return _expect(r, expect)

    def upload(
        self,
        path: str,
        who: Who | None,
        data: bytes,
        filename: str = "proof",
        content_type: str | None = None,
        expect: int | None = None,
    ) -> Response:
        """POST one file as multipart/form-data, in the part `file`."""
        part = (filename, data, content_type) if content_type else (filename, data)
        r = self.client.post(path, files={"file": part}, headers=who.auth if who else {})
        return _expect(r, expect)

    def delete(self, path: str, who: Who | None = None, expect: int | None = 200) -> Response:
        r = self.client.delete(path, headers=who.auth if who else {})
        return _expect(r, expect)

    # --- the marketplace ------------------------------------------------------------------
    def account(self, role: str, name: str | None = None) -> Who:
        body = self.post(
            "/v1/sandbox/accounts", json={"role": role, "name": name or role.title()}, expect=201
        ).json()
        return Who(body["id"], role, body["token"])

    def buyer(self, name: str = "Ann") -> Who:
        return self.account("buyer", name)

    def listing(
        self,
        price: int = 10_00,
        currency: str = "USD",
        stock: int = 100,
        handling_days: int = 3,
        options: list[dict[str, Any]] | None = None,
        seller: Who | None = None,
        product_id: str | None = None,
    ) -> Listing:
        seller = seller or self.account("seller", "Sam")
        store = self.post("/v1/stores", seller, {"name": "Sam's store"}, expect=201).json()
        if product_id is None:
            product_id = self.post("/v1/products", seller, {"title": "Phone case"}, expect=201).json()["id"]
        offer = self.post(
            "/v1/offers",
            seller,
            {
                "store_id": store["id"],
                "product_id": product_id,
                "price": price,
                "currency": currency,
                "stock": stock,
                "handling_days": handling_days,
                "shipping_options": options or [{"carrier": "postal", "price": 2_00, "promised_days": 20}],
            },
            expect=201,
        ).json()
        return Listing(seller, store["id"], product_id, offer)

    def add(self, buyer: Who, listing: Listing, quantity: int = 1, expect: int | None = 201) -> Response:
        return self.post(
            "/v1/cart/items", buyer, {"offer_id": listing.offer_id, "quantity": quantity}, expect=expect
        )

    def checkout(self, buyer: Who, expect: int | None = 201) -> list[dict[str, Any]]:
        r = self.post("/v1/checkout", buyer, {"shipping_address": ADDRESS}, expect=expect)
        return list(r.json()["orders"]) if r.status_code == 201 else []

    def place(self, buyer: Who, listing: Listing, quantity: int = 1) -> dict[str, Any]:
        self.add(buyer, listing, quantity)
        (order,) = self.checkout(buyer)
        return order

    def pay(self, buyer: Who, order_id: str, method: str = "card", expect: int | None = 201) -> Response:
        return self.post(f"/v1/orders/{order_id}/payments", buyer, {"method": method}, expect=expect)

    def order(self, order_id: str, who: Who) -> dict[str, Any]:
        return dict(self.get(f"/v1/orders/{order_id}", who).json())

    def status(self, order_id: str, who: Who) -> str:
        return str(self.order(order_id, who)["status"])

    def advance(self, days: float = 0, hours: float = 0, minutes: float = 0) -> dict[str, Any]:
        return dict(
            self.post(
                "/v1/sandbox/clock/advance",
                json={"days": days, "hours": hours, "minutes": minutes},
                expect=200,
            ).json()
        )

    def timeline(self, order_id: str, who: Who) -> list[dict[str, Any]]:
        return list(self.get(f"/v1/orders/{order_id}/timeline", who).json()["events"])

    def assert_ledger_balanced(self) -> None:
        with reading(self.ctx.engine) as conn:
            _, problems = check(conn)
        assert problems == []


def _expect(r: Response, expect: int | None) -> Response:
    if expect is not None:
        assert r.status_code == expect, f"{r.request.method} {r.request.url} -> {r.status_code}: {r.text}"
    return r


def action(order: dict[str, Any], name: str) -> dict[str, Any]:
    return next(a for a in order["actions"] if a["action"] == name)


def deadline(order: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((d for d in order["deadlines"] if d["kind"] == kind), None)


def s10(serial: str, prefix: str = "RR", country: str = "CN") -> str:
    """A valid UPU S10 code for an eight-digit serial."""
    from orderguard.domain.shipping import s10_check_digit

    return f"{prefix}{serial}{s10_check_digit(serial)}{country}"


def seller_offer(
    ctx: Context,
    *,
    stock: int = 5,
    price: int = 10_00,
    handling_days: int = 2,
    postage: int = 1_00,
    promised_days: int = 20,
) -> tuple[Principal, str]:
    """Through the use cases, without the API: a seller (Sam) whose one store offers a phone case at
    `price` (USD), `stock` in stock, by post for `postage`. (seller, offer id)"""
    seller = Principal(accounts.create_account(ctx, "seller", "Sam").id, Actor.SELLER)
    store_id = catalogue.create_store(ctx, seller, "Sam's store")["id"]
    product_id = catalogue.create_product(ctx, seller, "Phone case", "")["id"]
    options = [OptionInput("postal", postage, promised_days)]
    offer = catalogue.create_offer(
        ctx, seller, store_id, product_id, price, "USD", stock, handling_days, options
    )
    return seller, offer.id


def seller_offer_and_buyer(ctx: Context, **offer: int) -> tuple[Principal, Principal, str]:
    """`seller_offer` (given its keywords) and a buyer (Ann): (seller, buyer, offer id)."""
    seller, offer_id = seller_offer(ctx, **offer)
    buyer = Principal(accounts.create_account(ctx, "buyer", "Ann").id, Actor.BUYER)
    return seller, buyer, offer_id


def unpaid_order(ctx: Context) -> tuple[Principal, str]:
    """`seller_offer_and_buyer`'s buyer and their unpaid order of one unit."""
    _, buyer, offer_id = seller_offer_and_buyer(ctx)
    cart.add_item(ctx, buyer, offer_id, 1, None)
    (order,) = cart.check_out(ctx, buyer, Address(**ADDRESS))
    return buyer, order.id
