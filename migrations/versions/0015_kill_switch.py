"""The kill switch: one row per engaged scope, and every engage and release as an audit event.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Storage types, spelled out so this revision never changes when tables.py does.
INSTANT = sa.DateTime(timezone=True)
SEQUENCE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "kill_switches",
        sa.Column("scope_kind", sa.String(length=32), nullable=False),
        sa.Column("scope_key", sa.String(length=64), nullable=False),
        sa.Column("engaged_by", sa.String(length=64), nullable=False),
        sa.Column("engaged_at", INSTANT, nullable=False),
        sa.Column("by_admin", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("scope_kind", "scope_key", name=op.f("pk_kill_switches")),
    )
    op.create_table(
        "kill_switch_events",
        sa.Column("sequence", SEQUENCE, autoincrement=True, nullable=False),
        sa.Column("scope_kind", sa.String(length=32), nullable=False),
        sa.Column("scope_key", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", INSTANT, nullable=False),
        sa.Column("flatten", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("sequence", name=op.f("pk_kill_switch_events")),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("kill_switch_events")
    op.drop_table("kill_switches")
