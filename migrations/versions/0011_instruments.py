"""The instrument master: the broker's instruments list as last loaded, and when.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Storage types, spelled out so this revision never changes when tables.py does.
INSTANT = sa.DateTime(timezone=True)
EXACT = sa.Numeric().with_variant(sa.String(length=64), "sqlite")


def upgrade() -> None:
    op.create_table(
        "instruments",
        sa.Column("exchange", sa.String(length=16), nullable=False),
        sa.Column("tradingsymbol", sa.String(length=64), nullable=False),
        sa.Column("instrument_token", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("instrument_type", sa.String(length=16), nullable=False),
        sa.Column("segment", sa.String(length=32), nullable=False),
        sa.Column("tick_size", EXACT, nullable=False),
        sa.Column("lot_size", sa.Integer(), nullable=False),
        sa.Column("expiry", sa.Date(), nullable=True),
        sa.Column("strike", EXACT, nullable=True),
        sa.Column("freeze_quantity", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("exchange", "tradingsymbol", name=op.f("pk_instruments")),
    )
    op.create_table(
        "instrument_loads",
        sa.Column("load_id", sa.Integer(), nullable=False),
        sa.Column("loaded_at", INSTANT, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("load_id", name=op.f("pk_instrument_loads")),
    )


def downgrade() -> None:
    op.drop_table("instrument_loads")
    op.drop_table("instruments")
