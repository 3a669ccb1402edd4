"""The fill ledger: each execution of one of our orders, once per trade id and account.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Storage types, spelled out so this revision never changes when tables.py does.
EXACT_DECIMAL = sa.Numeric().with_variant(sa.String(length=64), "sqlite")
INSTANT = sa.DateTime(timezone=True)
ULID = sa.String(length=26)
ACCOUNT_ID = sa.String(length=32)
ENUM_TEXT = sa.String(length=32)


def upgrade() -> None:
    op.create_table(
        "fills",
        sa.Column(
            "sequence",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account_id", ACCOUNT_ID, nullable=False),
        sa.Column("trade_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", ULID, nullable=False),
        sa.Column("broker_order_id", sa.String(length=64), nullable=False),
        sa.Column("strategy_id", ULID, nullable=False),
        sa.Column("exchange", ENUM_TEXT, nullable=False),
        sa.Column("tradingsymbol", sa.String(), nullable=False),
        sa.Column("product", ENUM_TEXT, nullable=False),
        sa.Column("transaction_type", ENUM_TEXT, nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("price", EXACT_DECIMAL, nullable=False),
        sa.Column("exchange_timestamp", INSTANT, nullable=True),
        sa.Column("source", ENUM_TEXT, nullable=False),
        sa.Column("recorded_at", INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.account_id"], name=op.f("fk_fills_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.order_id"], name=op.f("fk_fills_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["strategy_id"],
            ["strategies.strategy_id"],
            name=op.f("fk_fills_strategy_id_strategies"),
        ),
        sa.PrimaryKeyConstraint("sequence", name=op.f("pk_fills")),
        sa.UniqueConstraint("account_id", "trade_id", name=op.f("uq_fills_account_id_trade_id")),
        sqlite_autoincrement=True,  # never reuse a sequence number, even after a delete
    )
    with op.batch_alter_table("fills") as batch_op:
        batch_op.create_index(batch_op.f("ix_fills_order_id"), ["order_id"], unique=False)


def downgrade() -> None:
    op.drop_table("fills")
