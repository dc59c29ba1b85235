"""Response schemas: the typed contract of every endpoint.

Money: every amount is an integer number of minor units (cents for USD, yen
for JPY) of an ISO 4217 currency, never a float. The currency is named by the
`currency` field of the same object or, for the parts of an order (lines,
`money`, shipping), by the order's `currency`; each amount field says which.

Field names are the JSON names clients already read; a change of shape is a
change of contract.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from orderguard.domain.machine import Machine
from orderguard.domain.orders import ORDER
from orderguard.domain.payments import PAYMENT
from orderguard.domain.refunds import CAUSES, REFUND
from orderguard.domain.shipping import SHIPMENT


def _states(name: str, machine: Machine) -> type[StrEnum]:
    """The states of a lifecycle as a named enum, drawn from its transition table."""
    enum = StrEnum(name, {state: state for state in machine.states})  # type: ignore[misc]
    enum.__doc__ = f"The state of the {machine.name}, as its lifecycle's transition table names it."
    return enum


if TYPE_CHECKING:  # built at run time from the tables; to the type checker, any StrEnum
    OrderStatus: TypeAlias = StrEnum
    PaymentState: TypeAlias = StrEnum
    ShipmentStatus: TypeAlias = StrEnum
    RefundStatus: TypeAlias = StrEnum
else:
    OrderStatus = _states("OrderStatus", ORDER)
    PaymentState = _states("PaymentState", PAYMENT)
    ShipmentStatus = _states("ShipmentStatus", SHIPMENT)
    RefundStatus = _states("RefundStatus", REFUND)

Minor = Annotated[int, Field(description="amount in minor units (e.g. cents) of this object's `currency`")]
OrderMinor = Annotated[int, Field(description="amount in minor units (e.g. cents) of the order's `currency`")]
Currency = Annotated[str, Field(description="ISO 4217 currency code", examples=["USD"])]


class Role(StrEnum):
    """An account's role."""

    BUYER = "buyer"
    SELLER = "seller"
    ADMIN = "admin"


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- problems ----------------------------------------------------------------------------------------


class FieldError(Out):
    field: str = Field(description="dotted path of the offending field; empty for the whole body")
    message: str
    type: str = Field(description="what is wrong, e.g. `missing`, `string_too_long`, `unsafe_text`")


class Problem(Out):
    """RFC 9457 problem details, with a stable machine `code` for programs to branch on."""

    type: str = Field(description="URI naming the problem; ends with `code`")
    title: str
    status: int
    detail: str = Field(description="what went wrong, for people")
    code: str = Field(description="stable machine code, e.g. `order_not_found`, `validation_error`")
    # Present or absent, never null: the schema leaves null out.
    errors: list[FieldError] | SkipJsonSchema[None] = Field(
        default=None, description="with `validation_error`: each offending field"
    )
    request_id: str | SkipJsonSchema[None] = Field(
        default=None,
        description="the request's id, as its `X-Request-Id` and the server's log records carry it: quote "
        "it when reporting (a 500's error is logged under it). An answer replayed for an Idempotency-Key "
        "keeps the first request's id",
    )


# --- catalogue ---------------------------------------------------------------------------------------


class Store(Out):
    id: str
    name: str
    seller_id: str


class Product(Out):
    id: str
    title: str
    description: str


class ShippingOption(Out):
    id: str
    carrier: str
    price: Annotated[int, Field(description="amount in minor units of the offer's `currency`")]
    promised_days: int


class Offer(Out):
    id: str
    store_id: str
    product_id: str
    price: Minor
    currency: Currency
    stock: int
    handling_days: int
    shipping_options: list[ShippingOption]


class RankedOffer(Offer):
    rank: int = Field(description="1 for the best offer")
    score: float = Field(description="lower is better; see `ranking`")
    store_name: str
    landed_price: Minor = Field(description="price + best option's shipping, minor units of `currency`")
    delivery_days: int = Field(description="handling days + the best option's promised days")
    best_shipping_option_id: str


class CatalogueProduct(Out):
    """A product as browsing shows it; its offers are at `GET /v1/products/{id}/offers`."""

    id: str
    title: str
    description: str
    created_at: datetime
    offer_count: int = Field(description="how many stores offer it")


class ProductPage(Out):
    products: list[CatalogueProduct] = Field(description="oldest first")
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last")


class CatalogueStore(Out):
    id: str
    name: str
    created_at: datetime
    offer_count: int = Field(description="how many products it offers")
    yours: bool = Field(description="the caller's own store")


class StorePage(Out):
    stores: list[CatalogueStore] = Field(description="oldest first")
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last")


class ProductOffers(Out):
    product: Product
    ranking: str = Field(description="how `score` is computed")
    offers: list[RankedOffer]


# --- cart --------------------------------------------------------------------------------------------


class CartItem(Out):
    id: str
    offer_id: str
    store_id: str
    product_id: str
    title: str
    quantity: int
    unit_price: Minor
    currency: Currency
    shipping_option_id: str | None
    shipping_price: int | None = Field(description="amount in minor units of `currency`; null: no option")
    order_id: str | None = Field(description="the unpaid order holding this item, if any")


class Cart(Out):
    last_added_at: datetime | None = Field(description="the last addition; pay-by counts from it (R3.3)")
    items: list[CartItem]


# --- orders ------------------------------------------------------------------------------------------


class OrderSummary(Out):
    id: str
    status: OrderStatus
    store_id: str
    buyer_id: str
    currency: Currency
    items_total: OrderMinor
    shipping_total: OrderMinor
    total: OrderMinor
    placed_at: datetime
    pay_by_at: datetime
    policy_version: str = Field(description="the policy version the order is judged by")


class PlacedOrders(Out):
    orders: list[OrderOverview] = Field(description="one order per store")


class OrderPage(Out):
    orders: list[OrderOverview]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last")


class OrderLine(Out):
    id: str
    offer_id: str
    product_id: str
    title: str
    unit_price: OrderMinor
    quantity: int
    shipping_price: OrderMinor
    carrier: str
    promised_days: int
    cancelled_quantity: int = Field(
        description="of `quantity`, cancelled after payment and refunded (R4.3, R4.8)"
    )


class Address(Out):
    name: str
    line1: str
    line2: str
    city: str
    postal_code: str
    country: str = Field(description="ISO 3166-1 alpha-2")


class OrderMoney(Out):
    paid: OrderMinor
    in_escrow: OrderMinor
    refundable: OrderMinor


class Payment(Out):
    id: str
    order_id: str
    method: str
    state: PaymentState
    amount: Minor
    currency: Currency
    provider_ref: str
    created_at: datetime
    settled_at: datetime | None = Field(description="when the provider settled it; null while pending")
    failure_reason: str | None


class PaymentReport(Out):
    """A payment after the provider's report on a bank transfer."""

    id: str
    order_id: str
    state: PaymentState


class ShipmentLine(Out):
    line_id: str
    quantity: int


class Scan(Out):
    kind: str
    occurred_at: datetime
    country: str
    city: str
    postal_code: str


class Shipment(Out):
    id: str
    carrier: str
    tracking_code: str
    status: ShipmentStatus
    shipped_at: datetime
    status_since: datetime
    sent_back_by: Literal["refused", "storage_ended"] | None = Field(
        description="the platform sent the parcel back: the buyer refused it, or it was not collected "
        "before its storage at the pickup point ended (R6.6); null otherwise (a carrier's own return "
        "shows as a `returned_to_sender` scan)"
    )
    sent_back_at: datetime | None = Field(description="when the platform sent it back")
    lines: list[ShipmentLine]
    scans: list[Scan] = Field(description="in the order they were recorded")


class NewShipment(Out):
    id: str
    order_id: str
    carrier: str
    tracking_code: str
    status: ShipmentStatus
    shipped_at: datetime


class OrderTimes(Out):
    paid_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    protection_ends_at: datetime | None
    completed_at: datetime | None
    dispute_window_ends_at: datetime | None
    closed_at: datetime | None
    cancelled_at: datetime | None
    ship_by_at: datetime | None = Field(description="paid time + handling days: ship by then (R4.8)")


class Action(Out):
    model_config = ConfigDict(extra="forbid", frozen=True)  # one instance serves many responses

    action: str
    available: bool
    code: str | None = Field(description="why not, as a stable code, when unavailable")
    reason: str | None
    until: datetime | None = Field(
        None, description="when the chance to do it ends, where it has an end (opening a dispute)"
    )


class Deadline(Out):
    kind: str
    due_at: datetime
    must_act: str | None = Field(description="who can still act before it fires; null for a timer")
    action_needed: str
    on_expiry: str
    rule: str


class OrderOverview(OrderSummary):
    """An order in a list (checkout, "My orders"): its summary with the caller's `actions` and its
    `deadlines`, the same as `GET /v1/orders/{id}` shows; lines, payments and shipments are there."""

    your_role: Role
    actions: list[Action] = Field(description="what the caller can do now, and why not")
    deadlines: list[Deadline]


class Order(OrderSummary):
    your_role: Role
    lines: list[OrderLine]
    shipping_address: Address
    money: OrderMoney
    payments: list[Payment]
    shipments: list[Shipment]
    times: OrderTimes
    actions: list[Action] = Field(description="what the caller can do now, and why not")
    deadlines: list[Deadline]


class TimelineEvent(Out):
    kind: str
    subject_type: str
    subject_id: str
    actor: str
    actor_id: str | None
    rule: str
    at: datetime
    data: dict[str, Any] = Field(description="what the event recorded; its keys depend on `kind`")


class Timeline(Out):
    order_id: str
    events: list[TimelineEvent]


class CancellableLine(Out):
    line_id: str
    quantity: int = Field(description="paid and not shipped: what can still be cancelled")
    refund: OrderMinor = Field(description="what cancelling all of it would refund")


class ReasonPreview(Out):
    reason: str = Field(description="one of the policy's cancellation reasons")
    fault: Literal["buyer", "seller"]
    consequence: str = Field(description="what choosing this reason means, in words")
    refund: OrderMinor = Field(description="refunded if every cancellable quantity is cancelled")
    fine: OrderMinor = Field(description="the seller's fine if it goes through (0 for a buyer-fault reason)")


class CancellationReasons(Out):
    order_id: str
    currency: str
    lines: list[CancellableLine]
    reasons: list[ReasonPreview]


class RequestedLine(Out):
    line_id: str
    quantity: int


class Rejection(Out):
    answer: str = Field(description="the seller's words")
    carrier: str | None = Field(description="set when the seller said the parcel is already on its way")
    tracking_code: str | None
    shipment_id: str | None = Field(description="the shipment the rejection created (R4.6)")


class CancellationRequest(Out):
    id: str
    order_id: str
    status: Literal["open", "approved", "rejected", "withdrawn", "overtaken"] = Field(
        description="`overtaken`: the seller missed the ship-by time and the system cancelled the "
        "unshipped quantities itself (R4.8)"
    )
    reason: str
    fault: Literal["buyer", "seller"]
    lines: list[RequestedLine]
    message: str
    currency: str
    refund: OrderMinor = Field(
        description="refunded by the approval; while open, what approving would refund"
    )
    fine: OrderMinor = Field(description="the seller's fine on approval; while open, what it would be")
    refund_id: str | None
    fine_id: str | None
    created_at: datetime
    decided_at: datetime | None
    rejection: Rejection | None
    actions: list[Action] = Field(description="what the caller can do now, and why not")
    deadlines: list[Deadline]


class CancellationRequests(Out):
    order_id: str
    requests: list[CancellationRequest]


# --- refunds -----------------------------------------------------------------------------------------


class RefundLine(Out):
    line_id: str
    quantity: int = Field(description="units refunded (0: an amount that is no unit's, e.g. shipping)")
    amount: OrderMinor = Field(
        description="what this line gives back, in minor units (e.g. cents) of the order's `currency`"
    )


class RefundCause(Out):
    type: str = Field(description="what caused the refund", json_schema_extra={"enum": list(CAUSES)})
    id: str | None = Field(description="the cancellation request, dispute... that caused it; null if none")


class Refund(Out):
    """A refund to the order's original payment method (R5.1, R3.6)."""

    id: str
    order_id: str
    payment_id: str = Field(description="the payment it goes back to")
    method: str = Field(description="the original payment's method: the only place the money goes")
    status: RefundStatus
    amount: Minor
    currency: Currency
    lines: list[RefundLine]
    reason: str = Field(description="why it was granted, as a code (e.g. `out_of_stock`)")
    cause: RefundCause
    provider_ref: str | None = Field(description="the payment provider's reference; null until accepted")
    created_at: datetime
    accepted_at: datetime | None = Field(description="when the provider accepted it")
    expected_at: datetime = Field(
        description="the expected arrival: the provider's date once accepted, before that the "
        "latest of the method's settlement window"
    )
    settle_by: datetime | None = Field(
        description="cancellation refunds: settled by then, or flagged to administrators (R5.2)"
    )
    settled_at: datetime | None
    overdue: bool = Field(description="unsettled past `settle_by`")
    attempts: int = Field(description="times it was sent to the payment provider")
    failure_reason: str | None = Field(description="why the provider last declined or failed it")
    deadlines: list[Deadline]


class OrderRefunds(Out):
    order_id: str
    refunds: list[Refund] = Field(description="oldest first")


class RefundPage(Out):
    refunds: list[Refund] = Field(description="oldest first")
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last")


class RefundReport(Out):
    """A refund after the provider's report."""

    id: str
    order_id: str
    status: RefundStatus


# --- shipping, money, notifications ------------------------------------------------------------------


class ScanResult(Out):
    accepted: int
    duplicates: int = Field(description="scans already recorded, ignored")


class Payable(Out):
    currency: Currency
    amount: Minor


class Balance(Out):
    store_id: str
    account: str = Field(description="the ledger account")
    payable: list[Payable] = Field(description="what the platform owes the store, per currency")


class Notification(Out):
    id: int
    kind: str
    order_id: str | None
    text: str
    created_at: datetime


class Notifications(Out):
    notifications: list[Notification]


# --- sandbox and ops ---------------------------------------------------------------------------------


class NewAccount(Out):
    id: str
    role: Role
    name: str
    token: str = Field(description="bearer token; shown once")


class Clock(Out):
    now: datetime


class ClockAdvanced(Out):
    now: datetime
    deadlines_fired: int


class Health(Out):
    ok: bool
    sandbox: bool
    policy: str


class Readiness(Out):
    ready: bool = Field(description="always true here: a process that cannot serve answers 503")
    detail: str
    schema_revisions: list[str] = Field(description="the migration revisions the database is at (the head)")


class StoreFine(Out):
    id: str
    order_id: str
    cause_type: str = Field(description="what it was charged for: `cancellation_request`, `missed_ship_by`")
    cause_id: str | None = Field(description="the cancellation request, or the order for a missed ship-by")
    reason: str
    rule: str
    amount: int = Field(description="minor units of `currency`; taken from the store's payable balance")
    currency: Currency
    created_at: datetime


class FinePage(Out):
    store_id: str
    fines: list[StoreFine]
    next_cursor: str | None


# --- messages ----------------------------------------------------------------------------------------


class Message(Out):
    id: int = Field(description="messages of an order are numbered in the order they were written")
    order_id: str
    author_id: str
    author_role: Literal["buyer", "seller"]
    body: str = Field(description="as written, less outer white space")
    created_at: datetime


class MessagePage(Out):
    order_id: str
    messages: list[Message] = Field(description="oldest first")
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last")


# --- proof of dispatch and complaints ----------------------------------------------------------------


class ProofFile(Out):
    sha256: str = Field(description="SHA-256 of the file, hex; the file is kept under this name")
    media_type: Literal["image/jpeg", "image/png", "image/webp", "image/gif", "application/pdf"] = Field(
        description="recognised from the content, not from the name or the declared type"
    )
    size: int = Field(description="bytes")
    uploaded_at: datetime
    href: str = Field(description="where the buyer, the seller and administrators download it")


class ProofRequest(Out):
    id: str
    order_id: str
    cancellation_request_id: str = Field(description="the rejection that said the parcel is on its way")
    shipment_id: str
    carrier: str
    tracking_code: str
    status: Literal["requested", "provided", "missed", "complained"] = Field(
        description="`missed`: the seller's time ran out with no proof, so the buyer may complain"
    )
    created_at: datetime
    due_at: datetime = Field(description="the seller's time to upload the proof ends here")
    missed_at: datetime | None
    proof: ProofFile | None = Field(description="the uploaded proof; null until the seller uploads it")
    your_role: Role
    actions: list[Action] = Field(description="what the caller can do now, and why not")
    deadlines: list[Deadline]


class ProofRequests(Out):
    order_id: str
    proof_requests: list[ProofRequest] = Field(description="oldest first")


class ComplaintProof(Out):
    id: str
    status: Literal["requested", "provided", "missed", "complained"]
    cancellation_request_id: str
    carrier: str
    tracking_code: str
    created_at: datetime
    due_at: datetime
    missed_at: datetime | None


class AnswerTimes(Out):
    """How a store answered one kind of request that its seller must answer."""

    count: int = Field(description="how many the store received")
    answered: int = Field(description="cancellation requests the seller decided; proofs uploaded in time")
    missed: int = Field(description="cancellation requests approved by silence; proof requests missed")
    waiting: int = Field(description="still waiting for the seller")
    median_hours: float | None = Field(description="median time to answer, in hours; null with no answer")
    slowest_hours: float | None = Field(description="slowest answer, in hours; null with no answer")


class SellerRecord(Out):
    store_id: str
    cancellation_requests: AnswerTimes
    proof_requests: AnswerTimes


class ComplaintStore(Out):
    id: str
    name: str
    seller_id: str


class Complaint(Out):
    id: str
    kind: Literal["no_proof_of_dispatch"]
    status: Literal["open"]
    message: str
    buyer_id: str
    created_at: datetime
    order: OrderSummary
    store: ComplaintStore
    proof_request: ComplaintProof | None
    seller_record: SellerRecord = Field(description="the store's response times and misses, as of now")


class ComplaintPage(Out):
    complaints: list[Complaint] = Field(description="newest first")
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last")
