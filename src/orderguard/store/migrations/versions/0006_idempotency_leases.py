"""idempotency leases: who holds an in-progress key, and until when

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:00:00.000000

A key whose response is not stored yet is held by one attempt (`holder`) until
`lease_until`; the attempt renews the lease while it runs, and a retry may take
the key over once the lease has passed. Keys left in progress by an older
version have no lease and can be taken over at once.
"""

import sqlalchemy as sa
from alembic import op

import orderguard.store.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("holder", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("lease_until", orderguard.store.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_column("lease_until")
        batch_op.drop_column("holder")
