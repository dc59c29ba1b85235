"""tracking codes owned by one store and buyer

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 10:00:00

Existing codes go to the store and buyer of the first shipment that used them (by shipped_at,
then id); shipments of other stores or buyers under the same code stay, but no scan moves them.
"""

import sqlalchemy as sa
from alembic import op

import orderguard.store.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tracking_codes",
        sa.Column("carrier", sa.String(length=40), nullable=False),
        sa.Column("tracking_code", sa.String(length=40), nullable=False),
        sa.Column("store_id", sa.String(length=32), nullable=False),
        sa.Column("buyer_id", sa.String(length=32), nullable=False),
        sa.Column("claimed_at", orderguard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["buyer_id"], ["accounts.id"], name=op.f("fk_tracking_codes_buyer_id_accounts")
        ),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_tracking_codes_store_id_stores")),
        sa.PrimaryKeyConstraint("carrier", "tracking_code", name=op.f("pk_tracking_codes")),
    )
    op.execute(
        """
        INSERT INTO tracking_codes (carrier, tracking_code, store_id, buyer_id, claimed_at)
        SELECT s.carrier, s.tracking_code, o.store_id, o.buyer_id, s.shipped_at
        FROM shipments s JOIN orders o ON o.id = s.order_id
        WHERE s.id = (
            SELECT first.id FROM shipments first
            WHERE first.carrier = s.carrier AND first.tracking_code = s.tracking_code
            ORDER BY first.shipped_at, first.id
            LIMIT 1
        )
        """
    )


def downgrade() -> None:
    op.drop_table("tracking_codes")
