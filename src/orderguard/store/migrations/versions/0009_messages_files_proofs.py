"""messages on orders, proof-of-dispatch requests and complaints

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 10:00:00.000000

R4.7: `messages`, what the buyer and the store's seller write on an order.
R4.6: `proof_requests`, the buyer's request for proof of dispatch after a rejection that said the
parcel is on its way (one per rejection), and `complaints` to the administration (one per missed
proof request). The files themselves are kept outside the database, by content.
"""

import sqlalchemy as sa
from alembic import op

import orderguard.store.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("author_id", sa.String(length=32), nullable=False),
        sa.Column("author_role", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", orderguard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["accounts.id"], name=op.f("fk_messages_author_id_accounts")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_messages_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_order", ["order_id", "id"], unique=False)

    op.create_table(
        "proof_requests",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("cancellation_request_id", sa.String(length=32), nullable=False),
        sa.Column("shipment_id", sa.String(length=32), nullable=False),
        sa.Column("buyer_id", sa.String(length=32), nullable=False),
        sa.Column("store_id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("carrier", sa.String(length=40), nullable=False),
        sa.Column("tracking_code", sa.String(length=40), nullable=False),
        sa.Column("created_at", orderguard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", orderguard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=True),
        sa.Column("file_type", sa.String(length=40), nullable=True),
        sa.Column("file_size", sa.BigInteger(), nullable=True),
        sa.Column("uploaded_at", orderguard.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("missed_at", orderguard.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["buyer_id"], ["accounts.id"], name=op.f("fk_proof_requests_buyer_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["cancellation_request_id"],
            ["cancellation_requests.id"],
            name=op.f("fk_proof_requests_cancellation_request_id_cancellation_requests"),
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_proof_requests_order_id_orders")),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipments.id"], name=op.f("fk_proof_requests_shipment_id_shipments")
        ),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_proof_requests_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proof_requests")),
        sa.UniqueConstraint(
            "cancellation_request_id", name=op.f("uq_proof_requests_cancellation_request_id")
        ),
    )
    with op.batch_alter_table("proof_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_proof_requests_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_proof_requests_store_id"), ["store_id"], unique=False)

    op.create_table(
        "complaints",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("buyer_id", sa.String(length=32), nullable=False),
        sa.Column("store_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", orderguard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("proof_request_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["buyer_id"], ["accounts.id"], name=op.f("fk_complaints_buyer_id_accounts")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_complaints_order_id_orders")),
        sa.ForeignKeyConstraint(
            ["proof_request_id"],
            ["proof_requests.id"],
            name=op.f("fk_complaints_proof_request_id_proof_requests"),
        ),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_complaints_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
        sa.UniqueConstraint("proof_request_id", name=op.f("uq_complaints_proof_request_id")),
    )
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.create_index("ix_complaints_created", ["created_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaints_order_id"), ["order_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaints_order_id"))
        batch_op.drop_index("ix_complaints_created")
    op.drop_table("complaints")
    with op.batch_alter_table("proof_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proof_requests_store_id"))
        batch_op.drop_index(batch_op.f("ix_proof_requests_order_id"))
    op.drop_table("proof_requests")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_order")
    op.drop_table("messages")
