"""og_expect: a statement that fails the transaction when rows are not as a unit expected them

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-28 20:40:00.000000

PostgreSQL only. `og_expect(ok, what)` returns true, or raises `serialization_failure` (SQLSTATE
40001) with `what` as its message. store/unchanged.py queues it, like a write, in front of the
writes of a unit that decided from rows read in an earlier transaction: if they changed
meanwhile, the server stops the pipeline there and nothing after it (the writes, COMMIT) runs.
SQLite needs no function: there the check is answered at once.
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION og_expect(ok boolean, what text) RETURNS boolean
        LANGUAGE plpgsql AS $$
        BEGIN
            IF ok IS NOT TRUE THEN
                RAISE EXCEPTION USING ERRCODE = 'serialization_failure', MESSAGE = what;
            END IF;
            RETURN true;
        END
        $$
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION og_expect(boolean, text)")
