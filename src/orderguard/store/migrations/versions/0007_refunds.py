"""refunds: each back to the order's captured payment, pending until the provider settles it

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import orderguard.store.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    when = orderguard.store.types.UTCDateTime(timezone=True)
    op.create_table(
        "refunds",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("payment_id", sa.String(length=32), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.String(length=60), nullable=False),
        sa.Column("cause_type", sa.String(length=30), nullable=False),
        sa.Column("cause_id", sa.String(length=32), nullable=True),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.Column("settle_by", when, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("requested_at", when, nullable=True),
        sa.Column("retry_at", when, nullable=True),
        sa.Column("check_at", when, nullable=True),
        sa.Column("provider_ref", sa.String(length=80), nullable=True),
        sa.Column("accepted_at", when, nullable=True),
        sa.Column("expected_at", when, nullable=True),
        sa.Column("settled_at", when, nullable=True),
        sa.Column("failure_reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_refunds_order_id_orders")),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"], name=op.f("fk_refunds_payment_id_payments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refunds_order_id"), ["order_id"], unique=False)
        batch_op.create_index("ix_refunds_state_created", ["state", "created_at", "id"], unique=False)
        batch_op.create_index(
            "ix_refunds_unsettled_settle_by",
            ["settle_by"],
            unique=False,
            sqlite_where=sa.text("state != 'settled'"),
            postgresql_where=sa.text("state != 'settled'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_refunds_unsettled_settle_by",
            sqlite_where=sa.text("state != 'settled'"),
            postgresql_where=sa.text("state != 'settled'"),
        )
        batch_op.drop_index("ix_refunds_state_created")
        batch_op.drop_index(batch_op.f("ix_refunds_order_id"))
    op.drop_table("refunds")
