"""An in-memory store behind app/'s unit-of-work port, after cosmicpython's FakeUnitOfWork.

`FakeDatabase` holds the rows as Python objects and opens units of work over them: a writing
unit works on the live rows and, should its block raise, puts back a copy taken when it opened
(rollback); a reading unit refuses writes. Each repository method does what the SQL function of
the same name does (store/*_repo.py), in the same order, so the use cases cannot tell the two
apart. Row locks are no-ops (one thread); `held` names subjects "another transaction holds",
which `load_subjects` skips as SKIP LOCKED would.
"""

from __future__ import annotations

import copy
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from orderguard.app.context import Context, PolicyBook, load_policy_file
from orderguard.app.ports import (
    DueDeadline,
    LedgerCheckResult,
    OpenCart,
    OrderListingData,
    OrderMoney,
    OrderPageData,
    ProductListing,
    SchemaState,
    Stale,
    StoredKey,
    StoreListing,
    TokenHolder,
    TokenRow,
    UniqueViolation,
    UnitOfWork,
)
from orderguard.domain.cancellation import CANCELLABLE_STATES
from orderguard.domain.cancellation_requests import CancellationRequest, RequestState
from orderguard.domain.catalogue import Offer
from orderguard.domain.checkout import CartItem
from orderguard.domain.complaints import Complaint, SellerRecord, cancellation_outcome, proof_outcome, timing
from orderguard.domain.decision import Decision
from orderguard.domain.disputes import Dispute, Evidence, Proposal, ReturnScan
from orderguard.domain.fines import Fine
from orderguard.domain.ledger import escrow
from orderguard.domain.messages import Message
from orderguard.domain.orders import LEAVE_CART, Order
from orderguard.domain.payments import Payment
from orderguard.domain.policy import PolicyVersion
from orderguard.domain.proof_requests import ProofRequest
from orderguard.domain.refunds import Refund, RefundState
from orderguard.domain.shipments import Shipment, shipped_quantities
from orderguard.domain.shipping import CodeHolder, Scan
from orderguard.ids import new_id
from orderguard.providers.clock import FixedClock
from orderguard.providers.payments import (
    PaymentDeclined,
    ProviderUnavailable,
    RefundDeclined,
    RefundReceipt,
    RefundStatus,
    SandboxPayments,
)

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@dataclass
class Deadline:
    id: int
    subject_type: str
    subject_id: str
    order_id: str
    kind: str
    due_at: datetime
    state: str = "armed"
    settled_at: datetime | None = None


@dataclass
class Rows:
    """Every table, as the fake keeps it."""

    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    stores: dict[str, dict[str, Any]] = field(default_factory=dict)
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    offers: dict[str, Offer] = field(default_factory=dict)
    offer_created: dict[str, datetime] = field(default_factory=dict)
    created: dict[str, datetime] = field(default_factory=dict)  # stores and products
    carts: dict[str, datetime] = field(default_factory=dict)  # buyer -> last added
    cart_items: dict[str, tuple[str, CartItem, datetime]] = field(
        default_factory=dict
    )  # (buyer, item, added)
    orders: dict[str, Order] = field(default_factory=dict)
    payments: dict[str, Payment] = field(default_factory=dict)
    refunds: dict[str, Refund] = field(default_factory=dict)
    shipments: dict[str, Shipment] = field(default_factory=dict)
    cancellation_requests: dict[str, CancellationRequest] = field(default_factory=dict)
    fines: dict[str, Fine] = field(default_factory=dict)
    tracking_codes: dict[tuple[str, str], CodeHolder] = field(default_factory=dict)
    scans: list[tuple[str, Scan, str, datetime]] = field(default_factory=list)  # (shipment, scan, source, at)
    webhooks: set[tuple[str, str]] = field(default_factory=set)
    deadlines: list[Deadline] = field(default_factory=list)
    postings: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    keys: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    policies: dict[str, Any] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)
    proof_requests: dict[str, ProofRequest] = field(default_factory=dict)
    complaints: dict[str, Complaint] = field(default_factory=dict)
    disputes: dict[str, Dispute] = field(default_factory=dict)  # kept in insertion order
    dispute_proposals: dict[str, Proposal] = field(default_factory=dict)
    dispute_evidence: list[Evidence] = field(default_factory=list)
    return_scans: list[tuple[str, ReturnScan, str, datetime]] = field(default_factory=list)
    message_disputes: dict[int, str] = field(default_factory=dict)  # message id -> its dispute
    last_id: int = 0  # of events, deadlines and notifications, as their SERIAL columns count

    def next_id(self) -> int:
        self.last_id += 1
        return self.last_id


class _Repository:
    def __init__(self, rows: Rows, writable: bool) -> None:
        self.rows = rows
        self._writable = writable

    def _write(self) -> Rows:
        assert self._writable, "a write in a reading unit of work"
        return self.rows


class FakeOrders(_Repository):
    def load_order(self, order_id: str, *, lock: bool = False) -> Order | None:
        return self.rows.orders.get(order_id)

    def load_orders(self, order_ids: Iterable[str], *, lock: bool = False) -> dict[str, Order]:
        return {i: self.rows.orders[i] for i in sorted(set(order_ids)) if i in self.rows.orders}

    def page(
        self,
        *,
        buyer_id: str | None,
        store_ids: set[str] | None,
        status: str | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Order]:
        """Up to `limit` orders, newest first, after the (placed_at, id) `after`."""
        found = [
            (o.placed_at, o.id)
            for o in self.rows.orders.values()
            if (buyer_id is None or o.buyer_id == buyer_id)
            and (store_ids is None or o.store_id in store_ids)
            and (not status or o.state == status)
            and (after is None or (o.placed_at, o.id) < after)
        ]
        return [self.rows.orders[i] for _, i in sorted(found, reverse=True)[:limit]]


class FakeCancellations(_Repository):
    def load_request(self, request_id: str, *, lock: bool = False) -> CancellationRequest | None:
        return self.rows.cancellation_requests.get(request_id)

    def requests_of(self, order_id: str) -> list[CancellationRequest]:
        mine = [r for r in self.rows.cancellation_requests.values() if r.order_id == order_id]
        return sorted(mine, key=lambda r: (r.created_at, r.id))

    def open_requests(self, order_id: str) -> list[CancellationRequest]:
        return [r for r in self.requests_of(order_id) if r.state == RequestState.OPEN]

    def open_requests_of(self, order_ids: Iterable[str]) -> dict[str, list[CancellationRequest]]:
        return {i: found for i in set(order_ids) if (found := self.open_requests(i))}

    def fines_of(self, store_id: str, after: tuple[datetime, str] | None, limit: int) -> list[Fine]:
        mine = [f for f in self.rows.fines.values() if f.store_id == store_id]
        mine = [f for f in mine if after is None or (f.created_at, f.id) < after]
        return sorted(mine, key=lambda f: (f.created_at, f.id), reverse=True)[:limit]


class FakePayments(_Repository):
    def load_payment(self, payment_id: str, *, lock: bool = False) -> Payment | None:
        return self.rows.payments.get(payment_id)

    def lock_with_order(self, payment_id: str, order_id: str) -> tuple[Order | None, Payment | None]:
        return self.rows.orders.get(order_id), self.rows.payments.get(payment_id)

    def payments_of(self, order_id: str) -> list[Payment]:
        mine = (p for p in self.rows.payments.values() if p.order_id == order_id)
        return sorted(mine, key=lambda p: (p.created_at, p.id))

    def captured_payment(self, order_id: str) -> Payment | None:
        return next(
            (p for p in self.rows.payments.values() if p.order_id == order_id and p.state == "captured"),
            None,
        )


class FakeRefunds(_Repository):
    def load_refund(self, refund_id: str, *, lock: bool = False) -> Refund | None:
        return self.rows.refunds.get(refund_id)

    def refunds_of(self, order_id: str) -> list[Refund]:
        mine = [r for r in self.rows.refunds.values() if r.order_id == order_id]
        return sorted(mine, key=lambda r: (r.created_at, r.id))

    def refunded_total(self, order_id: str) -> int:
        return sum(r.amount for r in self.refunds_of(order_id))

    def admin_refunds(
        self,
        *,
        status: str | None,
        overdue_at: datetime | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Refund]:
        found = [
            r
            for r in self.rows.refunds.values()
            if (not status or r.state == status)
            and (
                overdue_at is None
                or (r.state != RefundState.SETTLED and r.settle_by is not None and r.settle_by <= overdue_at)
            )
            and (after is None or (r.created_at, r.id) > after)
        ]
        return sorted(found, key=lambda r: (r.created_at, r.id))[:limit]

    def refund_deadlines(self, refund_ids: Iterable[str]) -> dict[str, list[tuple[str, datetime]]]:
        ids = set(refund_ids)
        out: dict[str, list[tuple[str, datetime]]] = {i: [] for i in ids}
        armed = sorted((d for d in self.rows.deadlines if d.state == "armed"), key=lambda d: (d.due_at, d.id))
        for d in armed:
            if d.subject_type == "refund" and d.subject_id in ids:
                out[d.subject_id].append((d.kind, d.due_at))
        return out


class FakeShipments(_Repository):
    def shipped_quantities(self, order_id: str) -> dict[str, int]:
        return shipped_quantities(s for s in self.rows.shipments.values() if s.order_id == order_id)

    def claim_tracking_code(self, carrier: str, code: str, shipper: CodeHolder, now: datetime) -> CodeHolder:
        return self._write().tracking_codes.setdefault((carrier, code), shipper)

    def code_owner(self, carrier: str, code: str) -> CodeHolder | None:
        return self.rows.tracking_codes.get((carrier, code))

    def by_tracking_code(self, carrier: str, code: str) -> list[tuple[Shipment, CodeHolder]]:
        found = sorted(
            (s for s in self.rows.shipments.values() if (s.carrier, s.tracking_code) == (carrier, code)),
            key=lambda s: s.id,
        )
        orders = self.rows.orders
        return [(s, CodeHolder(orders[s.order_id].store_id, orders[s.order_id].buyer_id)) for s in found]

    def shipment(self, shipment_id: str) -> Shipment | None:
        return self.rows.shipments.get(shipment_id)

    def shipments_of(self, order_ids: Iterable[str]) -> list[Shipment]:
        wanted = set(order_ids)
        return sorted(
            (s for s in self.rows.shipments.values() if s.order_id in wanted),
            key=lambda s: (s.shipped_at, s.id),
        )

    def scans_of(self, shipment_ids: Iterable[str]) -> dict[str, list[Scan]]:
        wanted = set(shipment_ids)
        out: dict[str, list[Scan]] = defaultdict(list)
        in_order = sorted(enumerate(self.rows.scans), key=lambda r: (r[1][1].occurred_at, r[0]))
        for _, (sid, scan, _, _) in in_order:
            if sid in wanted:
                out[sid].append(scan)
        return out

    def insert_scans(self, rows: Sequence[tuple[str, Scan]], source: str, now: datetime) -> None:
        self._write().scans.extend((sid, scan, source, now) for sid, scan in rows)

    def remember_webhook(self, carrier: str, signature: str, now: datetime) -> bool:
        seen = self._write().webhooks
        if (carrier, signature) in seen:
            return False
        seen.add((carrier, signature))
        return True


class FakeDeadlines(_Repository):
    def _armed(self) -> list[Deadline]:
        return sorted((d for d in self.rows.deadlines if d.state == "armed"), key=lambda d: (d.due_at, d.id))

    def claim_due(self, now: datetime, limit: int) -> list[DueDeadline]:
        due = [d for d in self._armed() if d.due_at <= now][:limit]
        return [DueDeadline(d.id, d.subject_type, d.subject_id, d.order_id, d.kind, d.due_at) for d in due]

    def settle(self, outcomes: Sequence[tuple[int, str]], now: datetime) -> None:
        states = dict(outcomes)
        for d in self._write().deadlines:
            if d.id in states and d.state == "armed":
                d.state, d.settled_at = states[d.id], now

    def next_due_at(self, until: datetime) -> datetime | None:
        return next((d.due_at for d in self._armed() if d.due_at <= until), None)

    def armed_deadline_dues(self, order_id: str) -> list[tuple[str, str, datetime]]:
        return [(d.subject_type, d.kind, d.due_at) for d in self._armed() if d.order_id == order_id]

    def armed_deadline_dues_of(self, order_ids: Iterable[str]) -> dict[str, list[tuple[str, str, datetime]]]:
        return {i: found for i in set(order_ids) if (found := self.armed_deadline_dues(i))}

    def due_counts(self, now: datetime) -> dict[str, int]:
        return dict(Counter(d.kind for d in self._armed() if d.due_at <= now))


class FakeLedger(_Repository):
    def _sum(self, keep: Callable[[dict[str, Any]], bool]) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for p in self.rows.postings:
            if keep(p):
                out[p["currency"]] += p["amount"]
        return dict(out)

    def balance(self, account: str) -> dict[str, int]:
        return self._sum(lambda p: p["account"] == account)

    def order_money(self, order_id: str, currency: str) -> OrderMoney:
        account = escrow(order_id)
        paid = sum(self._sum(lambda p: p["account"] == account and p["kind"] == "capture").values())
        return OrderMoney(paid, self.balance(account).get(currency, 0))

    def escrow_balances(self, order_ids: list[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for p in self.rows.postings:
            if p["order_id"] in order_ids and p["account"].startswith("escrow:"):
                out[p["order_id"]] = out.get(p["order_id"], 0) + p["amount"]
        return out

    def last_check(self) -> LedgerCheckResult | None:
        return None  # `orderguard ledger check` runs over SQL only


class FakeCarts(_Repository):
    def lock_cart(self, buyer_id: str) -> None:
        pass

    def cart_item_rows(self, buyer_id: str) -> list[tuple[CartItem, datetime]]:
        mine = [(item, at) for buyer, item, at in self.rows.cart_items.values() if buyer == buyer_id]
        return sorted(mine, key=lambda r: (r[1], r[0].id))

    def last_added_at(self, buyer_id: str) -> datetime | None:
        return self.rows.carts.get(buyer_id)

    def open_cart(
        self, buyer_id: str, *, adding: str | None = None, lock_free_offers: bool = False
    ) -> OpenCart:
        items = self.cart_item_rows(buyer_id)
        wanted = {i.offer_id for i, _ in items if i.order_id is None or not lock_free_offers}
        if adding is not None and not lock_free_offers:
            wanted.add(adding)
        offers = {i: self.rows.offers[i] for i in sorted(wanted) if i in self.rows.offers}
        products = {o.product_id for o in offers.values()}
        titles = {i: p["title"] for i, p in self.rows.products.items() if i in products}
        return OpenCart(items, self.last_added_at(buyer_id), offers, titles)

    def touch_cart(self, buyer_id: str, now: datetime) -> None:
        self._write().carts[buyer_id] = now

    def insert_cart_item(self, buyer_id: str, item: CartItem, added_at: datetime) -> None:
        self._write().cart_items[item.id] = (buyer_id, item, added_at)

    def update_cart_item(self, item_id: str, quantity: int, added_at: datetime) -> None:
        buyer, item, _ = self._write().cart_items[item_id]
        self.rows.cart_items[item_id] = (buyer, replace(item, quantity=quantity), added_at)

    def set_cart_item_quantity(self, item_id: str, quantity: int) -> None:
        buyer, item, at = self._write().cart_items[item_id]
        self.rows.cart_items[item_id] = (buyer, replace(item, quantity=quantity), at)

    def load_cart_item(self, buyer_id: str, item_id: str) -> CartItem | None:
        row = self.rows.cart_items.get(item_id)
        return row[1] if row and row[0] == buyer_id else None

    def delete_cart_item(self, item_id: str) -> None:
        self._write().cart_items.pop(item_id, None)

    def hold_cart_items(self, holds: Sequence[tuple[str, str]]) -> None:
        for item_id, order_id in holds:
            buyer, item, at = self._write().cart_items[item_id]
            self.rows.cart_items[item_id] = (buyer, replace(item, order_id=order_id), at)


class FakeCatalogue(_Repository):
    def load_offers(self, offer_ids: Iterable[str], *, lock: bool = False) -> dict[str, Offer]:
        return {i: self.rows.offers[i] for i in sorted(set(offer_ids)) if i in self.rows.offers}

    def offers_of_product(self, product_id: str) -> list[Offer]:
        mine = [o for o in self.rows.offers.values() if o.product_id == product_id]
        return sorted(mine, key=lambda o: (self.rows.offer_created[o.id], o.id))

    def product_comparison(
        self, product_id: str
    ) -> tuple[dict[str, str] | None, list[Offer], dict[str, str]]:
        product = self.load_product(product_id)
        if product is None:
            return None, [], {}
        offers = self.offers_of_product(product_id)
        return product, offers, self.store_names({o.store_id for o in offers})

    def offer_id_of(self, store_id: str, product_id: str) -> str | None:
        return next(
            (o.id for o in self.rows.offers.values() if (o.store_id, o.product_id) == (store_id, product_id)),
            None,
        )

    def insert_offer(self, offer: Offer, created_at: datetime) -> bool:
        if self.offer_id_of(offer.store_id, offer.product_id) is not None:
            return False
        self._write().offers[offer.id] = offer
        self.rows.offer_created[offer.id] = created_at
        return True

    def take_stock(self, taken: Mapping[str, int]) -> None:
        offers = self._write().offers
        for offer_id, quantity in taken.items():
            offers[offer_id] = replace(offers[offer_id], stock=offers[offer_id].stock - quantity)

    def insert_store(self, store_id: str, seller_id: str, name: str, created_at: datetime) -> None:
        self._write().stores[store_id] = {"seller_id": seller_id, "name": name}
        self.rows.created[store_id] = created_at

    def store_owner(self, store_id: str) -> str | None:
        store = self.rows.stores.get(store_id)
        return store["seller_id"] if store else None

    def store_ids_of(self, seller_id: str) -> set[str]:
        return {i for i, s in self.rows.stores.items() if s["seller_id"] == seller_id}

    def store_names(self, store_ids: set[str]) -> dict[str, str]:
        return {i: s["name"] for i, s in self.rows.stores.items() if i in store_ids}

    def insert_product(
        self, product_id: str, title: str, description: str, created_by: str, created_at: datetime
    ) -> None:
        self._write().products[product_id] = {"id": product_id, "title": title, "description": description}
        self.rows.created[product_id] = created_at

    def product_exists(self, product_id: str) -> bool:
        return product_id in self.rows.products

    def load_product(self, product_id: str) -> dict[str, str] | None:
        product = self.rows.products.get(product_id)
        return dict(product) if product else None

    def product_titles(self, product_ids: set[str]) -> dict[str, str]:
        return {i: p["title"] for i, p in self.rows.products.items() if i in product_ids}

    def _page(self, ids: Iterable[str], after: tuple[datetime, str] | None, limit: int) -> list[str]:
        keyed = sorted((self.rows.created[i], i) for i in ids)
        return [i for at, i in keyed if after is None or (at, i) > after][:limit]

    def product_listing(self, product_id: str) -> ProductListing | None:
        p = self.rows.products.get(product_id)
        if p is None:
            return None
        count = sum(1 for o in self.rows.offers.values() if o.product_id == product_id)
        return ProductListing(p["id"], p["title"], p["description"], self.rows.created[product_id], count)

    def products_page(
        self, terms: Sequence[str], after: tuple[datetime, str] | None, limit: int
    ) -> list[ProductListing]:
        ids = [
            i
            for i, p in self.rows.products.items()
            if all(term.lower() in p["title"].lower() for term in terms)
        ]
        return [listing for i in self._page(ids, after, limit) if (listing := self.product_listing(i))]

    def store_listing(self, store_id: str) -> StoreListing | None:
        s = self.rows.stores.get(store_id)
        if s is None:
            return None
        count = sum(1 for o in self.rows.offers.values() if o.store_id == store_id)
        return StoreListing(store_id, s["name"], s["seller_id"], self.rows.created[store_id], count)

    def stores_page(
        self, seller_id: str | None, after: tuple[datetime, str] | None, limit: int
    ) -> list[StoreListing]:
        ids = [i for i, s in self.rows.stores.items() if seller_id is None or s["seller_id"] == seller_id]
        return [listing for i in self._page(ids, after, limit) if (listing := self.store_listing(i))]


class FakeAccounts(_Repository):
    def email_taken(self, email: str) -> bool:
        return any(a["email"] == email for a in self.rows.accounts.values())

    def account_exists(self, account_id: str) -> bool:
        return account_id in self.rows.accounts

    def insert_account(
        self, account_id: str, role: str, name: str, email: str | None, created_at: datetime
    ) -> None:
        if account_id in self.rows.accounts or (email is not None and self.email_taken(email)):
            raise UniqueViolation(f"account {account_id} or email {email} exists")
        self._write().accounts[account_id] = {"role": role, "name": name, "email": email}

    def count_accounts(self) -> int:
        return len(self.rows.accounts)

    def insert_token(
        self, token_id: str, account_id: str, digest: str, created_at: datetime, expires_at: datetime | None
    ) -> None:
        self._write().tokens[token_id] = {
            "digest": digest,
            "row": TokenRow(token_id, account_id, created_at, expires_at, None),
        }

    def token_holder(self, digest: str) -> TokenHolder | None:
        row = next((t["row"] for t in self.rows.tokens.values() if t["digest"] == digest), None)
        if row is None:
            return None
        return TokenHolder(
            row.account_id, self.rows.accounts[row.account_id]["role"], row.expires_at, row.revoked_at
        )

    def token_holder_later(self, digest: str) -> Callable[[], TokenHolder | None]:
        holder = self.token_holder(digest)
        return lambda: holder

    def account_tokens(self, account_id: str) -> list[TokenRow]:
        mine = [t["row"] for t in self.rows.tokens.values() if t["row"].account_id == account_id]
        return sorted(mine, key=lambda r: (r.created_at, r.id))

    def token_by(self, *, token_id: str | None = None, digest: str | None = None) -> TokenRow | None:
        for t in self.rows.tokens.values():
            if (token_id is not None and t["row"].id == token_id) or (
                token_id is None and t["digest"] == digest
            ):
                row: TokenRow = t["row"]
                return row
        return None

    def revoke_tokens(
        self, at: datetime, *, token_id: str | None = None, account_id: str | None = None
    ) -> int:
        revoked = 0
        for t in self._write().tokens.values():
            row = t["row"]
            mine = row.id == token_id if token_id is not None else row.account_id == account_id
            if mine and row.revoked_at is None:
                t["row"] = replace(row, revoked_at=at)
                revoked += 1
        return revoked


class FakeIdempotencyRecords(_Repository):
    def _held(self, account_id: str, key: str, holder: str) -> dict[str, Any] | None:
        row = self.rows.keys.get((account_id, key))
        return row if row and row["holder"] == holder and row["status_code"] is None else None

    def insert_key(
        self,
        account_id: str,
        key: str,
        request_hash: str,
        holder: str,
        created_at: datetime,
        lease_until: datetime,
    ) -> Callable[[], bool]:
        if (account_id, key) in self.rows.keys:
            return lambda: False
        self._write().keys[(account_id, key)] = {
            "request_hash": request_hash,
            "status_code": None,
            "content_type": None,
            "body": None,
            "holder": holder,
            "lease_until": lease_until,
        }
        return lambda: True

    def load_key(self, account_id: str, key: str) -> StoredKey | None:
        row = self.rows.keys.get((account_id, key))
        return StoredKey(**row) if row else None

    def take_over(
        self,
        account_id: str,
        key: str,
        request_hash: str,
        holder: str,
        now: datetime,
        lease_until: datetime,
    ) -> bool:
        row = self.rows.keys.get((account_id, key))
        lapsed = row is not None and (row["lease_until"] is None or row["lease_until"] < now)
        if row is None or row["request_hash"] != request_hash or row["status_code"] is not None or not lapsed:
            return False
        self._write()
        row.update(holder=holder, lease_until=lease_until)
        return True

    def renew_lease(self, account_id: str, key: str, holder: str, lease_until: datetime) -> bool:
        row = self._held(account_id, key, holder)
        if row is None:
            return False
        self._write()
        row["lease_until"] = lease_until
        return True

    def store_response(
        self,
        account_id: str,
        key: str,
        holder: str,
        status_code: int,
        content_type: str | None,
        body: str,
    ) -> Callable[[], bool]:
        row = self._held(account_id, key, holder)
        if row is None:
            return lambda: False
        self._write()
        row.update(
            status_code=status_code, content_type=content_type, body=body, holder=None, lease_until=None
        )
        return lambda: True

    def delete_key(self, account_id: str, key: str, holder: str) -> None:
        if self._held(account_id, key, holder) is not None:
            del self._write().keys[(account_id, key)]


class FakeNotifications(_Repository):
    def notifications_of(self, account_id: str, limit: int) -> list[dict[str, Any]]:
        mine = [n for n in self.rows.notifications if n["account_id"] == account_id]
        return [
            {k: n[k] for k in ("id", "kind", "order_id", "text", "created_at")}
            for n in sorted(mine, key=lambda n: n["id"], reverse=True)[:limit]
        ]

    def notify(self, rows: Sequence[tuple[str, str, str, str]], now: datetime) -> None:
        written = self._write()
        for order_id, recipient, kind, text in rows:
            order = written.orders[order_id]
            parties = {"buyer": order.buyer_id, "seller": written.stores[order.store_id]["seller_id"]}
            written.notifications.append(
                {
                    "id": written.next_id(),
                    "account_id": parties[recipient],
                    "order_id": order_id,
                    "kind": kind,
                    "text": text,
                    "created_at": now,
                }
            )


class FakeMessages(_Repository):
    def insert_message(
        self,
        order_id: str,
        author_id: str,
        author_role: str,
        body: str,
        created_at: datetime,
        dispute_id: str | None = None,
    ) -> Message:
        rows = self._write()
        message = Message(rows.next_id(), order_id, author_id, author_role, body, created_at)
        rows.messages.append(message)
        if dispute_id is not None:
            rows.message_disputes[message.id] = dispute_id
        return message

    def messages_page(
        self, order_id: str, after: int | None, limit: int, dispute_id: str | None = None
    ) -> list[Message]:
        mine = [
            m
            for m in self.rows.messages
            if m.order_id == order_id
            and (after is None or m.id > after)
            and self.rows.message_disputes.get(m.id) == dispute_id
        ]
        return sorted(mine, key=lambda m: m.id)[:limit]


class FakeDisputes(_Repository):
    def load_dispute(self, dispute_id: str, *, lock: bool = False) -> Dispute | None:
        return self.rows.disputes.get(dispute_id)

    def disputes_of(self, order_id: str) -> list[Dispute]:
        return [d for d in self.rows.disputes.values() if d.order_id == order_id]

    def disputes_of_orders(self, order_ids: Iterable[str]) -> dict[str, list[Dispute]]:
        wanted = set(order_ids)
        out: dict[str, list[Dispute]] = {}
        for d in self.rows.disputes.values():
            if d.order_id in wanted:
                out.setdefault(d.order_id, []).append(d)
        return out

    def open_disputes(self, order_id: str) -> list[Dispute]:
        return [d for d in self.disputes_of(order_id) if d.is_open]

    def disputes_page(
        self,
        *,
        buyer_id: str | None,
        store_ids: set[str] | None,
        status: str | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Dispute]:
        found = [
            d
            for d in self.rows.disputes.values()
            if (buyer_id is None or d.buyer_id == buyer_id)
            and (store_ids is None or d.store_id in store_ids)
            and (status is None or d.state == status)
            and (after is None or (d.opened_at, d.id) < after)
        ]
        return sorted(found, key=lambda d: (d.opened_at, d.id), reverse=True)[:limit]

    def escalated_page(self, after: tuple[datetime, str] | None, limit: int) -> list[Dispute]:
        found = [
            d
            for d in self.rows.disputes.values()
            if d.state == "escalated"
            and d.escalated_at is not None
            and (after is None or (d.escalated_at, d.id) > after)
        ]
        return sorted(found, key=lambda d: (d.escalated_at or d.opened_at, d.id))[:limit]

    def by_return_code(self, carrier: str, code: str) -> list[Dispute]:
        return [
            d
            for d in self.rows.disputes.values()
            if (d.return_carrier, d.return_tracking_code) == (carrier, code)
        ]

    def party_records(self, *, buyer_id: str, store_id: str) -> tuple[dict[str, int], dict[str, int]]:
        def count(found: list[Dispute]) -> dict[str, int]:
            out: dict[str, int] = {}
            for d in found:
                key = d.state if d.is_open else f"{d.state}:{d.decided_by or d.outcome}"
                out[key] = out.get(key, 0) + 1
            return out

        every = list(self.rows.disputes.values())
        return count([d for d in every if d.buyer_id == buyer_id]), count(
            [d for d in every if d.store_id == store_id]
        )

    def proposals_of(self, dispute_ids: Iterable[str]) -> list[Proposal]:
        wanted = set(dispute_ids)
        return [p for p in self.rows.dispute_proposals.values() if p.dispute_id in wanted]

    def load_proposal(self, proposal_id: str) -> Proposal | None:
        return self.rows.dispute_proposals.get(proposal_id)

    def open_proposals(self, dispute_id: str) -> list[Proposal]:
        return [p for p in self.proposals_of([dispute_id]) if p.state == "open"]

    def insert_evidence(self, evidence: Evidence) -> None:
        self._write().dispute_evidence.append(evidence)

    def evidence_of(self, dispute_ids: Iterable[str]) -> list[Evidence]:
        wanted = set(dispute_ids)
        return [e for e in self.rows.dispute_evidence if e.dispute_id in wanted]

    def insert_return_scans(self, rows: Sequence[tuple[str, ReturnScan]], source: str, now: datetime) -> int:
        written = self._write()
        seen = {(d, s) for d, s, _, _ in written.return_scans}
        fresh = [(d, s) for d, s in rows if (d, s) not in seen]
        written.return_scans += [(d, s, source, now) for d, s in fresh]
        return len(fresh)

    def return_scans_of(self, dispute_id: str) -> list[ReturnScan]:
        found = [s for d, s, _, _ in self.rows.return_scans if d == dispute_id]
        return sorted(found, key=lambda s: s.occurred_at)


class FakeEvents(_Repository):
    def timeline_events(self, order_id: str) -> list[dict[str, Any]]:
        return [
            {k: v for k, v in e.items() if k not in ("id", "order_id")}
            for e in self.rows.events
            if e["order_id"] == order_id
        ]


class FakePolicies(_Repository):
    def policy_stored(self, key: str) -> bool:
        return key in self.rows.policies

    def insert_policy(self, version: PolicyVersion, loaded_at: datetime) -> None:
        self._write().policies.setdefault(version.key, version.policy.model_dump(mode="json"))

    def policy_body(self, key: str) -> Any:
        return self.rows.policies.get(key)


class FakeProofs(_Repository):
    def load_proof_request(self, proof_id: str, *, lock: bool = False) -> ProofRequest | None:
        return self.rows.proof_requests.get(proof_id)

    def proof_requests_of(self, order_id: str) -> list[ProofRequest]:
        mine = [p for p in self.rows.proof_requests.values() if p.order_id == order_id]
        return sorted(mine, key=lambda p: (p.created_at, p.id))

    def complaints_page(self, after: tuple[datetime, str] | None, limit: int) -> list[Complaint]:
        found = [c for c in self.rows.complaints.values() if after is None or (c.created_at, c.id) < after]
        return sorted(found, key=lambda c: (c.created_at, c.id), reverse=True)[:limit]

    def seller_records(self, store_ids: Iterable[str]) -> dict[str, SellerRecord]:
        endings = {"approved", "rejected", "rejected_as_shipped", "auto_approved", "withdrawn", "overtaken"}
        ended: dict[str, tuple[str | None, datetime | None]] = {
            e["subject_id"]: (e["kind"], e["at"])
            for e in self.rows.events
            if e["subject_type"] == "cancellation_request" and e["kind"] in endings
        }
        out = {}
        for store_id in sorted(set(store_ids)):
            requests = []
            for r in self.rows.cancellation_requests.values():
                if r.store_id == store_id and r.created_at is not None:
                    kind, at = ended.get(r.id, (None, None))
                    requests.append((r.created_at, at, cancellation_outcome(r.state, kind)))
            proofs = [
                (p.created_at, p.uploaded_at, proof_outcome(p.state))
                for p in self.rows.proof_requests.values()
                if p.store_id == store_id
            ]
            out[store_id] = SellerRecord(store_id, timing(requests), timing(proofs))
        return out


def order_page_of_single_reads(
    uow: UnitOfWork, order_id: str, *, buyer_parts: bool, loaded: Order | None = None
) -> OrderPageData | None:
    """`UnitOfWork.order_page` from the repositories' single reads, one after another."""
    order = loaded if loaded is not None else uow.orders.load_order(order_id)
    if order is None:
        return None
    parcels = uow.shipments.shipments_of([order_id])
    return OrderPageData(
        order,
        parcels,
        uow.shipments.scans_of([p.id for p in parcels]),
        uow.ledger.order_money(order_id, order.currency),
        uow.deadlines.armed_deadline_dues(order_id),
        uow.payments.payments_of(order_id),
        uow.shipments.shipped_quantities(order_id) if buyer_parts else {},
        uow.cancellations.open_requests(order_id) if buyer_parts else [],
        uow.disputes.disputes_of(order_id) if buyer_parts else [],
    )


def order_listing_of_single_reads(
    uow: UnitOfWork, page: list[Order], more: bool, *, buyer_parts: bool
) -> OrderListingData:
    """`UnitOfWork.order_listing` of this page of orders from the repositories' reads of many orders,
    one after another."""
    ids = [o.id for o in page]
    cancellable = [o.id for o in page if o.state in CANCELLABLE_STATES] if buyer_parts else []
    parcels: dict[str, list[Shipment]] = {}
    for s in uow.shipments.shipments_of(ids) if buyer_parts else []:
        parcels.setdefault(s.order_id, []).append(s)
    return OrderListingData(
        page,
        more,
        uow.deadlines.armed_deadline_dues_of(ids),
        {i: found for i in cancellable if (found := uow.shipments.shipped_quantities(i))},
        uow.cancellations.open_requests_of(cancellable),
        parcels,
        (lambda: uow.disputes.disputes_of_orders(ids)) if buyer_parts else dict,
    )


class FakeUnitOfWork:
    def __init__(self, rows: Rows, writable: bool, held: set[str]) -> None:
        self.rows = rows
        self.writable = writable
        self._held = held
        self.orders = FakeOrders(rows, writable)
        self.payments = FakePayments(rows, writable)
        self.refunds = FakeRefunds(rows, writable)
        self.shipments = FakeShipments(rows, writable)
        self.cancellations = FakeCancellations(rows, writable)
        self.deadlines = FakeDeadlines(rows, writable)
        self.ledger = FakeLedger(rows, writable)
        self.carts = FakeCarts(rows, writable)
        self.catalogue = FakeCatalogue(rows, writable)
        self.accounts = FakeAccounts(rows, writable)
        self.idempotency = FakeIdempotencyRecords(rows, writable)
        self.notifications = FakeNotifications(rows, writable)
        self.events = FakeEvents(rows, writable)
        self.policies = FakePolicies(rows, writable)
        self.messages = FakeMessages(rows, writable)
        self.proofs = FakeProofs(rows, writable)
        self.disputes = FakeDisputes(rows, writable)

    def load_subjects(self, lifecycle: str, ids: Iterable[str]) -> dict[str, Any]:
        tables: dict[str, dict[str, Any]] = {
            "order": self.rows.orders,
            "payment": self.rows.payments,
            "cancellation_request": self.rows.cancellation_requests,
            "refund": self.rows.refunds,
            "proof_request": self.rows.proof_requests,
            "dispute": self.rows.disputes,
            "shipment": self.rows.shipments,
        }
        table = tables[lifecycle]
        return {i: table[i] for i in sorted(set(ids)) if i in table and i not in self._held}

    def expect_unchanged(self, subjects: Sequence[Any]) -> None:
        """What store/unchanged.py checks: each order or payment still as given."""
        for subject in subjects:
            table = {"order": self.rows.orders, "payment": self.rows.payments}[subject.lifecycle]
            if table.get(subject.id) != subject:
                raise Stale(f"{subject.lifecycle} {subject.id} changed since it was read")

    def order_listing(
        self,
        *,
        buyer_id: str | None,
        store_ids: set[str] | None,
        status: str | None,
        after: tuple[datetime, str] | None,
        limit: int,
        buyer_parts: bool,
    ) -> OrderListingData:
        found = self.orders.page(
            buyer_id=buyer_id, store_ids=store_ids, status=status, after=after, limit=limit + 1
        )
        return order_listing_of_single_reads(self, found[:limit], len(found) > limit, buyer_parts=buyer_parts)

    def order_page(
        self, order_id: str, *, buyer_parts: bool, loaded: Order | None = None
    ) -> OrderPageData | None:
        return order_page_of_single_reads(self, order_id, buyer_parts=buyer_parts, loaded=loaded)

    def save(self, decisions: Sequence[Decision[Any]], now: datetime) -> None:
        """What store/decisions.save_decisions writes, in the same order."""
        changed = [d for top in decisions for d in top.flatten() if d.changed]
        if not changed:
            return
        assert self.writable, "a write in a reading unit of work"
        rows = self.rows
        tables: dict[str, dict[str, Any]] = {
            "order": rows.orders,
            "payment": rows.payments,
            "shipment": rows.shipments,
            "cancellation_request": rows.cancellation_requests,
            "fine": rows.fines,
            "refund": rows.refunds,
            "proof_request": rows.proof_requests,
            "complaint": rows.complaints,
            "dispute": rows.disputes,
            "dispute_proposal": rows.dispute_proposals,
        }
        for d in changed:
            table = tables.get(d.subject.lifecycle)
            if table is None:
                raise ValueError(f"no writer for {d.subject.lifecycle}")
            if d.new and d.subject.id in table:
                raise UniqueViolation(f"{d.subject.lifecycle} {d.subject.id} exists")
            if not d.new and isinstance(d.subject, Shipment):  # its lines and code are never updated
                d_subject = replace(
                    table[d.subject.id],
                    state=d.subject.state,
                    state_since=d.subject.state_since,
                    sent_back_by=d.subject.sent_back_by,
                    sent_back_at=d.subject.sent_back_at,
                )
                table[d.subject.id] = d_subject
            else:
                table[d.subject.id] = d.subject
        for d in changed:
            for e in d.events:
                rows.events.append(
                    {
                        "id": rows.next_id(),
                        "order_id": d.subject.order_id,
                        "kind": e.kind,
                        "subject_type": d.subject.lifecycle,
                        "subject_id": d.subject.id,
                        "actor": str(e.actor),
                        "actor_id": e.actor_id,
                        "rule": e.rule,
                        "at": e.at,
                        "data": copy.deepcopy(e.data),
                    }
                )
        cancel = {(d.subject.id, kind) for d in changed for kind in d.cancel}
        for row in rows.deadlines:
            if row.state == "armed" and (row.subject_id, row.kind) in cancel:
                row.state, row.settled_at = "cancelled", now
        for d in changed:
            for a in d.arm:
                rows.deadlines.append(
                    Deadline(
                        rows.next_id(),
                        d.subject.lifecycle,
                        d.subject.id,
                        d.subject.order_id,
                        a.kind,
                        a.due_at,
                    )
                )
        for d in changed:
            for txn in d.ledger:
                txn_id = new_id("txn")
                rows.postings += [
                    {
                        "txn_id": txn_id,
                        "kind": txn.kind,
                        "order_id": txn.order_id,
                        "account": p.account,
                        "amount": p.amount,
                        "currency": p.currency,
                    }
                    for p in txn.postings
                ]
        for d in changed:
            order = rows.orders[d.subject.order_id]
            parties = {"buyer": order.buyer_id, "seller": rows.stores[order.store_id]["seller_id"]}
            for n in d.notifications:
                rows.notifications.append(
                    {
                        "id": rows.next_id(),
                        "account_id": parties[n.recipient],
                        "order_id": order.id,
                        "kind": n.kind,
                        "text": n.text,
                        "created_at": now,
                    }
                )
        leaving = {d.subject.id for d in changed if LEAVE_CART in d.effects}
        for item_id, (_, item, _) in list(rows.cart_items.items()):
            if item.order_id in leaving:
                del rows.cart_items[item_id]
        for d in changed:
            for offer_id, quantity in d.restock.items():
                offer = rows.offers[offer_id]
                rows.offers[offer_id] = replace(offer, stock=offer.stock + quantity)


class FakeDatabase:
    """The fake's rows and the units of work over them (the port's UnitsOfWork)."""

    waits_only_on_sockets = False

    def __init__(self) -> None:
        self.rows = Rows()
        self.held: set[str] = set()  # subject ids another transaction holds (for SKIP LOCKED)
        self.commits = 0
        self.rollbacks = 0
        self._checks: list[Callable[[UnitOfWork], None]] = []
        self._before_writing: list[Callable[[], None]] | None = None  # in a reads_shared block

    @contextmanager
    def writing(self) -> Iterator[UnitOfWork]:
        if self._before_writing:
            checks, self._before_writing = self._before_writing, []
            for check in checks:
                check()
        before = copy.deepcopy(self.rows)
        uow = FakeUnitOfWork(self.rows, True, self.held)
        try:
            yield uow
            for check in self._checks:
                check(uow)
        except BaseException:
            self.rows = before
            self.rollbacks += 1
            raise
        self.commits += 1

    @contextmanager
    def reading(self) -> Iterator[UnitOfWork]:
        yield FakeUnitOfWork(self.rows, False, self.held)

    @contextmanager
    def reads_shared(self) -> Iterator[None]:
        self._before_writing = []
        try:
            yield  # the fake's reading units all read the same rows
        finally:
            self._before_writing = None

    def confirm_before_writing(self, check: Callable[[], None]) -> None:
        if self._before_writing is not None:
            self._before_writing.append(check)

    @contextmanager
    def checked_before_commit(self, check: Callable[[UnitOfWork], None]) -> Iterator[None]:
        self._checks.append(check)
        try:
            yield
        finally:
            self._checks.remove(check)

    def schema_state(self) -> SchemaState:
        return SchemaState(("fake",), ("fake",))  # the fake has no migrations: always at its head


class ScriptedPayments:
    """A payment provider that answers as told, and remembers who asked what."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []  # (capture | start_transfer | refund ..., our reference)
        self.decline: str | None = None
        self.unavailable = False
        self.meanwhile: Callable[[], None] | None = None  # runs once, inside the next call
        self.sandbox = SandboxPayments()
        self.refunded: dict[str, tuple[int, RefundReceipt]] = {}  # reference -> (amount moved, receipt)
        self.refund_decline: str | None = None
        self.lose_answer = False
        self.refund_status_override: RefundStatus | None = None

    def _answer(self, call: str, reference: str) -> str:
        self.calls.append((call, reference))
        if self.meanwhile is not None:
            meanwhile, self.meanwhile = self.meanwhile, None
            meanwhile()
        if self.unavailable:
            raise ProviderUnavailable("the provider did not answer")
        if self.decline is not None:
            raise PaymentDeclined(self.decline)
        return f"fake_{call}_{reference}"

    def capture(self, method: str, amount: int, currency: str, reference: str) -> str:
        return self._answer("capture", reference)

    def start_transfer(self, amount: int, currency: str, reference: str) -> str:
        return self._answer("start_transfer", reference)

    # --- refunds: settled as the sandbox settles them, unless told otherwise -------------------

    def refund(
        self,
        payment_ref: str,
        method: str,
        amount: int,
        currency: str,
        reference: str,
        requested_at: datetime,
    ) -> RefundReceipt:
        """Idempotent by `reference`: the first call that gets through moves the money, and every
        call with the same reference gets its receipt. `lose_answer` moves the money, then fails to
        answer (the provider's answer lost on the way)."""
        self.calls.append(("refund", reference))
        if self.meanwhile is not None:
            meanwhile, self.meanwhile = self.meanwhile, None
            meanwhile()
        if self.unavailable:
            raise ProviderUnavailable("the provider did not answer")
        if self.refund_decline is not None and reference not in self.refunded:
            raise RefundDeclined(self.refund_decline)
        if reference not in self.refunded:
            self.refunded[reference] = (amount, self.sandbox.refund(
                payment_ref, method, amount, currency, reference, requested_at
            ))  # fmt: skip
        if self.lose_answer:
            self.lose_answer = False
            raise ProviderUnavailable("the answer was lost")
        return self.refunded[reference][1]

    def refund_status(self, provider_ref: str, now: datetime) -> RefundStatus:
        self.calls.append(("refund_status", provider_ref))
        if self.unavailable:
            raise ProviderUnavailable("the provider did not answer")
        if self.refund_status_override is not None:
            return self.refund_status_override
        return self.sandbox.refund_status(provider_ref, now)


@dataclass
class FakeWorld:
    ctx: Context
    db: FakeDatabase
    clock: FixedClock
    provider: ScriptedPayments


def fake_world(at: datetime = START) -> FakeWorld:
    """A Context over the fake store, a fixed clock and a scripted provider, with the default policy."""
    db, clock, provider = FakeDatabase(), FixedClock(at), ScriptedPayments()
    policies = PolicyBook(db, load_policy_file(), clock)
    return FakeWorld(Context(db, clock, policies, provider), db, clock, provider)
