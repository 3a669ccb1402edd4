"""Initial schema: users, API keys, grants, accounts, strategies, orders and order events.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Storage types, spelled out so this revision never changes when tables.py does.
EXACT_DECIMAL = sa.Numeric().with_variant(sa.String(length=64), "sqlite")
INSTANT = sa.DateTime(timezone=True)
ULID = sa.String(length=26)
ACCOUNT_ID = sa.String(length=32)
ENUM_TEXT = sa.String(length=32)


def upgrade() -> None:
    _create_users()
    _create_accounts()
    _create_strategies()
    _create_orders()
    _create_order_events()


def downgrade() -> None:
    for table in ("order_events", "orders", "strategies", "user_accounts", "api_keys"):
        op.drop_table(table)
    op.drop_table("accounts")
    op.drop_table("users")


def _create_users() -> None:
    op.create_table(
        "users",
        sa.Column("user_id", ULID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("roles", sa.String(length=200), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_users")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", ULID, nullable=False),
        sa.Column("user_id", ULID, nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("revoked_at", INSTANT, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_api_keys_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    with op.batch_alter_table("api_keys") as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_user_id"), ["user_id"], unique=False)


def _create_accounts() -> None:
    op.create_table(
        "accounts",
        sa.Column("account_id", ACCOUNT_ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("api_key", sa.String(length=200), nullable=False),
        sa.Column("api_secret_encrypted", sa.String(), nullable=False),
        sa.Column("access_token_encrypted", sa.String(), nullable=True),
        sa.Column("token_expires_at", INSTANT, nullable=True),
        sa.Column("session_state", ENUM_TEXT, nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_accounts")),
    )
    op.create_table(
        "user_accounts",
        sa.Column("user_id", ULID, nullable=False),
        sa.Column("account_id", ACCOUNT_ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_user_accounts_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "account_id", name=op.f("pk_user_accounts")),
    )
    with op.batch_alter_table("user_accounts") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_user_accounts_account_id"), ["account_id"], unique=False
        )


def _create_strategies() -> None:
    op.create_table(
        "strategies",
        sa.Column("strategy_id", ULID, nullable=False),
        sa.Column("account_id", ACCOUNT_ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_strategies_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("strategy_id", name=op.f("pk_strategies")),
        sa.UniqueConstraint("account_id", "name", name=op.f("uq_strategies_account_id_name")),
    )
    # Each dialect needs its own spelling of "is true" in the partial index predicate.
    with op.batch_alter_table("strategies") as batch_op:
        batch_op.create_index(
            "uq_strategies_one_default_per_account",
            ["account_id"],
            unique=True,
            sqlite_where=sa.text("is_default = 1"),
            postgresql_where=sa.text("is_default = true"),
        )


def _create_orders() -> None:
    op.create_table(
        "orders",
        sa.Column("order_id", ULID, nullable=False),
        sa.Column("account_id", ACCOUNT_ID, nullable=False),
        sa.Column("client_order_id", sa.String(), nullable=False),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("tag", sa.String(length=20), nullable=False),
        sa.Column("strategy_id", ULID, nullable=False),
        sa.Column("user_id", ULID, nullable=False),
        sa.Column("exchange", ENUM_TEXT, nullable=False),
        sa.Column("tradingsymbol", sa.String(), nullable=False),
        sa.Column("transaction_type", ENUM_TEXT, nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("product", ENUM_TEXT, nullable=False),
        sa.Column("order_type", ENUM_TEXT, nullable=False),
        sa.Column("variety", ENUM_TEXT, nullable=False),
        sa.Column("price", EXACT_DECIMAL, nullable=True),
        sa.Column("trigger_price", EXACT_DECIMAL, nullable=True),
        sa.Column("validity", ENUM_TEXT, nullable=False),
        sa.Column("validity_ttl", sa.Integer(), nullable=True),
        sa.Column("disclosed_quantity", sa.Integer(), nullable=True),
        sa.Column("market_protection", EXACT_DECIMAL, nullable=True),
        sa.Column("request_tag", sa.String(), nullable=True),
        sa.Column("request_strategy_id", ULID, nullable=True),
        sa.Column("status", ENUM_TEXT, nullable=False),
        sa.Column("broker_order_id", sa.String(length=64), nullable=True),
        sa.Column("broker_status", sa.String(), nullable=True),
        sa.Column("status_message", sa.String(), nullable=True),
        sa.Column("exchange_order_id", sa.String(length=64), nullable=True),
        sa.Column("filled_quantity", sa.Integer(), nullable=False),
        sa.Column("average_price", EXACT_DECIMAL, nullable=True),
        sa.Column("modification_count", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.account_id"], name=op.f("fk_orders_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["strategy_id"],
            ["strategies.strategy_id"],
            name=op.f("fk_orders_strategy_id_strategies"),
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_orders")),
        sa.UniqueConstraint(
            "account_id", "client_order_id", name="uq_orders_account_id_client_order_id"
        ),
        sa.UniqueConstraint("tag", name=op.f("uq_orders_tag")),
    )
    with op.batch_alter_table("orders") as batch_op:
        for columns in (
            ["account_id", "order_id"],
            ["broker_order_id"],
            ["status"],
            ["strategy_id"],
        ):
            name = batch_op.f("ix_orders_" + "_".join(columns))
            batch_op.create_index(name, columns, unique=False)


def _create_order_events() -> None:
    op.create_table(
        "order_events",
        sa.Column(
            "sequence",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("order_id", ULID, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("status_before", ENUM_TEXT, nullable=True),
        sa.Column("status_after", ENUM_TEXT, nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("occurred_at", INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.order_id"], name=op.f("fk_order_events_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("sequence", name=op.f("pk_order_events")),
        sqlite_autoincrement=True,  # never reuse a sequence number, even after a delete
    )
    with op.batch_alter_table("order_events") as batch_op:
        batch_op.create_index(batch_op.f("ix_order_events_order_id"), ["order_id"], unique=False)
