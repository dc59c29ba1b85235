"""The storage port of app/ (app/ports.py) over SQLAlchemy: units of work on one Engine.

Each repository is a thin object over the unit's Connection that hands every call to the
repository function of the same name (store/*_repo.py), so the statements, their number and
their locks are exactly those of the functions. `store.db.unit_of_work` and `reading` stay the
engine-level transactions underneath: `BEGIN IMMEDIATE` on SQLite, the before-commit check of
`checked_before_commit` (the idempotency fence) in every writing unit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from contextvars import ContextVar
from datetime import datetime
from types import TracebackType
from typing import Any, get_type_hints

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from orderguard.app import ports
from orderguard.app.ports import (
    DueDeadline,
    OpenCart,
    OrderListingData,
    OrderMoney,
    OrderPageData,
    ProductListing,
    StoredKey,
    StoreListing,
    TokenHolder,
    TokenRow,
    UnitOfWork,
)
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
from orderguard.store import (
    accounts_repo,
    cancellations_repo,
    carts_repo,
    deadlines_repo,
    decisions,
    disputes_repo,
    idempotency_repo,
    ledger_checks_repo,
    ledger_repo,
    messages_repo,
    notifications_repo,
    offers_repo,
    order_listing,
    order_page,
    order_queries,
    orders_repo,
    payments_repo,
    policies_repo,
    proofs_repo,
    refunds_repo,
    shipments_repo,
    unchanged,
)
from orderguard.store.db import checked_before_commit, reading, unit_of_work
from orderguard.store.migrate import current_revisions, head_revisions


class _Repository:
    __slots__ = ("_conn",)

    def __init__(self, conn: Connection) -> None:
        self._conn = conn


class SqlOrders(_Repository):
    __slots__ = ()

    def load_order(self, order_id: str, *, lock: bool = False) -> Order | None:
        return orders_repo.load_order(self._conn, order_id, lock=lock)

    def load_orders(self, order_ids: Iterable[str], *, lock: bool = False) -> dict[str, Order]:
        return orders_repo.load_orders(self._conn, order_ids, lock=lock)


class SqlPayments(_Repository):
    __slots__ = ()

    def load_payment(self, payment_id: str, *, lock: bool = False) -> Payment | None:
        return payments_repo.load_payment(self._conn, payment_id, lock=lock)

    def lock_with_order(self, payment_id: str, order_id: str) -> tuple[Order | None, Payment | None]:
        return payments_repo.lock_with_order(self._conn, payment_id, order_id)

    def payments_of(self, order_id: str) -> list[Payment]:
        return payments_repo.payments_of(self._conn, order_id)

    def captured_payment(self, order_id: str) -> Payment | None:
        return payments_repo.captured_payment(self._conn, order_id)


class SqlRefunds(_Repository):
    __slots__ = ()

    def load_refund(self, refund_id: str, *, lock: bool = False) -> Refund | None:
        return refunds_repo.load_refund(self._conn, refund_id, lock=lock)

    def refunds_of(self, order_id: str) -> list[Refund]:
        return refunds_repo.refunds_of(self._conn, order_id)

    def refunded_total(self, order_id: str) -> int:
        return refunds_repo.refunded_total(self._conn, order_id)

    def admin_refunds(
        self,
        *,
        status: str | None,
        overdue_at: datetime | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Refund]:
        return refunds_repo.admin_refunds(
            self._conn, status=status, overdue_at=overdue_at, after=after, limit=limit
        )

    def refund_deadlines(self, refund_ids: Iterable[str]) -> dict[str, list[tuple[str, datetime]]]:
        return refunds_repo.refund_deadlines(self._conn, refund_ids)


class SqlShipments(_Repository):
    __slots__ = ()

    def shipped_quantities(self, order_id: str) -> dict[str, int]:
        return shipments_repo.shipped_quantities(self._conn, order_id)

    def claim_tracking_code(self, carrier: str, code: str, shipper: CodeHolder, now: datetime) -> CodeHolder:
        return shipments_repo.claim_tracking_code(self._conn, carrier, code, shipper, now)

    def code_owner(self, carrier: str, code: str) -> CodeHolder | None:
        return shipments_repo.code_owner(self._conn, carrier, code)

    def by_tracking_code(self, carrier: str, code: str) -> list[tuple[Shipment, CodeHolder]]:
        return shipments_repo.by_tracking_code(self._conn, carrier, code)

    def shipment(self, shipment_id: str) -> Shipment | None:
        return shipments_repo.shipment(self._conn, shipment_id)

    def shipments_of(self, order_ids: Iterable[str]) -> list[Shipment]:
        return shipments_repo.shipments_of(self._conn, order_ids)

    def scans_of(self, shipment_ids: Iterable[str]) -> dict[str, list[Scan]]:
        return shipments_repo.scans_of(self._conn, shipment_ids)

    def insert_scans(self, rows: Sequence[tuple[str, Scan]], source: str, now: datetime) -> None:
        shipments_repo.insert_scans(self._conn, rows, source, now)

    def remember_webhook(self, carrier: str, signature: str, now: datetime) -> bool:
        return shipments_repo.remember_webhook(self._conn, carrier, signature, now)


class SqlCancellations(_Repository):
    __slots__ = ()

    def load_request(self, request_id: str, *, lock: bool = False) -> CancellationRequest | None:
        return cancellations_repo.load_request(self._conn, request_id, lock=lock)

    def requests_of(self, order_id: str) -> list[CancellationRequest]:
        return cancellations_repo.requests_of(self._conn, order_id)

    def open_requests(self, order_id: str) -> list[CancellationRequest]:
        return cancellations_repo.open_requests(self._conn, order_id)

    def open_requests_of(self, order_ids: Iterable[str]) -> dict[str, list[CancellationRequest]]:
        return cancellations_repo.open_requests_of(self._conn, order_ids)

    def fines_of(self, store_id: str, after: tuple[datetime, str] | None, limit: int) -> list[Fine]:
        return cancellations_repo.fines_of(self._conn, store_id, after, limit)


class SqlDeadlines(_Repository):
    __slots__ = ()

    def claim_due(self, now: datetime, limit: int) -> list[DueDeadline]:
        return deadlines_repo.claim_due(self._conn, now, limit)

    def settle(self, outcomes: Sequence[tuple[int, str]], now: datetime) -> None:
        deadlines_repo.settle(self._conn, outcomes, now)

    def next_due_at(self, until: datetime) -> datetime | None:
        return deadlines_repo.next_due_at(self._conn, until)

    def armed_deadline_dues(self, order_id: str) -> list[tuple[str, str, datetime]]:
        return order_queries.armed_deadline_dues(self._conn, order_id)

    def armed_deadline_dues_of(self, order_ids: Iterable[str]) -> dict[str, list[tuple[str, str, datetime]]]:
        return order_queries.armed_deadline_dues_of(self._conn, order_ids)

    def due_counts(self, now: datetime) -> dict[str, int]:
        return deadlines_repo.due_counts(self._conn, now)


class SqlLedger(_Repository):
    __slots__ = ()

    def balance(self, account: str) -> dict[str, int]:
        return ledger_repo.balance(self._conn, account)

    def order_money(self, order_id: str, currency: str) -> OrderMoney:
        return ledger_repo.order_money(self._conn, order_id, currency)

    def escrow_balances(self, order_ids: list[str]) -> dict[str, int]:
        return ledger_repo.escrow_balances(self._conn, order_ids)

    def last_check(self) -> ports.LedgerCheckResult | None:
        return ledger_checks_repo.last_check(self._conn)


class SqlCarts(_Repository):
    __slots__ = ()

    def lock_cart(self, buyer_id: str) -> None:
        carts_repo.lock_cart(self._conn, buyer_id)

    def cart_item_rows(self, buyer_id: str) -> list[tuple[CartItem, datetime]]:
        return carts_repo.cart_item_rows(self._conn, buyer_id)

    def last_added_at(self, buyer_id: str) -> datetime | None:
        return carts_repo.last_added_at(self._conn, buyer_id)

    def open_cart(
        self, buyer_id: str, *, adding: str | None = None, lock_free_offers: bool = False
    ) -> OpenCart:
        return carts_repo.open_cart(self._conn, buyer_id, adding=adding, lock_free_offers=lock_free_offers)

    def touch_cart(self, buyer_id: str, now: datetime) -> None:
        carts_repo.touch_cart(self._conn, buyer_id, now)

    def insert_cart_item(self, buyer_id: str, item: CartItem, added_at: datetime) -> None:
        carts_repo.insert_cart_item(self._conn, buyer_id, item, added_at)

    def update_cart_item(self, item_id: str, quantity: int, added_at: datetime) -> None:
        carts_repo.update_cart_item(self._conn, item_id, quantity, added_at)

    def set_cart_item_quantity(self, item_id: str, quantity: int) -> None:
        carts_repo.set_cart_item_quantity(self._conn, item_id, quantity)

    def load_cart_item(self, buyer_id: str, item_id: str) -> CartItem | None:
        return carts_repo.load_cart_item(self._conn, buyer_id, item_id)

    def delete_cart_item(self, item_id: str) -> None:
        carts_repo.delete_cart_item(self._conn, item_id)

    def hold_cart_items(self, holds: Sequence[tuple[str, str]]) -> None:
        carts_repo.hold_cart_items(self._conn, holds)


class SqlCatalogue(_Repository):
    __slots__ = ()

    def load_offers(self, offer_ids: Iterable[str], *, lock: bool = False) -> dict[str, Offer]:
        return offers_repo.load_offers(self._conn, offer_ids, lock=lock)

    def offers_of_product(self, product_id: str) -> list[Offer]:
        return offers_repo.offers_of_product(self._conn, product_id)

    def product_comparison(
        self, product_id: str
    ) -> tuple[dict[str, str] | None, list[Offer], dict[str, str]]:
        return offers_repo.product_comparison(self._conn, product_id)

    def offer_id_of(self, store_id: str, product_id: str) -> str | None:
        return offers_repo.offer_id_of(self._conn, store_id, product_id)

    def insert_offer(self, offer: Offer, created_at: datetime) -> bool:
        return offers_repo.insert_offer(self._conn, offer, created_at)

    def take_stock(self, taken: Mapping[str, int]) -> None:
        offers_repo.take_stock(self._conn, taken)

    def insert_store(self, store_id: str, seller_id: str, name: str, created_at: datetime) -> None:
        offers_repo.insert_store(self._conn, store_id, seller_id, name, created_at)

    def store_owner(self, store_id: str) -> str | None:
        return offers_repo.store_owner(self._conn, store_id)

    def store_ids_of(self, seller_id: str) -> set[str]:
        return offers_repo.store_ids_of(self._conn, seller_id)

    def store_names(self, store_ids: set[str]) -> dict[str, str]:
        return offers_repo.store_names(self._conn, store_ids)

    def insert_product(
        self, product_id: str, title: str, description: str, created_by: str, created_at: datetime
    ) -> None:
        offers_repo.insert_product(self._conn, product_id, title, description, created_by, created_at)

    def product_exists(self, product_id: str) -> bool:
        return offers_repo.product_exists(self._conn, product_id)

    def load_product(self, product_id: str) -> dict[str, str] | None:
        return offers_repo.load_product(self._conn, product_id)

    def product_titles(self, product_ids: set[str]) -> dict[str, str]:
        return offers_repo.product_titles(self._conn, product_ids)

    def products_page(
        self, terms: Sequence[str], after: tuple[datetime, str] | None, limit: int
    ) -> list[ProductListing]:
        return offers_repo.products_page(self._conn, terms, after, limit)

    def product_listing(self, product_id: str) -> ProductListing | None:
        return offers_repo.product_listing(self._conn, product_id)

    def stores_page(
        self, seller_id: str | None, after: tuple[datetime, str] | None, limit: int
    ) -> list[StoreListing]:
        return offers_repo.stores_page(self._conn, seller_id, after, limit)

    def store_listing(self, store_id: str) -> StoreListing | None:
        return offers_repo.store_listing(self._conn, store_id)


class SqlAccounts(_Repository):
    __slots__ = ()

    def email_taken(self, email: str) -> bool:
        return accounts_repo.email_taken(self._conn, email)

    def account_exists(self, account_id: str) -> bool:
        return accounts_repo.account_exists(self._conn, account_id)

    def insert_account(
        self, account_id: str, role: str, name: str, email: str | None, created_at: datetime
    ) -> None:
        accounts_repo.insert_account(self._conn, account_id, role, name, email, created_at)

    def count_accounts(self) -> int:
        return accounts_repo.count_accounts(self._conn)

    def insert_token(
        self, token_id: str, account_id: str, digest: str, created_at: datetime, expires_at: datetime | None
    ) -> None:
        accounts_repo.insert_token(self._conn, token_id, account_id, digest, created_at, expires_at)

    def token_holder(self, digest: str) -> TokenHolder | None:
        return accounts_repo.token_holder(self._conn, digest)

    def token_holder_later(self, digest: str) -> Callable[[], TokenHolder | None]:
        return accounts_repo.token_holder_later(self._conn, digest)

    def account_tokens(self, account_id: str) -> list[TokenRow]:
        return accounts_repo.account_tokens(self._conn, account_id)

    def token_by(self, *, token_id: str | None = None, digest: str | None = None) -> TokenRow | None:
        return accounts_repo.token_by(self._conn, token_id=token_id, digest=digest)

    def revoke_tokens(
        self, at: datetime, *, token_id: str | None = None, account_id: str | None = None
    ) -> int:
        return accounts_repo.revoke_tokens(self._conn, at, token_id=token_id, account_id=account_id)


class SqlIdempotencyRecords(_Repository):
    __slots__ = ()

    def insert_key(
        self,
        account_id: str,
        key: str,
        request_hash: str,
        holder: str,
        created_at: datetime,
        lease_until: datetime,
    ) -> Callable[[], bool]:
        return idempotency_repo.insert_key(
            self._conn, account_id, key, request_hash, holder, created_at, lease_until
        )

    def load_key(self, account_id: str, key: str) -> StoredKey | None:
        return idempotency_repo.load_key(self._conn, account_id, key)

    def take_over(
        self,
        account_id: str,
        key: str,
        request_hash: str,
        holder: str,
        now: datetime,
        lease_until: datetime,
    ) -> bool:
        return idempotency_repo.take_over(self._conn, account_id, key, request_hash, holder, now, lease_until)

    def renew_lease(self, account_id: str, key: str, holder: str, lease_until: datetime) -> bool:
        return idempotency_repo.renew_lease(self._conn, account_id, key, holder, lease_until)

    def store_response(
        self,
        account_id: str,
        key: str,
        holder: str,
        status_code: int,
        content_type: str | None,
        body: str,
    ) -> Callable[[], bool]:
        return idempotency_repo.store_response(
            self._conn, account_id, key, holder, status_code, content_type, body
        )

    def delete_key(self, account_id: str, key: str, holder: str) -> None:
        idempotency_repo.delete_key(self._conn, account_id, key, holder)


class SqlNotifications(_Repository):
    __slots__ = ()

    def notifications_of(self, account_id: str, limit: int) -> list[dict[str, Any]]:
        return notifications_repo.notifications_of(self._conn, account_id, limit)

    def notify(self, rows: Sequence[tuple[str, str, str, str]], now: datetime) -> None:
        notifications_repo.notify(self._conn, rows, now)


class SqlEvents(_Repository):
    __slots__ = ()

    def timeline_events(self, order_id: str) -> list[dict[str, Any]]:
        return order_queries.timeline_events(self._conn, order_id)


class SqlPolicies(_Repository):
    __slots__ = ()

    def policy_stored(self, key: str) -> bool:
        return policies_repo.policy_stored(self._conn, key)

    def insert_policy(self, version: PolicyVersion, loaded_at: datetime) -> None:
        policies_repo.insert_policy(self._conn, version, loaded_at)

    def policy_body(self, key: str) -> Any:
        return policies_repo.policy_body(self._conn, key)


class SqlMessages(_Repository):
    __slots__ = ()

    def insert_message(
        self,
        order_id: str,
        author_id: str,
        author_role: str,
        body: str,
        created_at: datetime,
        dispute_id: str | None = None,
    ) -> Message:
        return messages_repo.insert_message(
            self._conn, order_id, author_id, author_role, body, created_at, dispute_id
        )

    def messages_page(
        self, order_id: str, after: int | None, limit: int, dispute_id: str | None = None
    ) -> list[Message]:
        return messages_repo.messages_page(self._conn, order_id, after, limit, dispute_id)


class SqlDisputes(_Repository):
    __slots__ = ()

    def load_dispute(self, dispute_id: str, *, lock: bool = False) -> Dispute | None:
        return disputes_repo.load_dispute(self._conn, dispute_id, lock=lock)

    def disputes_of(self, order_id: str) -> list[Dispute]:
        return disputes_repo.disputes_of(self._conn, order_id)

    def disputes_of_orders(self, order_ids: Iterable[str]) -> dict[str, list[Dispute]]:
        return disputes_repo.disputes_of_orders(self._conn, order_ids)

    def open_disputes(self, order_id: str) -> list[Dispute]:
        return disputes_repo.open_disputes(self._conn, order_id)

    def disputes_page(
        self,
        *,
        buyer_id: str | None,
        store_ids: set[str] | None,
        status: str | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Dispute]:
        return disputes_repo.disputes_page(
            self._conn, buyer_id=buyer_id, store_ids=store_ids, status=status, after=after, limit=limit
        )

    def escalated_page(self, after: tuple[datetime, str] | None, limit: int) -> list[Dispute]:
        return disputes_repo.escalated_page(self._conn, after, limit)

    def by_return_code(self, carrier: str, code: str) -> list[Dispute]:
        return disputes_repo.by_return_code(self._conn, carrier, code)

    def party_records(self, *, buyer_id: str, store_id: str) -> tuple[dict[str, int], dict[str, int]]:
        return disputes_repo.party_records(self._conn, buyer_id=buyer_id, store_id=store_id)

    def proposals_of(self, dispute_ids: Iterable[str]) -> list[Proposal]:
        return disputes_repo.proposals_of(self._conn, dispute_ids)

    def load_proposal(self, proposal_id: str) -> Proposal | None:
        return disputes_repo.load_proposal(self._conn, proposal_id)

    def open_proposals(self, dispute_id: str) -> list[Proposal]:
        return disputes_repo.open_proposals(self._conn, dispute_id)

    def insert_evidence(self, evidence: Evidence) -> None:
        disputes_repo.insert_evidence(self._conn, evidence)

    def evidence_of(self, dispute_ids: Iterable[str]) -> list[Evidence]:
        return disputes_repo.evidence_of(self._conn, dispute_ids)

    def insert_return_scans(self, rows: Sequence[tuple[str, ReturnScan]], source: str, now: datetime) -> int:
        return disputes_repo.insert_return_scans(self._conn, rows, source, now)

    def return_scans_of(self, dispute_id: str) -> list[ReturnScan]:
        return disputes_repo.return_scans_of(self._conn, dispute_id)


class SqlProofs(_Repository):
    __slots__ = ()

    def load_proof_request(self, proof_id: str, *, lock: bool = False) -> ProofRequest | None:
        return proofs_repo.load_proof_request(self._conn, proof_id, lock=lock)

    def proof_requests_of(self, order_id: str) -> list[ProofRequest]:
        return proofs_repo.proof_requests_of(self._conn, order_id)

    def complaints_page(self, after: tuple[datetime, str] | None, limit: int) -> list[Complaint]:
        return proofs_repo.complaints_page(self._conn, after, limit)

    def seller_records(self, store_ids: Iterable[str]) -> dict[str, SellerRecord]:
        return proofs_repo.seller_records(self._conn, store_ids)


class SqlUnitOfWork:
    """One transaction's Connection and the repositories over it, each made on its first use."""

    orders: SqlOrders
    payments: SqlPayments
    refunds: SqlRefunds
    shipments: SqlShipments
    cancellations: SqlCancellations
    deadlines: SqlDeadlines
    ledger: SqlLedger
    carts: SqlCarts
    catalogue: SqlCatalogue
    accounts: SqlAccounts
    idempotency: SqlIdempotencyRecords
    notifications: SqlNotifications
    events: SqlEvents
    policies: SqlPolicies
    messages: SqlMessages
    proofs: SqlProofs
    disputes: SqlDisputes

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.armed: Counter[str] = Counter()  # deadlines armed by this unit, by kind (for the metrics)

    def __getattr__(self, name: str) -> _Repository:
        # Only reached while the repository is not made yet: a unit uses a few of them.
        kind = _REPOSITORIES.get(name)
        if kind is None:
            raise AttributeError(f"{type(self).__name__} has no {name!r}")
        repository = kind(self.conn)
        setattr(self, name, repository)
        return repository

    def load_subjects(self, lifecycle: str, ids: Iterable[str]) -> dict[str, Any]:
        return decisions.load_subjects(self.conn, lifecycle, ids)

    def expect_unchanged(self, subjects: Sequence[Any]) -> None:
        unchanged.expect_unchanged(self.conn, subjects)

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
        return order_listing.order_listing(
            self.conn,
            buyer_id=buyer_id,
            store_ids=store_ids,
            status=status,
            after=after,
            limit=limit,
            buyer_parts=buyer_parts,
        )

    def order_page(
        self, order_id: str, *, buyer_parts: bool, loaded: Order | None = None
    ) -> OrderPageData | None:
        return order_page.order_page(self.conn, order_id, buyer_parts=buyer_parts, loaded=loaded)

    def save(self, decided: Sequence[Decision[Any]], now: datetime) -> None:
        self.armed.update(decisions.save_decisions(self.conn, decided, now))


_REPOSITORIES: dict[str, type[_Repository]] = get_type_hints(SqlUnitOfWork)


def _stale(error: BaseException | None) -> bool:
    """Whether `error` is PostgreSQL's `serialization_failure`: under READ COMMITTED only
    `og_expect` raises it, when rows are not as `expect_unchanged` was told (store/unchanged.py)."""
    return isinstance(error, OperationalError) and getattr(error.orig, "sqlstate", None) == "40001"


class _Writing:
    """`store.db.unit_of_work` as a port's writing unit: a unique key met is a UniqueViolation, rows
    changed since they were read (`expect_unchanged`) are Stale."""

    __slots__ = ("_transaction", "_unit")

    def __init__(self, engine: Engine) -> None:
        self._transaction = unit_of_work(engine)
        self._unit: SqlUnitOfWork | None = None

    def __enter__(self) -> UnitOfWork:
        self._unit = SqlUnitOfWork(self._transaction.__enter__())
        return self._unit

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> bool | None:
        try:
            suppressed = self._transaction.__exit__(kind, error, trace)
        except IntegrityError as e:  # raised by the commit, or by the block and passed on
            raise ports.UniqueViolation(str(e.orig or e)) from e
        except OperationalError as e:
            if _stale(e):
                raise ports.Stale(str(e.orig)) from e
            raise
        if isinstance(error, IntegrityError) and not suppressed:
            raise ports.UniqueViolation(str(error.orig or error)) from error
        if _stale(error) and not suppressed:
            raise ports.Stale(str(getattr(error, "orig", error))) from error
        if error is None and self._unit is not None and self._unit.armed:  # committed
            from orderguard.observability import metrics  # late: only processes that arm load it

            metrics.deadlines_armed(self._unit.armed)
        return suppressed


class _SharedReading:
    """The one reading unit that every reading unit of a `reads_shared` block is, opened by the first."""

    __slots__ = ("_opened", "_unit", "_users", "before_writing", "engine")

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.before_writing: list[Callable[[], None]] = []  # checks the block's first write awaits
        self._opened = ExitStack()
        self._unit: SqlUnitOfWork | None = None
        self._users = 0  # blocks using the unit now

    @contextmanager
    def unit(self) -> Iterator[UnitOfWork]:
        if self._unit is None:
            self._unit = SqlUnitOfWork(self._opened.enter_context(reading(self.engine)))
        self._users += 1
        try:
            yield self._unit
        finally:
            self._users -= 1

    def end(self, error: BaseException | None = None) -> None:
        """End the unit (its transaction, on SQLite) and give its connection back, unless a block
        still uses it; the next reading unit opens another."""
        if self._unit is None or self._users:
            return
        self._unit = None
        opened, self._opened = self._opened, ExitStack()
        if error is None:
            opened.close()
        else:
            opened.__exit__(type(error), error, error.__traceback__)


_shared_reading: ContextVar[_SharedReading | None] = ContextVar("orderguard_shared_reading", default=None)


class SqlUnitsOfWork:
    """Units of work over `engine`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.waits_only_on_sockets = engine.dialect.name == "postgresql"

    def writing(self) -> AbstractContextManager[UnitOfWork]:
        shared = _shared_reading.get()
        if shared is not None:
            checks, shared.before_writing = shared.before_writing, []
            for check in checks:
                check()
            shared.end()  # what is read after the write must see it: a new snapshot
        return _Writing(self.engine)

    def reading(self) -> AbstractContextManager[UnitOfWork]:
        shared = _shared_reading.get()
        if shared is not None and shared.engine is self.engine:
            return shared.unit()
        return self._reading()

    @contextmanager
    def _reading(self) -> Iterator[UnitOfWork]:
        with reading(self.engine) as conn:
            yield SqlUnitOfWork(conn)

    @contextmanager
    def reads_shared(self) -> Iterator[None]:
        shared = _SharedReading(self.engine)
        token = _shared_reading.set(shared)
        try:
            yield
        except BaseException as e:
            shared.end(e)
            raise
        else:
            shared.end()
        finally:
            _shared_reading.reset(token)

    def confirm_before_writing(self, check: Callable[[], None]) -> None:
        shared = _shared_reading.get()
        if shared is not None:
            shared.before_writing.append(check)

    def checked_before_commit(self, check: Callable[[UnitOfWork], None]) -> AbstractContextManager[None]:
        return checked_before_commit(lambda conn: check(SqlUnitOfWork(conn)))

    def schema_state(self) -> ports.SchemaState:
        with reading(self.engine) as conn:
            current = current_revisions(conn)
        return ports.SchemaState(current, head_revisions())
