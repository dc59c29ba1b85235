"""parcels sent back by the platform: refused by the buyer, or not collected at the pickup point

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10 10:00:00.000000

R6.6: `shipments.sent_back_by` (`refused` | `storage_ended`) and `sent_back_at` record that the
platform sent a parcel back; a shipment's state is the fold of its scans and of that decision.
A parcel already waiting at a pickup point gets the storage deadline it would have had: 30 days
(the default policy's `shipping.pickup_storage_days`) after it arrived there.
"""

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

import orderguard.store.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

STORAGE_DAYS = 30


def upgrade() -> None:
    when = orderguard.store.types.UTCDateTime(timezone=True)
    # plain ALTER TABLE on both databases: SQLite's batch mode would copy the table, which other
    # tables' foreign keys refer to
    op.add_column("shipments", sa.Column("sent_back_by", sa.String(length=16), nullable=True))
    op.add_column("shipments", sa.Column("sent_back_at", when, nullable=True))

    shipments = sa.table(
        "shipments",
        sa.column("id", sa.String),
        sa.column("order_id", sa.String),
        sa.column("state", sa.String),
        sa.column("state_since", when),
    )
    deadlines = sa.table(
        "deadlines",
        sa.column("subject_type", sa.String),
        sa.column("subject_id", sa.String),
        sa.column("order_id", sa.String),
        sa.column("kind", sa.String),
        sa.column("due_at", when),
        sa.column("state", sa.String),
        sa.column("created_at", when),
    )
    conn = op.get_bind()
    waiting = conn.execute(
        sa.select(shipments.c.id, shipments.c.order_id, shipments.c.state_since).where(
            shipments.c.state == "at_pickup_point", shipments.c.state_since.is_not(None)
        )
    ).all()
    if waiting:
        conn.execute(
            sa.insert(deadlines),
            [
                {
                    "subject_type": "shipment",
                    "subject_id": r.id,
                    "order_id": r.order_id,
                    "kind": "storage_end",
                    "due_at": r.state_since + timedelta(days=STORAGE_DAYS),
                    "state": "armed",
                    "created_at": r.state_since,
                }
                for r in waiting
            ],
        )


def downgrade() -> None:
    conn = op.get_bind()
    conn.execute(sa.text("DELETE FROM deadlines WHERE subject_type = 'shipment' AND kind = 'storage_end'"))
    op.drop_column("shipments", "sent_back_at")  # SQLite 3.35+ drops a column in place
    op.drop_column("shipments", "sent_back_by")
