"""catalogue pages and the ledger check's results

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10 10:00:00.000000

`GET /v1/products` and `GET /v1/stores` page through the catalogue in (created_at, id) order: an
index each. `ledger_checks` keeps the result of each `orderguard ledger check`, so that `/metrics`
of any process reports the last one.
"""

import sqlalchemy as sa
from alembic import op

import orderguard.store.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index("ix_products_created", ["created_at", "id"], unique=False)
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.create_index("ix_stores_created", ["created_at", "id"], unique=False)
    op.create_table(
        "ledger_checks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("checked_at", orderguard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("transactions", sa.BigInteger(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_checks")),
    )


def downgrade() -> None:
    op.drop_table("ledger_checks")
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.drop_index("ix_stores_created")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index("ix_products_created")
