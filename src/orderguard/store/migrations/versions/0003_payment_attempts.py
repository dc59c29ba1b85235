"""payments are recorded before the provider answers

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

import orderguard.store.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.alter_column("provider_ref", existing_type=sa.String(length=80), nullable=True)
        batch.add_column(sa.Column("attempted_at", orderguard.store.types.UTCDateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("attempted_at")
        batch.alter_column("provider_ref", existing_type=sa.String(length=80), nullable=False)
