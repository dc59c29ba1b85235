"""disputes, their proposals, evidence, return scans; messages in disputes; return tracking codes

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 10:00:00.000000

R7.1 to R7.8: `disputes` (one per buyer's dispute on shipped lines), `disputed_lines` (a line is
disputed once, ever), `dispute_proposals`, `dispute_evidence` (files kept by content outside the
database), `return_scans` (the carrier's scans of a return parcel). Messages may belong to a
dispute. A tracking code now says its direction: a return's code is never a store's parcel code.
"""

import sqlalchemy as sa
from alembic import op

import orderguard.store.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

UTC_DT = orderguard.store.types.UTCDateTime(timezone=True)
ID = 32


def upgrade() -> None:
    op.create_table(
        "disputes",
        sa.Column("id", sa.String(length=ID), nullable=False),
        sa.Column("order_id", sa.String(length=ID), nullable=False),
        sa.Column("buyer_id", sa.String(length=ID), nullable=False),
        sa.Column("store_id", sa.String(length=ID), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("fault", sa.String(length=10), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("wanted", sa.String(length=24), nullable=False),
        sa.Column("wanted_amount", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("opened_at", UTC_DT, nullable=False),
        sa.Column("seller_answer_from", UTC_DT, nullable=True),
        sa.Column("escalated_at", UTC_DT, nullable=True),
        sa.Column("escalated_by", sa.String(length=10), nullable=True),
        sa.Column("buyer_info_requested_at", UTC_DT, nullable=True),
        sa.Column("buyer_info_question", sa.Text(), nullable=True),
        sa.Column("seller_info_requested_at", UTC_DT, nullable=True),
        sa.Column("seller_info_question", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.Column("outcome_amount", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("return_shipping_paid_by", sa.String(length=10), nullable=True),
        sa.Column("decided_by", sa.String(length=24), nullable=True),
        sa.Column("rationale", sa.Text(), nullable=True),
        sa.Column("return_requested_at", UTC_DT, nullable=True),
        sa.Column("return_carrier", sa.String(length=40), nullable=True),
        sa.Column("return_tracking_code", sa.String(length=40), nullable=True),
        sa.Column("return_shipped_at", UTC_DT, nullable=True),
        sa.Column("return_delivered_at", UTC_DT, nullable=True),
        sa.Column("ended_at", UTC_DT, nullable=True),
        sa.Column("refund_id", sa.String(length=ID), nullable=True),
        sa.Column("refunded", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("fine_id", sa.String(length=ID), nullable=True),
        sa.Column("fined", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(["buyer_id"], ["accounts.id"], name=op.f("fk_disputes_buyer_id_accounts")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_disputes_order_id_orders")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_disputes_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
    )
    op.create_index("ix_disputes_order_id", "disputes", ["order_id"])
    op.create_index("ix_disputes_buyer_id", "disputes", ["buyer_id"])
    op.create_index("ix_disputes_store_id", "disputes", ["store_id"])
    op.create_index("ix_disputes_state_escalated", "disputes", ["state", "escalated_at", "id"])
    op.create_index("ix_disputes_return_code", "disputes", ["return_carrier", "return_tracking_code"])

    op.create_table(
        "disputed_lines",
        sa.Column("line_id", sa.String(length=ID), nullable=False),
        sa.Column("dispute_id", sa.String(length=ID), nullable=False),
        sa.ForeignKeyConstraint(
            ["dispute_id"], ["disputes.id"], name=op.f("fk_disputed_lines_dispute_id_disputes")
        ),
        sa.ForeignKeyConstraint(
            ["line_id"], ["order_lines.id"], name=op.f("fk_disputed_lines_line_id_order_lines")
        ),
        sa.PrimaryKeyConstraint("line_id", name=op.f("pk_disputed_lines")),
    )
    op.create_index("ix_disputed_lines_dispute_id", "disputed_lines", ["dispute_id"])

    op.create_table(
        "dispute_proposals",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=ID), nullable=False),
        sa.Column("dispute_id", sa.String(length=ID), nullable=False),
        sa.Column("order_id", sa.String(length=ID), nullable=False),
        sa.Column("author_role", sa.String(length=10), nullable=False),
        sa.Column("author_id", sa.String(length=ID), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("return_shipping_paid_by", sa.String(length=10), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.Column("answered_at", UTC_DT, nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["accounts.id"], name=op.f("fk_dispute_proposals_author_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["dispute_id"], ["disputes.id"], name=op.f("fk_dispute_proposals_dispute_id_disputes")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_dispute_proposals_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_dispute_proposals")),
        sa.UniqueConstraint("id", name=op.f("uq_dispute_proposals_id")),
    )
    op.create_index("ix_dispute_proposals_dispute_id", "dispute_proposals", ["dispute_id"])

    op.create_table(
        "dispute_evidence",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=ID), nullable=False),
        sa.Column("dispute_id", sa.String(length=ID), nullable=False),
        sa.Column("order_id", sa.String(length=ID), nullable=False),
        sa.Column("author_id", sa.String(length=ID), nullable=False),
        sa.Column("author_role", sa.String(length=10), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("uploaded_at", UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["accounts.id"], name=op.f("fk_dispute_evidence_author_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["dispute_id"], ["disputes.id"], name=op.f("fk_dispute_evidence_dispute_id_disputes")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_dispute_evidence_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_dispute_evidence")),
        sa.UniqueConstraint("id", name=op.f("uq_dispute_evidence_id")),
    )
    op.create_index("ix_dispute_evidence_dispute_id", "dispute_evidence", ["dispute_id"])

    op.create_table(
        "return_scans",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dispute_id", sa.String(length=ID), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", UTC_DT, nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("city", sa.String(length=100), server_default="", nullable=False),
        sa.Column("postal_code", sa.String(length=20), server_default="", nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("received_at", UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(
            ["dispute_id"], ["disputes.id"], name=op.f("fk_return_scans_dispute_id_disputes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_scans")),
        sa.UniqueConstraint(
            "dispute_id",
            "kind",
            "occurred_at",
            "country",
            "city",
            "postal_code",
            name="uq_return_scans_identity",
        ),
    )

    # plain ALTER TABLE: a batch copy of these tables would trip the foreign keys that point at them
    op.add_column("messages", sa.Column("dispute_id", sa.String(length=ID), nullable=True))
    op.create_index("ix_messages_dispute", "messages", ["dispute_id", "id"])
    op.add_column(
        "tracking_codes",
        sa.Column("direction", sa.String(length=10), server_default="outbound", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("tracking_codes", "direction")
    op.drop_index("ix_messages_dispute", table_name="messages")
    op.drop_column("messages", "dispute_id")
    op.drop_table("return_scans")
    op.drop_index("ix_dispute_evidence_dispute_id", table_name="dispute_evidence")
    op.drop_table("dispute_evidence")
    op.drop_index("ix_dispute_proposals_dispute_id", table_name="dispute_proposals")
    op.drop_table("dispute_proposals")
    op.drop_index("ix_disputed_lines_dispute_id", table_name="disputed_lines")
    op.drop_table("disputed_lines")
    for name in ("return_code", "state_escalated", "store_id", "buyer_id", "order_id"):
        op.drop_index(f"ix_disputes_{name}", table_name="disputes")
    op.drop_table("disputes")
