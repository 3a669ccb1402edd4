"""A webhook endpoint's own events: disabled after a day of failures, enabled again.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = sa.DateTime(timezone=True)
ULID = sa.String(length=26)


def upgrade() -> None:
    op.create_table(
        "webhook_events",
        sa.Column("event_id", ULID, nullable=False),
        sa.Column("webhook_id", ULID, nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("occurred_at", INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.webhook_id"],
            name=op.f("fk_webhook_events_webhook_id_webhooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_webhook_events")),
    )
    with op.batch_alter_table("webhook_events") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_events_webhook_id_event_id"),
            ["webhook_id", "event_id"],
            unique=False,
        )


def downgrade() -> None:
    op.drop_table("webhook_events")
