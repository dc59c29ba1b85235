"""cancellation requests, fines, and what orders need for them

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 10:00:00.000000

Order lines learn their offer's handling days (a snapshot, like the price) and how much of them was
cancelled after payment; orders learn their ship-by time (R4.8). Existing lines take their offer's
current handling days; orders paid and not fully shipped get their ship-by time and its deadline,
so the rule applies to them too.
"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import orderguard.store.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UTC_DT = orderguard.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    # plain ALTER TABLE (SQLite >= 3.35 drops columns too): a batch copy of `orders` would trip the
    # foreign keys that point at it
    op.add_column("order_lines", sa.Column("handling_days", sa.Integer(), server_default="0", nullable=False))
    op.add_column("order_lines", sa.Column("cancelled", sa.Integer(), server_default="0", nullable=False))
    op.add_column("orders", sa.Column("ship_by_at", UTC_DT, nullable=True))
    op.create_table(
        "cancellation_requests",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("buyer_id", sa.String(length=32), nullable=False),
        sa.Column("store_id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("fault", sa.String(length=10), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.Column("decided_at", UTC_DT, nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("carrier", sa.String(length=40), nullable=True),
        sa.Column("tracking_code", sa.String(length=40), nullable=True),
        sa.Column("shipment_id", sa.String(length=32), nullable=True),
        sa.Column("refund_id", sa.String(length=32), nullable=True),
        sa.Column("fine_id", sa.String(length=32), nullable=True),
        sa.Column("refunded", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("fined", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["buyer_id"], ["accounts.id"], name=op.f("fk_cancellation_requests_buyer_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_cancellation_requests_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_cancellation_requests_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cancellation_requests")),
    )
    op.create_index(
        op.f("ix_cancellation_requests_order_id"), "cancellation_requests", ["order_id"], unique=False
    )
    op.create_table(
        "fines",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("store_id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("cause_type", sa.String(length=30), nullable=False),
        sa.Column("cause_id", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("rule", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_fines_order_id_orders")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_fines_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fines")),
    )
    op.create_index("ix_fines_store_created", "fines", ["store_id", "created_at", "id"], unique=False)
    _backfill()


def _backfill() -> None:
    conn = op.get_bind()
    conn.execute(
        sa.text(
            "UPDATE order_lines SET handling_days = "
            "(SELECT offers.handling_days FROM offers WHERE offers.id = order_lines.offer_id) "
            "WHERE EXISTS (SELECT 1 FROM offers WHERE offers.id = order_lines.offer_id)"
        )
    )
    rows = conn.execute(
        sa.text(
            "SELECT o.id, o.paid_at, MAX(l.handling_days) FROM orders o "
            "JOIN order_lines l ON l.order_id = o.id "
            "WHERE o.state IN ('awaiting_shipment', 'partly_shipped') AND o.paid_at IS NOT NULL "
            "GROUP BY o.id, o.paid_at"
        ).columns(sa.column("id"), sa.column("paid_at", UTC_DT), sa.column("days", sa.Integer()))
    ).all()
    now = datetime.now(UTC)
    for order_id, paid_at, days in rows:
        ship_by = paid_at + timedelta(days=days)
        conn.execute(
            sa.text("UPDATE orders SET ship_by_at = :at WHERE id = :id").bindparams(
                sa.bindparam("at", type_=UTC_DT)
            ),
            {"at": ship_by, "id": order_id},
        )
        conn.execute(
            sa.text(
                "INSERT INTO deadlines (subject_type, subject_id, order_id, kind, due_at, state, created_at) "
                "VALUES ('order', :id, :id, 'ship_by', :due, 'armed', :now)"
            ).bindparams(sa.bindparam("due", type_=UTC_DT), sa.bindparam("now", type_=UTC_DT)),
            {"id": order_id, "due": ship_by, "now": now},
        )


def downgrade() -> None:
    op.execute("DELETE FROM deadlines WHERE kind = 'ship_by'")
    op.drop_index("ix_fines_store_created", table_name="fines")
    op.drop_table("fines")
    op.drop_index(op.f("ix_cancellation_requests_order_id"), table_name="cancellation_requests")
    op.drop_table("cancellation_requests")
    op.drop_column("orders", "ship_by_at")
    op.drop_column("order_lines", "cancelled")
    op.drop_column("order_lines", "handling_days")
