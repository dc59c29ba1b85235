"""orders leave half of each page free, so that updating an order stays on its page (PostgreSQL)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27 12:20:00.000000

An order row is updated several times in its life (paid, shipped, delivered, completed... or
cancelled by its pay-by deadline) and none of the columns those updates set is indexed. Such an
update is HOT (heap-only: no new entry in any of the table's three indexes) only if the new row
version fits on the row's own page, and at the default fillfactor of 100 pages are full: every
order update wrote a version on another page and an entry in each index. Orders placed together
fall due together, so a due storm updates every row of a page in one transaction: at fillfactor
80, a quarter of the storm's updates were HOT; at 50, all of them, and the order update cost 6-10
µs a row of server time instead of 25-28 (benchmarks/README.md, issue #12 item 4).

Only pages filled from now on leave the room (PostgreSQL does not rewrite the table for it).
SQLite has no fillfactor: nothing changes there.
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE orders SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE orders RESET (fillfactor)")
