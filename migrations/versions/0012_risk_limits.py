"""Pre-trade risk limits of accounts and strategies, and the indexes their order counts use.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Storage types, spelled out so this revision never changes when tables.py does.
INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "risk_limits",
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("scope_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("limits", sa.JSON(), nullable=False),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.Column("updated_by", sa.String(length=26), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_risk_limits_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("scope", "scope_id", name=op.f("pk_risk_limits")),
    )
    with op.batch_alter_table("orders") as batch:
        batch.create_index(batch.f("ix_orders_account_id_status"), ["account_id", "status"])
        batch.create_index(batch.f("ix_orders_account_id_created_at"), ["account_id", "created_at"])


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_index(batch.f("ix_orders_account_id_created_at"))
        batch.drop_index(batch.f("ix_orders_account_id_status"))
    op.drop_table("risk_limits")
