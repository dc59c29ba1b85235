"""the deadlines' order and subject indexes hold armed deadlines only

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27 18:55:00.000000

Every query that finds deadlines by order or by subject asks for armed ones (an order page's
deadlines, a refund's, the timers a transition cancels), and the due-time index was already
partial. A deadline that fires or is cancelled changes `state`, so its update can never be HOT;
with these two indexes partial too, the settled version gets an entry in the primary key only,
instead of one in each of three indexes, and the armed indexes stay as small as the armed set.
In a due storm, settling a deadline was the largest server cost of a firing (benchmarks/README.md,
issue #12 item 4).
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

ARMED = sa.text("state = 'armed'")


def upgrade() -> None:
    with op.batch_alter_table("deadlines") as batch_op:
        batch_op.drop_index("ix_deadlines_subject")
        batch_op.drop_index("ix_deadlines_order_id")
        batch_op.create_index(
            "ix_deadlines_armed_order", ["order_id"], sqlite_where=ARMED, postgresql_where=ARMED
        )
        batch_op.create_index(
            "ix_deadlines_armed_subject",
            ["subject_id", "kind"],
            sqlite_where=ARMED,
            postgresql_where=ARMED,
        )


def downgrade() -> None:
    with op.batch_alter_table("deadlines") as batch_op:
        batch_op.drop_index("ix_deadlines_armed_subject")
        batch_op.drop_index("ix_deadlines_armed_order")
        batch_op.create_index("ix_deadlines_order_id", ["order_id"], unique=False)
        batch_op.create_index("ix_deadlines_subject", ["subject_id", "kind", "state"], unique=False)
