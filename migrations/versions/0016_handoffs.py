"""Handoffs of control between people and algorithms, at most one unfinished per scope.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Storage types, spelled out so this revision never changes when tables.py does.
INSTANT = sa.DateTime(timezone=True)
TEXT = sa.String(length=32)
UNFINISHED = sa.text("status IN ('PENDING', 'CANCELLING')")


def upgrade() -> None:
    op.create_table(
        "handoffs",
        sa.Column("handoff_id", sa.String(length=26), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("strategy_id", sa.String(length=26), nullable=True),
        sa.Column("scope_key", sa.String(length=26), nullable=False),
        sa.Column("trigger", TEXT, nullable=False),
        sa.Column("from_mode", TEXT, nullable=False),
        sa.Column("target_mode", TEXT, nullable=False),
        sa.Column("status", TEXT, nullable=False),
        sa.Column("force", sa.Boolean(), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("failure", sa.String(), nullable=True),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.Column("deadline", INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.account_id"], name=op.f("fk_handoffs_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["strategy_id"],
            ["strategies.strategy_id"],
            name=op.f("fk_handoffs_strategy_id_strategies"),
        ),
        sa.PrimaryKeyConstraint("handoff_id", name=op.f("pk_handoffs")),
    )
    op.create_index(
        "uq_handoffs_one_unfinished_per_scope",
        "handoffs",
        ["account_id", "scope_key"],
        unique=True,
        sqlite_where=UNFINISHED,
        postgresql_where=UNFINISHED,
    )


def downgrade() -> None:
    op.drop_index("uq_handoffs_one_unfinished_per_scope", table_name="handoffs")
    op.drop_table("handoffs")
