"""Signal tokens: a strategy's credentials for alerts from charting tools, stored hashed.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Storage types, spelled out so this revision never changes when tables.py does.
INSTANT = sa.DateTime(timezone=True)
ULID = sa.String(length=26)


def upgrade() -> None:
    op.create_table(
        "signal_tokens",
        sa.Column("token_id", ULID, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("strategy_id", ULID, nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", ULID, nullable=False),
        sa.Column("template", sa.JSON(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("revoked_at", INSTANT, nullable=True),
        sa.ForeignKeyConstraint(
            ["strategy_id"],
            ["strategies.strategy_id"],
            name=op.f("fk_signal_tokens_strategy_id_strategies"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_signal_tokens_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_signal_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_id", name=op.f("pk_signal_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_signal_tokens_token_hash")),
    )
    op.create_index(
        op.f("ix_signal_tokens_strategy_id"), "signal_tokens", ["strategy_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_signal_tokens_strategy_id"), table_name="signal_tokens")
    op.drop_table("signal_tokens")
