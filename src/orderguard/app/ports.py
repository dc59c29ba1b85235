"""The storage port: what the use cases need from the database, and nothing of how it is kept.

A use case opens one `UnitOfWork` (`ctx.uow()` to write, `ctx.reading()` to read) and reaches
the rows through its repositories, grouped by what they hold. A writing unit commits when its
block ends normally and rolls back when it raises; a reading unit writes nothing, and each of its
reads sees committed data only (SQLite: one snapshot for the unit; PostgreSQL: READ COMMITTED, a
snapshot per statement, the reads that go together in one pipeline included). Every lifecycle's
decisions are written by `save`.

The method names are those of the store's repository functions (`store/*_repo.py`), which
implement them over SQL (`store/uow.py`); tests run the use cases over an in-memory fake
(`tests/app/fakes.py`). Row locks (`lock=True`, `skip_locked=True`) are those of PostgreSQL's
`SELECT ... FOR UPDATE [SKIP LOCKED]`; an adapter whose writers never overlap may ignore them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from orderguard.domain.cancellation_requests import CancellationRequest
from orderguard.domain.catalogue import Offer
from orderguard.domain.checkout import CartItem
from orderguard.domain.complaints import Complaint, SellerRecord
from orderguard.domain.decision import Decision
from orderguard.domain.disputes import Dispute, Evidence, Proposal, ReturnScan
from orderguard.domain.fines import Fine
from orderguard.domain.messages import Message
from orderguard.domain.orders import Order
from orderguard.domain.payments import Payment
from orderguard.domain.policy import PolicyVersion
from orderguard.domain.proof_requests import ProofRequest
from orderguard.domain.refunds import Refund
from orderguard.domain.shipments import Shipment
from orderguard.domain.shipping import CodeHolder, Scan


class UniqueViolation(Exception):
    """A write met a row with the same unique key, written by a transaction that committed first."""


class Stale(Exception):
    """Rows a unit decided from, read in an earlier transaction, changed meanwhile (see
    `UnitOfWork.expect_unchanged`): the unit wrote nothing."""


# --- records the repositories hand back --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TokenHolder:
    """The account a token digest belongs to, and the token's own limits."""

    account_id: str
    role: str
    expires_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class TokenRow:
    id: str
    account_id: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class StoredKey:
    request_hash: str
    status_code: int | None  # None while a request with this key is running
    content_type: str | None
    body: str | None
    holder: str | None
    lease_until: datetime | None


@dataclass(frozen=True, slots=True)
class OpenCart:
    """A buyer's cart read whole, in one exchange with the store, its row locked (`Carts.open_cart`)."""

    items: list[tuple[CartItem, datetime]]  # with when each was added, oldest first (then by id)
    last_added_at: datetime | None
    offers: dict[str, Offer]
    titles: dict[str, str]  # product title by product id, for the offers' products


@dataclass(frozen=True, slots=True)
class DueDeadline:
    id: int
    subject_type: str
    subject_id: str
    order_id: str
    kind: str
    due_at: datetime


@dataclass(frozen=True, slots=True)
class OrderMoney:
    paid: int  # captured into escrow
    in_escrow: int  # still held: what can be refunded or released


@dataclass(frozen=True, slots=True)
class OrderPageData:
    """What an order's page shows, read at once (`UnitOfWork.order_page`)."""

    order: Order
    shipments: list[Shipment]  # oldest first
    scans: Mapping[str, list[Scan]]  # per shipment, in the order they happened
    money: OrderMoney
    deadline_dues: list[tuple[str, str, datetime]]  # as `Deadlines.armed_deadline_dues`
    payments: list[Payment]  # oldest first
    # read for the buyer's actions only (`buyer_parts`); empty otherwise
    shipped: dict[str, int]
    open_requests: list[CancellationRequest]
    disputes: list[Dispute]


@dataclass(frozen=True, slots=True)
class OrderListingData:
    """A page of a listing of orders and what their overviews show, read at once
    (`UnitOfWork.order_listing`). The parts are keyed by order id; an order without any has none."""

    orders: list[Order]  # newest first
    more: bool  # whether an order follows the page
    deadline_dues: dict[str, list[tuple[str, str, datetime]]]  # as `Deadlines.armed_deadline_dues_of`
    # read for the buyer's actions only (`buyer_parts`); empty otherwise
    shipped: dict[str, dict[str, int]]  # of the orders in a state that can be cancelled
    open_requests: dict[str, list[CancellationRequest]]  # likewise
    shipments: dict[str, list[Shipment]]  # oldest first
    # of every order of the page; on SQLite read only when called, inside the unit of work (few
    # pages hold an order whose dispute window is open)
    disputes: Callable[[], dict[str, list[Dispute]]]


@dataclass(frozen=True, slots=True)
class ProductListing:
    """A product of the catalogue, as browsing shows it."""

    id: str
    title: str
    description: str
    created_at: datetime
    offer_count: int  # how many stores offer it


@dataclass(frozen=True, slots=True)
class StoreListing:
    id: str
    name: str
    seller_id: str
    created_at: datetime
    offer_count: int  # how many products it offers


@dataclass(frozen=True, slots=True)
class SchemaState:
    """Where the database's schema stands: its migration revisions, and those of this code."""

    current: tuple[str, ...]  # empty: never migrated
    head: tuple[str, ...]

    @property
    def at_head(self) -> bool:
        return set(self.current) == set(self.head)


@dataclass(frozen=True, slots=True)
class LedgerCheckResult:
    """The last `orderguard ledger check`: when, over how many transactions, what it found."""

    checked_at: datetime
    transactions: int
    problems: dict[str, int]  # problem kind -> how many; empty when the ledger is sound
    seconds: float


# --- repositories ------------------------------------------------------------------------------


class Orders(Protocol):
    def load_order(self, order_id: str, *, lock: bool = False) -> Order | None: ...

    def load_orders(self, order_ids: Iterable[str], *, lock: bool = False) -> dict[str, Order]:
        """Orders by id; with `lock`, locked in id order until the unit of work ends."""
        ...


class Payments(Protocol):
    def load_payment(self, payment_id: str, *, lock: bool = False) -> Payment | None: ...

    def lock_with_order(self, payment_id: str, order_id: str) -> tuple[Order | None, Payment | None]:
        """The order, then the payment, each locked (orders before payments: one lock order), in one
        exchange with the store."""
        ...

    def payments_of(self, order_id: str) -> list[Payment]:
        """The order's payments, oldest first, as the API shows them."""
        ...

    def captured_payment(self, order_id: str) -> Payment | None:
        """The order's captured payment: the one its refunds go back to (R3.6)."""
        ...


class Refunds(Protocol):
    def load_refund(self, refund_id: str, *, lock: bool = False) -> Refund | None: ...

    def refunds_of(self, order_id: str) -> list[Refund]:
        """The order's refunds, oldest first."""
        ...

    def refunded_total(self, order_id: str) -> int:
        """Everything granted back on the order, settled or in flight."""
        ...

    def admin_refunds(
        self,
        *,
        status: str | None,
        overdue_at: datetime | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Refund]:
        """Up to `limit` refunds, oldest first, after the (created_at, id) `after`; only those in
        `status`, and only those unsettled past their settle-by time at `overdue_at`, when given."""
        ...

    def refund_deadlines(self, refund_ids: Iterable[str]) -> dict[str, list[tuple[str, datetime]]]:
        """(kind, due_at) of each refund's armed deadlines, soonest first."""
        ...


class Shipments(Protocol):
    def shipped_quantities(self, order_id: str) -> dict[str, int]:
        """Quantity shipped so far per order line."""
        ...

    def claim_tracking_code(self, carrier: str, code: str, shipper: CodeHolder, now: datetime) -> CodeHolder:
        """The owner of (carrier, code): `shipper` if nobody held it, else whoever did first (race-safe)."""
        ...

    def code_owner(self, carrier: str, code: str) -> CodeHolder | None: ...

    def by_tracking_code(self, carrier: str, code: str) -> list[tuple[Shipment, CodeHolder]]:
        """Every shipment under (carrier, code), with the store and buyer of its order."""
        ...

    def shipment(self, shipment_id: str) -> Shipment | None: ...

    def shipments_of(self, order_ids: Iterable[str]) -> list[Shipment]: ...

    def scans_of(self, shipment_ids: Iterable[str]) -> dict[str, list[Scan]]:
        """Scans per shipment, in the order they happened."""
        ...

    def insert_scans(self, rows: Sequence[tuple[str, Scan]], source: str, now: datetime) -> None: ...

    def remember_webhook(self, carrier: str, signature: str, now: datetime) -> bool:
        """False when this exact signed delivery was seen before, even one running concurrently."""
        ...


class Cancellations(Protocol):
    def load_request(self, request_id: str, *, lock: bool = False) -> CancellationRequest | None: ...

    def requests_of(self, order_id: str) -> list[CancellationRequest]:
        """The order's cancellation requests, oldest first."""
        ...

    def open_requests(self, order_id: str) -> list[CancellationRequest]: ...

    def open_requests_of(self, order_ids: Iterable[str]) -> dict[str, list[CancellationRequest]]:
        """`open_requests` of each of these orders (absent: none), in one go."""
        ...

    def fines_of(self, store_id: str, after: tuple[datetime, str] | None, limit: int) -> list[Fine]:
        """The store's fines, newest first, after the (created_at, id) `after`."""
        ...


class Deadlines(Protocol):
    def claim_due(self, now: datetime, limit: int) -> list[DueDeadline]:
        """The earliest armed deadlines due by `now`, locked; those other workers hold are skipped."""
        ...

    def settle(self, outcomes: Sequence[tuple[int, str]], now: datetime) -> None:
        """outcomes: (deadline id, 'fired' | 'cancelled')."""
        ...

    def next_due_at(self, until: datetime) -> datetime | None:
        """The earliest due time of an armed deadline, if one falls due by `until`."""
        ...

    def armed_deadline_dues(self, order_id: str) -> list[tuple[str, str, datetime]]:
        """(subject type, kind, due_at) of the armed deadlines of the order and its parts, soonest first."""
        ...

    def armed_deadline_dues_of(self, order_ids: Iterable[str]) -> dict[str, list[tuple[str, str, datetime]]]:
        """`armed_deadline_dues` of each of these orders (absent: none), in one go."""
        ...

    def due_counts(self, now: datetime) -> dict[str, int]:
        """How many armed deadlines of each kind are due by `now` (the backlog; `/metrics`)."""
        ...


class Ledger(Protocol):
    def balance(self, account: str) -> dict[str, int]:
        """The account's balance per currency."""
        ...

    def order_money(self, order_id: str, currency: str) -> OrderMoney: ...

    def escrow_balances(self, order_ids: list[str]) -> dict[str, int]:
        """Escrow held per order."""
        ...

    def last_check(self) -> LedgerCheckResult | None:
        """The result of the last `orderguard ledger check`, if one ran."""
        ...


class Carts(Protocol):
    def lock_cart(self, buyer_id: str) -> None:
        """Serialise the buyer's cart commands until the unit of work ends."""
        ...

    def cart_item_rows(self, buyer_id: str) -> list[tuple[CartItem, datetime]]:
        """The buyer's cart items with when each was added, oldest first (then by id)."""
        ...

    def open_cart(
        self, buyer_id: str, *, adding: str | None = None, lock_free_offers: bool = False
    ) -> OpenCart:
        """`lock_cart`, then the cart read whole: its items, when they last added, and offers with
        their products' titles. The offers are those of its free items, locked in id order, with
        `lock_free_offers` (checkout); otherwise those of all its items and of `adding` (not locked)."""
        ...

    def last_added_at(self, buyer_id: str) -> datetime | None:
        """When the buyer last added to the cart; None before their first addition."""
        ...

    def touch_cart(self, buyer_id: str, now: datetime) -> None:
        """Record `now` as the buyer's last addition."""
        ...

    def insert_cart_item(self, buyer_id: str, item: CartItem, added_at: datetime) -> None: ...

    def update_cart_item(self, item_id: str, quantity: int, added_at: datetime) -> None: ...

    def set_cart_item_quantity(self, item_id: str, quantity: int) -> None:
        """A new quantity for the item, keeping when it was added."""
        ...

    def load_cart_item(self, buyer_id: str, item_id: str) -> CartItem | None: ...

    def delete_cart_item(self, item_id: str) -> None: ...

    def hold_cart_items(self, holds: Sequence[tuple[str, str]]) -> None:
        """Hold each (cart item, order) pair's item for its unpaid order."""
        ...


class Catalogue(Protocol):
    def load_offers(self, offer_ids: Iterable[str], *, lock: bool = False) -> dict[str, Offer]:
        """Offers by id; with `lock`, locked in id order (their stock is about to change)."""
        ...

    def offers_of_product(self, product_id: str) -> list[Offer]:
        """The product's offers, oldest first."""
        ...

    def product_comparison(
        self, product_id: str
    ) -> tuple[dict[str, str] | None, list[Offer], dict[str, str]]:
        """`load_product`, `offers_of_product` and the `store_names` of those offers, in one exchange
        with the store; no offers and no names when there is no such product."""
        ...

    def offer_id_of(self, store_id: str, product_id: str) -> str | None: ...

    def insert_offer(self, offer: Offer, created_at: datetime) -> bool:
        """False (nothing written) when the store already offers the product, even concurrently."""
        ...

    def take_stock(self, taken: Mapping[str, int]) -> None:
        """Take the quantities (per offer id) off the offers' stock."""
        ...

    def insert_store(self, store_id: str, seller_id: str, name: str, created_at: datetime) -> None: ...

    def store_owner(self, store_id: str) -> str | None:
        """The seller who owns the store; None when there is no such store."""
        ...

    def store_ids_of(self, seller_id: str) -> set[str]: ...

    def store_names(self, store_ids: set[str]) -> dict[str, str]: ...

    def insert_product(
        self, product_id: str, title: str, description: str, created_by: str, created_at: datetime
    ) -> None: ...

    def product_exists(self, product_id: str) -> bool: ...

    def load_product(self, product_id: str) -> dict[str, str] | None: ...

    def product_titles(self, product_ids: set[str]) -> dict[str, str]: ...

    def products_page(
        self, terms: Sequence[str], after: tuple[datetime, str] | None, limit: int
    ) -> list[ProductListing]:
        """Up to `limit` products whose title holds every one of `terms` (case-insensitively), in
        (created_at, id) order, after the (created_at, id) `after`."""
        ...

    def product_listing(self, product_id: str) -> ProductListing | None: ...

    def stores_page(
        self, seller_id: str | None, after: tuple[datetime, str] | None, limit: int
    ) -> list[StoreListing]:
        """Up to `limit` stores (only the seller's, when `seller_id` is given) in (created_at, id)
        order, after the (created_at, id) `after`."""
        ...

    def store_listing(self, store_id: str) -> StoreListing | None: ...


class Accounts(Protocol):
    def email_taken(self, email: str) -> bool: ...

    def account_exists(self, account_id: str) -> bool: ...

    def insert_account(
        self, account_id: str, role: str, name: str, email: str | None, created_at: datetime
    ) -> None: ...

    def count_accounts(self) -> int: ...

    def insert_token(
        self, token_id: str, account_id: str, digest: str, created_at: datetime, expires_at: datetime | None
    ) -> None: ...

    def token_holder(self, digest: str) -> TokenHolder | None: ...

    def token_holder_later(self, digest: str) -> Callable[[], TokenHolder | None]:
        """`token_holder`, its answer wanted later in the same unit: it may travel with the unit's
        next statements instead of in a round trip of its own. Call the result within the unit."""
        ...

    def account_tokens(self, account_id: str) -> list[TokenRow]: ...

    def token_by(self, *, token_id: str | None = None, digest: str | None = None) -> TokenRow | None: ...

    def revoke_tokens(
        self, at: datetime, *, token_id: str | None = None, account_id: str | None = None
    ) -> int:
        """Revoke one token or every live token of an account; how many were revoked now."""
        ...


class IdempotencyRecords(Protocol):
    def insert_key(
        self,
        account_id: str,
        key: str,
        request_hash: str,
        holder: str,
        created_at: datetime,
        lease_until: datetime,
    ) -> Callable[[], bool]:
        """Reserve a new key for `holder`. Whether it was new (False: the key is there already, and
        nothing is written) is asked once the unit has committed: the write may go with the commit."""
        ...

    def load_key(self, account_id: str, key: str) -> StoredKey | None: ...

    def take_over(
        self,
        account_id: str,
        key: str,
        request_hash: str,
        holder: str,
        now: datetime,
        lease_until: datetime,
    ) -> bool:
        """Hand a key in progress whose lease has passed to `holder`; False when it is not (any more) so."""
        ...

    def renew_lease(self, account_id: str, key: str, holder: str, lease_until: datetime) -> bool:
        """Extend the lease; False when `holder` no longer holds the key."""
        ...

    def store_response(
        self,
        account_id: str,
        key: str,
        holder: str,
        status_code: int,
        content_type: str | None,
        body: str,
    ) -> Callable[[], bool]:
        """Keep the response for replay. Whether it was kept (False: `holder` no longer holds the
        key) is asked once the unit has committed: the write may go with the commit."""
        ...

    def delete_key(self, account_id: str, key: str, holder: str) -> None:
        """Free the key for a retry, if `holder` still holds it."""
        ...


class Notifications(Protocol):
    def notifications_of(self, account_id: str, limit: int) -> list[dict[str, Any]]:
        """The account's latest notifications, newest first."""
        ...

    def notify(self, rows: Sequence[tuple[str, str, str, str]], now: datetime) -> None:
        """rows: (order id, 'buyer' | 'seller', kind, text): tell the order's party, outside any decision."""
        ...


class Proofs(Protocol):
    """Proof-of-dispatch requests and complaints (R4.6); their changes are written by `save`."""

    def load_proof_request(self, proof_id: str, *, lock: bool = False) -> ProofRequest | None: ...

    def proof_requests_of(self, order_id: str) -> list[ProofRequest]:
        """The order's proof requests, oldest first."""
        ...

    def complaints_page(self, after: tuple[datetime, str] | None, limit: int) -> list[Complaint]:
        """Up to `limit` complaints, newest first, after the (created_at, id) `after`."""
        ...

    def seller_records(self, store_ids: Iterable[str]) -> dict[str, SellerRecord]:
        """Each store's response record to cancellation and proof requests (domain/complaints.py)."""
        ...


class Messages(Protocol):
    def insert_message(
        self,
        order_id: str,
        author_id: str,
        author_role: str,
        body: str,
        created_at: datetime,
        dispute_id: str | None = None,
    ) -> Message:
        """Write a message (in a dispute of the order, with `dispute_id`); its id follows those of
        the order's earlier messages (hold the order's lock)."""
        ...

    def messages_page(
        self, order_id: str, after: int | None, limit: int, dispute_id: str | None = None
    ) -> list[Message]:
        """Up to `limit` of the order's messages (of one of its disputes, with `dispute_id`), oldest
        first, after the message with id `after`."""
        ...


class Disputes(Protocol):
    def load_dispute(self, dispute_id: str, *, lock: bool = False) -> Dispute | None: ...

    def disputes_of(self, order_id: str) -> list[Dispute]:
        """The order's disputes, oldest first."""
        ...

    def disputes_of_orders(self, order_ids: Iterable[str]) -> dict[str, list[Dispute]]:
        """`disputes_of` each of these orders (a page of a listing), in one query."""
        ...

    def open_disputes(self, order_id: str) -> list[Dispute]: ...

    def disputes_page(
        self,
        *,
        buyer_id: str | None,
        store_ids: set[str] | None,
        status: str | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Dispute]:
        """Newest first, after the (opened_at, id) `after`."""
        ...

    def escalated_page(self, after: tuple[datetime, str] | None, limit: int) -> list[Dispute]:
        """Escalated disputes, oldest escalation first, after the (escalated_at, id) `after`."""
        ...

    def by_return_code(self, carrier: str, code: str) -> list[Dispute]: ...

    def party_records(self, *, buyer_id: str, store_id: str) -> tuple[dict[str, int], dict[str, int]]:
        """How the buyer's and the store's disputes stand or ended: key -> count."""
        ...

    def proposals_of(self, dispute_ids: Iterable[str]) -> list[Proposal]:
        """Oldest first."""
        ...

    def load_proposal(self, proposal_id: str) -> Proposal | None: ...

    def open_proposals(self, dispute_id: str) -> list[Proposal]: ...

    def insert_evidence(self, evidence: Evidence) -> None: ...

    def evidence_of(self, dispute_ids: Iterable[str]) -> list[Evidence]:
        """Oldest first."""
        ...

    def insert_return_scans(self, rows: Sequence[tuple[str, ReturnScan]], source: str, now: datetime) -> int:
        """Scans not seen before; how many were new."""
        ...

    def return_scans_of(self, dispute_id: str) -> list[ReturnScan]: ...


class Events(Protocol):
    def timeline_events(self, order_id: str) -> list[dict[str, Any]]:
        """The order's events in the order they happened."""
        ...


class Policies(Protocol):
    def policy_stored(self, key: str) -> bool: ...

    def insert_policy(self, version: PolicyVersion, loaded_at: datetime) -> None:
        """Store the version unless it is stored (processes starting at once may both adopt it)."""
        ...

    def policy_body(self, key: str) -> Any:
        """The stored policy's JSON body; None when no version has this key."""
        ...


# --- the unit of work ---------------------------------------------------------------------------


class UnitOfWork(Protocol):
    """One transaction and the repositories that work in it."""

    @property
    def orders(self) -> Orders: ...
    @property
    def payments(self) -> Payments: ...
    @property
    def refunds(self) -> Refunds: ...
    @property
    def shipments(self) -> Shipments: ...
    @property
    def cancellations(self) -> Cancellations: ...
    @property
    def deadlines(self) -> Deadlines: ...
    @property
    def ledger(self) -> Ledger: ...
    @property
    def carts(self) -> Carts: ...
    @property
    def catalogue(self) -> Catalogue: ...
    @property
    def accounts(self) -> Accounts: ...
    @property
    def idempotency(self) -> IdempotencyRecords: ...
    @property
    def notifications(self) -> Notifications: ...
    @property
    def events(self) -> Events: ...
    @property
    def policies(self) -> Policies: ...
    @property
    def messages(self) -> Messages: ...
    @property
    def proofs(self) -> Proofs: ...

    @property
    def disputes(self) -> Disputes: ...

    def load_subjects(self, lifecycle: str, ids: Iterable[str]) -> dict[str, Any]:
        """A lifecycle's subjects by id, locked; those another transaction holds are left out."""
        ...

    def expect_unchanged(self, subjects: Sequence[Any]) -> None:
        """These subjects (orders, payments), read in an earlier transaction, locked in the order
        given if their rows are still as given; otherwise the unit writes nothing and fails with
        `Stale`, at once or when it ends (store/unchanged.py)."""
        ...

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
        """Up to `limit` orders (not locked), newest first, after the (placed_at, id) `after`: only
        the buyer's when `buyer_id` is given, only these stores' when `store_ids` is; with their
        armed deadlines and, with `buyer_parts`, what the buyer's actions need. In two exchanges
        with the store: the page, then everything else at once."""
        ...

    def order_page(
        self, order_id: str, *, buyer_parts: bool, loaded: Order | None = None
    ) -> OrderPageData | None:
        """The order (not locked) and what its page shows, in one exchange with the store; None when
        there is no such order. `loaded`: the order as the caller holds it already (a command's,
        just decided), not read again. `buyer_parts`: read what the buyer's actions need too (what
        is shipped, the open cancellation requests, the disputes)."""
        ...

    def save(self, decisions: Sequence[Decision[Any]], now: datetime) -> None:
        """Write every change of these decisions, and of those they entail, in this unit of work."""
        ...


class UnitsOfWork(Protocol):
    """Opens units of work over one database."""

    # Whether every wait of a unit is on the database's socket (PostgreSQL: `orderguard.on_loop`
    # can give the event loop back meanwhile), so that units may run on the event loop. SQLite's
    # writes wait in the process for the file's write lock, which the loop must never do.
    waits_only_on_sockets: bool

    def writing(self) -> AbstractContextManager[UnitOfWork]:
        """A writing unit: commits when the block ends, rolls back when it raises.

        A write that meets a unique key committed by another transaction raises UniqueViolation.
        """
        ...

    def reading(self) -> AbstractContextManager[UnitOfWork]:
        """A read-only unit, no write lock taken: committed data only (one snapshot on SQLite, one per
        statement on PostgreSQL, as the module says)."""
        ...

    def reads_shared(self) -> AbstractContextManager[None]:
        """Within this block (in this thread), the reading units are one unit, opened by the first
        and ended with the block: one connection (and on SQLite one transaction and snapshot) for a
        request that authenticates its caller, then reads. A writing unit ends it first, so the
        reading units after it see what it wrote."""
        ...

    def confirm_before_writing(self, check: Callable[[], None]) -> None:
        """Within a `reads_shared` block: `check` runs before the block's first writing unit begins
        (raising there stops the write). Outside one, nothing."""
        ...

    def checked_before_commit(self, check: Callable[[UnitOfWork], None]) -> AbstractContextManager[None]:
        """Within this block (and the threads it starts), `check` runs in every writing unit just
        before it commits; raising there rolls the unit back."""
        ...

    def schema_state(self) -> SchemaState:
        """The database's schema revisions against the code's (readiness); raises when the
        database cannot be reached."""
        ...
