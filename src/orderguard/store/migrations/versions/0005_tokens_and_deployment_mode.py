"""tokens in their own table; the database's mode; the sandbox clock's start

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 10:00:00

- `tokens`: several bearer tokens per account, each may expire or be revoked. The
  digests in `accounts.token_hash` move there and the column goes.
- `deployment`: the mode (sandbox | production) the database was created in. A
  database that already holds data is labelled here: sandbox when it has a sandbox
  clock row, production otherwise. An empty one stays unlabelled: the first process
  that opens it records its mode (bootstrap.py).
- `sandbox_clock.started_at`: the virtual clock's horizon counts from it.
"""

import sqlalchemy as sa
from alembic import op

import orderguard.store.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UTC_DATETIME = orderguard.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "deployment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint("mode IN ('sandbox', 'production')", name="ck_deployment_mode"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployment")),
    )
    op.execute(
        "INSERT INTO deployment (id, mode, created_at) "
        "SELECT 1, 'sandbox', CURRENT_TIMESTAMP WHERE EXISTS (SELECT 1 FROM sandbox_clock)"
    )
    op.execute(
        "INSERT INTO deployment (id, mode, created_at) "
        "SELECT 1, 'production', CURRENT_TIMESTAMP "
        "WHERE NOT EXISTS (SELECT 1 FROM deployment) "
        "AND (EXISTS (SELECT 1 FROM accounts) OR EXISTS (SELECT 1 FROM policies))"
    )

    op.add_column("sandbox_clock", sa.Column("started_at", UTC_DATETIME, nullable=True))
    op.execute("UPDATE sandbox_clock SET started_at = now")
    with op.batch_alter_table("sandbox_clock") as batch_op:  # no table refers to it: safe to rebuild
        batch_op.alter_column("started_at", existing_type=UTC_DATETIME, nullable=False)

    op.create_table(
        "tokens",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=True),
        sa.Column("revoked_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_tokens_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tokens")),
        sa.UniqueConstraint("digest", name=op.f("uq_tokens_digest")),
    )
    op.create_index(op.f("ix_tokens_account_id"), "tokens", ["account_id"], unique=False)
    # An account's old token keeps working: its id is derived from the account's, its time is the account's.
    op.execute(
        "INSERT INTO tokens (id, digest, account_id, created_at) "
        "SELECT 'tok_' || substr(id, 5), token_hash, id, created_at FROM accounts"
    )
    _drop_account_token_hash()


def _drop_account_token_hash() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_column("accounts", "token_hash")
        return
    # SQLite cannot drop a UNIQUE column, and rebuilding `accounts` the usual way (copy, drop,
    # rename) fails while other tables' rows refer to it: PRAGMA foreign_keys cannot be switched
    # off inside the migration's transaction. With the checks deferred, dropping the old table
    # counts one violation per referring row; inserting the rows into the new `accounts`
    # afterwards resolves each of them, so the count is back to zero at commit.
    op.execute("PRAGMA defer_foreign_keys = ON")
    op.execute(
        "CREATE TABLE _accounts_0003 AS SELECT id, role, name, email, password_hash, created_at FROM accounts"
    )
    op.create_table(
        "_accounts_new",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
        sa.UniqueConstraint("email", name="uq_accounts_email"),
    )
    op.drop_table("accounts")
    op.rename_table("_accounts_new", "accounts")
    op.execute(
        "INSERT INTO accounts (id, role, name, email, password_hash, created_at) "
        "SELECT id, role, name, email, password_hash, created_at FROM _accounts_0003"
    )
    op.drop_table("_accounts_0003")


def downgrade() -> None:
    # Each account gets back its oldest token (revoked and expired ones included); an account
    # without any gets an unusable digest. The column comes back nullable with a unique index.
    op.add_column("accounts", sa.Column("token_hash", sa.String(length=64), nullable=True))
    op.execute(
        "UPDATE accounts SET token_hash = coalesce("
        "(SELECT digest FROM tokens WHERE tokens.account_id = accounts.id "
        "ORDER BY created_at, id LIMIT 1), 'none:' || id)"
    )
    op.create_index("uq_accounts_token_hash", "accounts", ["token_hash"], unique=True)
    op.drop_index(op.f("ix_tokens_account_id"), table_name="tokens")
    op.drop_table("tokens")
    with op.batch_alter_table("sandbox_clock") as batch_op:
        batch_op.drop_column("started_at")
    op.drop_table("deployment")
