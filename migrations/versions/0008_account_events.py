"""The account event log: what was found about an account as a whole (position drift).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Storage types, spelled out so this revision never changes when tables.py does.
INSTANT = sa.DateTime(timezone=True)
ACCOUNT_ID = sa.String(length=32)


def upgrade() -> None:
    op.create_table(
        "account_events",
        sa.Column(
            "sequence",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account_id", ACCOUNT_ID, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("occurred_at", INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_account_events_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("sequence", name=op.f("pk_account_events")),
        sqlite_autoincrement=True,  # never reuse a sequence number, even after a delete
    )
    with op.batch_alter_table("account_events") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_account_events_account_id"), ["account_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("account_events")
