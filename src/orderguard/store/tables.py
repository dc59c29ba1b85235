"""SQLAlchemy Core tables: the one description of the schema (migrations follow it)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from orderguard.store.types import UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = 32  # length of the prefixed random ids (e.g. ord_3f9c2a...)

policies = Table(
    "policies",
    metadata,
    Column("key", String(120), primary_key=True),
    Column("label", String(80), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("body", JSON, nullable=False),
    Column("loaded_at", UTCDateTime, nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=True, unique=True),
    Column("password_hash", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

# Bearer tokens, several per account; only the SHA-256 digest of a token is stored.
tokens = Table(
    "tokens",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("digest", String(64), nullable=False, unique=True),
    Column("account_id", String(ID), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
)

# One row (id 1): the mode the database was created in, sandbox or production (issue #7).
deployment = Table(
    "deployment",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("mode", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("mode IN ('sandbox', 'production')", name="ck_deployment_mode"),
)

stores = Table(
    "stores",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("seller_id", String(ID), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_stores_created", "created_at", "id"),  # GET /v1/stores, a page at a time
)

products = Table(
    "products",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("title", String(300), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("created_by", String(ID), ForeignKey("accounts.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_products_created", "created_at", "id"),  # GET /v1/products, a page at a time
)

offers = Table(
    "offers",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("store_id", String(ID), ForeignKey("stores.id"), nullable=False),
    Column("product_id", String(ID), ForeignKey("products.id"), nullable=False, index=True),
    Column("price", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("stock", Integer, nullable=False),
    Column("handling_days", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("store_id", "product_id"),
)

shipping_options = Table(
    "shipping_options",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("offer_id", String(ID), ForeignKey("offers.id"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("carrier", String(40), nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("promised_days", Integer, nullable=False),
)

carts = Table(
    "carts",
    metadata,
    Column("buyer_id", String(ID), ForeignKey("accounts.id"), primary_key=True),
    Column("last_added_at", UTCDateTime, nullable=False),
)

cart_items = Table(
    "cart_items",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("buyer_id", String(ID), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("offer_id", String(ID), ForeignKey("offers.id"), nullable=False),
    Column("shipping_option_id", String(ID), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
    Column("order_id", String(ID), nullable=True, index=True),
)

orders = Table(
    "orders",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("buyer_id", String(ID), ForeignKey("accounts.id"), nullable=False),
    Column("store_id", String(ID), ForeignKey("stores.id"), nullable=False),
    Column("state", String(32), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("address", JSON, nullable=False),
    Column("policy_key", String(120), ForeignKey("policies.key"), nullable=False),
    Column("placed_at", UTCDateTime, nullable=False),
    Column("pay_by_at", UTCDateTime, nullable=False),
    Column("paid_at", UTCDateTime),
    Column("shipped_at", UTCDateTime),
    Column("delivered_at", UTCDateTime),
    Column("protection_ends_at", UTCDateTime),
    Column("completed_at", UTCDateTime),
    Column("dispute_window_ends_at", UTCDateTime),
    Column("closed_at", UTCDateTime),
    Column("cancelled_at", UTCDateTime),
    Column("ship_by_at", UTCDateTime),
    Index("ix_orders_buyer_placed", "buyer_id", "placed_at", "id"),
    Index("ix_orders_store_placed", "store_id", "placed_at", "id"),
    postgresql_with={"fillfactor": 50},  # room for HOT updates (migration 0013)
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("order_id", String(ID), ForeignKey("orders.id"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("offer_id", String(ID), nullable=False),
    Column("product_id", String(ID), nullable=False),
    Column("title", String(300), nullable=False),
    Column("unit_price", BigInteger, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("shipping_price", BigInteger, nullable=False),
    Column("carrier", String(40), nullable=False),
    Column("promised_days", Integer, nullable=False),
    Column("handling_days", Integer, nullable=False, server_default="0"),
    Column("cancelled", Integer, nullable=False, server_default="0"),
)

payments = Table(
    "payments",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("order_id", String(ID), ForeignKey("orders.id"), nullable=False, index=True),
    Column("method", String(20), nullable=False),
    Column("state", String(20), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("provider_ref", String(80)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("attempted_at", UTCDateTime),
    Column("settled_at", UTCDateTime),
    Column("failure_reason", String(200)),
)

deadlines = Table(
    "deadlines",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject_type", String(20), nullable=False),
    Column("subject_id", String(ID), nullable=False),
    Column("order_id", String(ID), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("state", String(12), nullable=False),  # armed | fired | cancelled
    Column("created_at", UTCDateTime, nullable=False),
    Column("settled_at", UTCDateTime),
    Index(
        "ix_deadlines_armed_due",
        "due_at",
        "id",
        sqlite_where=text("state = 'armed'"),
        postgresql_where=text("state = 'armed'"),
    ),
    # Armed ones only (migration 0014): every look-up by order or subject asks for armed deadlines,
    # and a settled deadline's new row version then enters no index but the primary key.
    Index(
        "ix_deadlines_armed_order",
        "order_id",
        sqlite_where=text("state = 'armed'"),
        postgresql_where=text("state = 'armed'"),
    ),
    # At most one armed deadline of a kind per subject (migration 0016): a firing settles the only one.
    Index(
        "ix_deadlines_armed_subject",
        "subject_id",
        "kind",
        unique=True,
        sqlite_where=text("state = 'armed'"),
        postgresql_where=text("state = 'armed'"),
    ),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", String(ID), nullable=False),
    Column("subject_type", String(20), nullable=False),
    Column("subject_id", String(ID), nullable=False),
    Column("kind", String(60), nullable=False),
    Column("actor", String(16), nullable=False),
    Column("actor_id", String(ID)),
    Column("rule", String(16), nullable=False),
    Column("data", JSON, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Index("ix_events_order", "order_id", "id"),
)

postings = Table(
    "postings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("txn_id", String(ID), nullable=False, index=True),
    Column("kind", String(30), nullable=False),
    Column("order_id", String(ID), index=True),
    Column("account", String(120), nullable=False, index=True),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(ID), nullable=False),
    Column("order_id", String(ID)),
    Column("kind", String(60), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("read_at", UTCDateTime),
    Index("ix_notifications_account", "account_id", "id"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("account_id", String(ID), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer),
    Column("content_type", String(100)),
    Column("body", Text),
    Column("created_at", UTCDateTime, nullable=False),
    # While the response is not stored: the attempt that holds the key, and until when (it renews).
    Column("holder", String(ID)),
    Column("lease_until", UTCDateTime),
)

sandbox_clock = Table(
    "sandbox_clock",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("now", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),  # the sandbox's first time: the horizon counts from it
)

shipments = Table(
    "shipments",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("order_id", String(ID), ForeignKey("orders.id"), nullable=False, index=True),
    Column("carrier", String(40), nullable=False),
    Column("tracking_code", String(40), nullable=False),
    Column("state", String(32), nullable=False),
    Column("shipped_at", UTCDateTime, nullable=False),
    Column("state_since", UTCDateTime),
    # R6.6: the platform sent the parcel back (`refused`, `storage_ended`), and when
    Column("sent_back_by", String(16)),
    Column("sent_back_at", UTCDateTime),
    Index("ix_shipments_tracking", "carrier", "tracking_code"),
)

shipment_lines = Table(
    "shipment_lines",
    metadata,
    Column("shipment_id", String(ID), ForeignKey("shipments.id"), primary_key=True),
    Column("line_id", String(ID), ForeignKey("order_lines.id"), primary_key=True),
    Column("quantity", Integer, nullable=False),
)

scans = Table(
    "scans",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("shipment_id", String(ID), ForeignKey("shipments.id"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("country", String(2), nullable=False),
    Column("city", String(100), nullable=False, server_default=""),
    Column("postal_code", String(20), nullable=False, server_default=""),
    Column("source", String(16), nullable=False),  # carrier | sandbox
    Column("received_at", UTCDateTime, nullable=False),
    UniqueConstraint(
        "shipment_id", "kind", "occurred_at", "country", "city", "postal_code", name="uq_scans_identity"
    ),
)

carrier_webhooks = Table(
    "carrier_webhooks",
    metadata,
    Column("carrier", String(40), primary_key=True),
    Column("signature", String(128), primary_key=True),
    Column("received_at", UTCDateTime, nullable=False),
)

# A carrier's tracking code belongs to one parcel (R6.1): the store that first shipped with it, for
# that order's buyer. Claimed in the shipping transaction; the primary key settles races.
tracking_codes = Table(
    "tracking_codes",
    metadata,
    Column("carrier", String(40), primary_key=True),
    Column("tracking_code", String(40), primary_key=True),
    Column("store_id", String(ID), ForeignKey("stores.id"), nullable=False),
    Column("buyer_id", String(ID), ForeignKey("accounts.id"), nullable=False),
    Column("claimed_at", UTCDateTime, nullable=False),
    # outbound: the store's parcel to the buyer; return: the buyer's return of a dispute (R7.6)
    Column("direction", String(10), nullable=False, server_default="outbound"),
)

# A buyer's request to cancel paid, unshipped quantities (R4.1), answered by the seller or by silence.
cancellation_requests = Table(
    "cancellation_requests",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("order_id", String(ID), ForeignKey("orders.id"), nullable=False, index=True),
    Column("buyer_id", String(ID), ForeignKey("accounts.id"), nullable=False),
    Column("store_id", String(ID), ForeignKey("stores.id"), nullable=False),
    Column("state", String(20), nullable=False),
    Column("reason", String(40), nullable=False),
    Column("fault", String(10), nullable=False),
    Column("lines", JSON, nullable=False),  # {line id: quantity}
    Column("message", Text, nullable=False, server_default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("decided_at", UTCDateTime),
    Column("answer", Text),  # the seller's words when rejecting
    Column("carrier", String(40)),  # rejected as already on its way (R4.6)
    Column("tracking_code", String(40)),
    Column("shipment_id", String(ID)),
    Column("refund_id", String(ID)),
    Column("fine_id", String(ID)),
    Column("refunded", BigInteger, nullable=False, server_default="0"),
    Column("fined", BigInteger, nullable=False, server_default="0"),
)

# Fines charged to a store (R4.3, R4.8): also a ledger transaction from its payable to platform:fines.
fines = Table(
    "fines",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("store_id", String(ID), ForeignKey("stores.id"), nullable=False),
    Column("order_id", String(ID), ForeignKey("orders.id"), nullable=False),
    Column("cause_type", String(30), nullable=False),
    Column("cause_id", String(ID)),
    Column("reason", String(40), nullable=False),
    Column("rule", String(16), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_fines_store_created", "store_id", "created_at", "id"),
)

# Refunds (R5): each back to the order's captured payment; `lines` as [{line_id, quantity, amount}].
refunds = Table(
    "refunds",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("order_id", String(ID), ForeignKey("orders.id"), nullable=False, index=True),
    Column("payment_id", String(ID), ForeignKey("payments.id"), nullable=False),
    Column("method", String(20), nullable=False),
    Column("state", String(20), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("reason", String(60), nullable=False),
    Column("cause_type", String(30), nullable=False),
    Column("cause_id", String(ID)),
    Column("lines", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("settle_by", UTCDateTime),
    Column("attempts", Integer, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("requested_at", UTCDateTime),
    Column("retry_at", UTCDateTime),
    Column("check_at", UTCDateTime),
    Column("provider_ref", String(80)),
    Column("accepted_at", UTCDateTime),
    Column("expected_at", UTCDateTime),
    Column("settled_at", UTCDateTime),
    Column("failure_reason", String(200)),
    # the administrators' lists: by state, and the unsettled ones by their settle-by time (R5.2)
    Index("ix_refunds_state_created", "state", "created_at", "id"),
    Index(
        "ix_refunds_unsettled_settle_by",
        "settle_by",
        sqlite_where=text("state != 'settled'"),
        postgresql_where=text("state != 'settled'"),
    ),
)

# R4.7 what the buyer and the store's seller write to each other on an order; never edited. The id
# counts in the order messages were written: a message is written under its order's lock.
messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", String(ID), ForeignKey("orders.id"), nullable=False),
    Column("author_id", String(ID), ForeignKey("accounts.id"), nullable=False),
    Column("author_role", String(16), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # written in a dispute (R7.2); no foreign key: SQLite cannot add one to an existing table
    Column("dispute_id", String(ID)),
    Index("ix_messages_order", "order_id", "id"),
    Index("ix_messages_dispute", "dispute_id", "id"),
)

# R4.6 the buyer's request for proof of dispatch of a parcel a rejected cancellation request named:
# one per rejection; the file is kept by content (providers/files.py) under `file_sha256`.
proof_requests = Table(
    "proof_requests",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("order_id", String(ID), ForeignKey("orders.id"), nullable=False, index=True),
    Column(
        "cancellation_request_id",
        String(ID),
        ForeignKey("cancellation_requests.id"),
        nullable=False,
        unique=True,
    ),
    Column("shipment_id", String(ID), ForeignKey("shipments.id"), nullable=False),
    Column("buyer_id", String(ID), ForeignKey("accounts.id"), nullable=False),
    Column("store_id", String(ID), ForeignKey("stores.id"), nullable=False, index=True),
    Column("state", String(20), nullable=False),
    Column("carrier", String(40), nullable=False),
    Column("tracking_code", String(40), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("file_sha256", String(64)),
    Column("file_type", String(40)),
    Column("file_size", BigInteger),
    Column("uploaded_at", UTCDateTime),
    Column("missed_at", UTCDateTime),
)

# Complaints to the administration (R4.6, R8.2); one per missed proof request.
complaints = Table(
    "complaints",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("order_id", String(ID), ForeignKey("orders.id"), nullable=False, index=True),
    Column("buyer_id", String(ID), ForeignKey("accounts.id"), nullable=False),
    Column("store_id", String(ID), ForeignKey("stores.id"), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("state", String(20), nullable=False),
    Column("message", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("proof_request_id", String(ID), ForeignKey("proof_requests.id"), unique=True),
    Index("ix_complaints_created", "created_at", "id"),
)

# R7.1 a buyer's dispute on shipped lines of an order; a line is in at most one dispute, ever.
disputes = Table(
    "disputes",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("order_id", String(ID), ForeignKey("orders.id"), nullable=False, index=True),
    Column("buyer_id", String(ID), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("store_id", String(ID), ForeignKey("stores.id"), nullable=False, index=True),
    Column("state", String(20), nullable=False),
    Column("reason", String(40), nullable=False),
    Column("fault", String(10), nullable=False),
    Column("lines", JSON, nullable=False),  # {line id: quantity}
    Column("wanted", String(24), nullable=False),
    Column("wanted_amount", BigInteger, nullable=False),
    Column("description", Text, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("seller_answer_from", UTCDateTime),
    Column("escalated_at", UTCDateTime),
    Column("escalated_by", String(10)),
    Column("buyer_info_requested_at", UTCDateTime),
    Column("buyer_info_question", Text),
    Column("seller_info_requested_at", UTCDateTime),
    Column("seller_info_question", Text),
    Column("outcome", String(24)),
    Column("outcome_amount", BigInteger, nullable=False, server_default="0"),
    Column("return_shipping_paid_by", String(10)),
    Column("decided_by", String(24)),
    Column("rationale", Text),
    Column("return_requested_at", UTCDateTime),
    Column("return_carrier", String(40)),
    Column("return_tracking_code", String(40)),
    Column("return_shipped_at", UTCDateTime),
    Column("return_delivered_at", UTCDateTime),
    Column("ended_at", UTCDateTime),
    Column("refund_id", String(ID)),
    Column("refunded", BigInteger, nullable=False, server_default="0"),
    Column("fine_id", String(ID)),
    Column("fined", BigInteger, nullable=False, server_default="0"),
    Index("ix_disputes_state_escalated", "state", "escalated_at", "id"),
    Index("ix_disputes_return_code", "return_carrier", "return_tracking_code"),
)

# A line is disputed once (R7.1, R7.7): the primary key settles two disputes opened at once.
disputed_lines = Table(
    "disputed_lines",
    metadata,
    Column("line_id", String(ID), ForeignKey("order_lines.id"), primary_key=True),
    Column("dispute_id", String(ID), ForeignKey("disputes.id"), nullable=False, index=True),
)

# R7.2 offers to settle a dispute, answered by the other party.
dispute_proposals = Table(
    "dispute_proposals",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),  # the order they were made in
    Column("id", String(ID), nullable=False, unique=True),
    Column("dispute_id", String(ID), ForeignKey("disputes.id"), nullable=False, index=True),
    Column("order_id", String(ID), ForeignKey("orders.id"), nullable=False),
    Column("author_role", String(10), nullable=False),
    Column("author_id", String(ID), ForeignKey("accounts.id"), nullable=False),
    Column("state", String(16), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("return_shipping_paid_by", String(10)),
    Column("note", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("answered_at", UTCDateTime),
)

# R7.2 photos and videos of a dispute; the files are kept by content (providers/files.py).
dispute_evidence = Table(
    "dispute_evidence",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),  # the order they were uploaded in
    Column("id", String(ID), nullable=False, unique=True),
    Column("dispute_id", String(ID), ForeignKey("disputes.id"), nullable=False, index=True),
    Column("order_id", String(ID), ForeignKey("orders.id"), nullable=False),
    Column("author_id", String(ID), ForeignKey("accounts.id"), nullable=False),
    Column("author_role", String(10), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("media_type", String(40), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("filename", String(255), nullable=False),
    Column("uploaded_at", UTCDateTime, nullable=False),
)

# R7.6 carrier scans of a dispute's return parcel.
return_scans = Table(
    "return_scans",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dispute_id", String(ID), ForeignKey("disputes.id"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("country", String(2), nullable=False),
    Column("city", String(100), nullable=False, server_default=""),
    Column("postal_code", String(20), nullable=False, server_default=""),
    Column("source", String(16), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    UniqueConstraint(
        "dispute_id", "kind", "occurred_at", "country", "city", "postal_code", name="uq_return_scans_identity"
    ),
)

# The results of `orderguard ledger check`, newest last: /metrics reports the last one, whichever
# process ran it.
ledger_checks = Table(
    "ledger_checks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("checked_at", UTCDateTime, nullable=False),
    Column("transactions", BigInteger, nullable=False),
    Column("problems", JSON, nullable=False),  # {problem kind: how many}; {} when the ledger is sound
    Column("seconds", Float, nullable=False),  # how long the check took
)
