"""Exit attribution: each settled external order's attribution to the strategies whose position
it closed (the manual ones are the cases a person resolves), the fills' allocated shares, and
an index of the external orders alone.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Storage types, spelled out so this revision never changes when tables.py does.
INSTANT = sa.DateTime(timezone=True)
ULID = sa.String(length=26)
ACCOUNT_ID = sa.String(length=32)
ENUM_TEXT = sa.String(length=32)
SEQUENCE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_EXTERNAL = sa.text("source = 'external'")


def upgrade() -> None:
    op.create_index(
        "ix_orders_external_created_at",
        "orders",
        ["created_at"],
        sqlite_where=_EXTERNAL,
        postgresql_where=_EXTERNAL,
    )
    _create_attributions()
    _create_allocations()


def _create_attributions() -> None:
    op.create_table(
        "exit_attributions",
        sa.Column("attribution_id", ULID, nullable=False),
        sa.Column("account_id", ACCOUNT_ID, nullable=False),
        sa.Column("order_id", ULID, nullable=False),
        sa.Column("exchange", ENUM_TEXT, nullable=False),
        sa.Column("tradingsymbol", sa.String(), nullable=False),
        sa.Column("product", ENUM_TEXT, nullable=False),
        sa.Column("transaction_type", ENUM_TEXT, nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("default_strategy_id", ULID, nullable=False),
        sa.Column("holders", sa.JSON(), nullable=False),
        sa.Column("policy", ENUM_TEXT, nullable=False),
        sa.Column("status", ENUM_TEXT, nullable=False),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("allocations", sa.JSON(), nullable=False),
        sa.Column("assignee", ULID, nullable=True),
        sa.Column("resolved_by", ULID, nullable=True),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.Column("applied_at", INSTANT, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_exit_attributions_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.order_id"], name=op.f("fk_exit_attributions_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["default_strategy_id"],
            ["strategies.strategy_id"],
            name=op.f("fk_exit_attributions_default_strategy_id_strategies"),
        ),
        sa.PrimaryKeyConstraint("attribution_id", name=op.f("pk_exit_attributions")),
        sa.UniqueConstraint("order_id", name=op.f("uq_exit_attributions_order_id")),
    )
    op.create_index(
        op.f("ix_exit_attributions_account_id_status"),
        "exit_attributions",
        ["account_id", "status"],
        unique=False,
    )


def _create_allocations() -> None:
    op.create_table(
        "fill_allocations",
        sa.Column("allocation_id", SEQUENCE, autoincrement=True, nullable=False),
        sa.Column("account_id", ACCOUNT_ID, nullable=False),
        sa.Column("trade_id", sa.String(length=64), nullable=False),
        sa.Column("attribution_id", ULID, nullable=False),
        sa.Column("strategy_id", ULID, nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id", "trade_id"],
            ["fills.account_id", "fills.trade_id"],
            name="fk_fill_allocations_account_id_fills",
        ),
        sa.ForeignKeyConstraint(
            ["attribution_id"],
            ["exit_attributions.attribution_id"],
            name=op.f("fk_fill_allocations_attribution_id_exit_attributions"),
        ),
        sa.ForeignKeyConstraint(
            ["strategy_id"],
            ["strategies.strategy_id"],
            name=op.f("fk_fill_allocations_strategy_id_strategies"),
        ),
        sa.PrimaryKeyConstraint("allocation_id", name=op.f("pk_fill_allocations")),
        sa.UniqueConstraint(
            "account_id",
            "trade_id",
            "strategy_id",
            name=op.f("uq_fill_allocations_account_id_trade_id_strategy_id"),
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_fill_allocations_attribution_id"),
        "fill_allocations",
        ["attribution_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_fill_allocations_attribution_id"), table_name="fill_allocations")
    op.drop_table("fill_allocations")
    op.drop_index(op.f("ix_exit_attributions_account_id_status"), table_name="exit_attributions")
    op.drop_table("exit_attributions")
    op.drop_index("ix_orders_external_created_at", table_name="orders")
