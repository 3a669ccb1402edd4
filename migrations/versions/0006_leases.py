"""Per-account leases with fencing tokens, and the heartbeats of the service processes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Storage types, spelled out so this revision never changes when tables.py does.
INSTANT = sa.DateTime(timezone=True)
ACCOUNT_ID = sa.String(length=32)
HOLDER_ID = sa.String(length=64)


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("account_id", ACCOUNT_ID, nullable=False),
        sa.Column("holder_id", HOLDER_ID, nullable=True),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.Column("acquired_at", INSTANT, nullable=False),
        sa.Column("expires_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_leases")),
    )
    op.create_table(
        "lease_holders",
        sa.Column("holder_id", HOLDER_ID, nullable=False),
        sa.Column("expires_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("holder_id", name=op.f("pk_lease_holders")),
    )
    op.create_table(
        "lease_fences",
        sa.Column("account_id", ACCOUNT_ID, nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_lease_fences")),
    )
    op.create_table(
        "service_instances",
        sa.Column("instance_id", HOLDER_ID, nullable=False),
        sa.Column("started_at", INSTANT, nullable=False),
        sa.Column("beat_at", INSTANT, nullable=False),
        sa.Column("expires_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("instance_id", name=op.f("pk_service_instances")),
    )
    with op.batch_alter_table("service_instances") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_instances_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("service_instances")
    op.drop_table("lease_fences")
    op.drop_table("lease_holders")
    op.drop_table("leases")
