"""at most one armed deadline of a kind per subject

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28 23:10:00.000000

The lifecycles already keep it so: a transition cancels the timers of the state it leaves before it
arms those of the state it enters, and a timer that moves is cancelled before it is armed again. The
armed-subject index now says so, so that a firing can rely on it: the deadline that fires is the only
armed one of its kind on its subject, and settling it as fired leaves nothing of that kind to cancel
(`app/deadlines._fire`), one statement a batch fewer in a due storm (issue #12 item 4).

A database written by other code could hold two armed deadlines of a kind on one subject: all but
the last armed (the highest id) are settled as cancelled first, at the time the migration runs, so
that the upgrade cannot fail on them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

ARMED = sa.text("state = 'armed'")


def _armed_subject_index(unique: bool) -> None:
    with op.batch_alter_table("deadlines") as batch_op:
        batch_op.drop_index("ix_deadlines_armed_subject")
        batch_op.create_index(
            "ix_deadlines_armed_subject",
            ["subject_id", "kind"],
            unique=unique,
            sqlite_where=ARMED,
            postgresql_where=ARMED,
        )


def upgrade() -> None:
    op.execute(
        "UPDATE deadlines SET state = 'cancelled', settled_at = CURRENT_TIMESTAMP"
        " WHERE state = 'armed' AND id NOT IN"
        " (SELECT max(id) FROM deadlines WHERE state = 'armed' GROUP BY subject_id, kind)"
    )
    _armed_subject_index(unique=True)


def downgrade() -> None:
    _armed_subject_index(unique=False)
