"""Cheaper writes where orders settle: the unsettled-status indexes hold only unsettled orders
on PostgreSQL, the broker-id index that the unique (account, broker id) key repeated is gone,
and an event's place in the feed carries no foreign key to the event.

A pass that settles ten thousand orders (a reconciliation, a busy day's book) rewrote every
index of each order row it changed, and checked a key for each place the commit trigger wrote.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out so this revision never changes when the statuses do.
_UNSETTLED = sa.text(
    "status IN ('CANCEL_PENDING', 'MODIFY_PENDING', 'NEW', 'OPEN', 'PENDING', 'SUBMITTING',"
    " 'TRIGGER_PENDING', 'UNKNOWN')"
)
_STATUS_INDEXES = {
    "ix_orders_status": ["status"],
    "ix_orders_account_id_status": ["account_id", "status"],
}
_PLACE_KEY = "fk_order_event_positions_sequence_order_events"


def upgrade() -> None:
    op.drop_index("ix_orders_broker_order_id", table_name="orders")
    for name, columns in _STATUS_INDEXES.items():
        op.drop_index(name, table_name="orders")
        op.create_index(name, "orders", columns, postgresql_where=_UNSETTLED)
    with op.batch_alter_table("order_event_positions") as batch:
        batch.drop_constraint(_PLACE_KEY, type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("order_event_positions") as batch:
        batch.create_foreign_key(_PLACE_KEY, "order_events", ["sequence"], ["sequence"])
    for name, columns in _STATUS_INDEXES.items():
        op.drop_index(name, table_name="orders")
        op.create_index(name, "orders", columns)
    op.create_index("ix_orders_broker_order_id", "orders", ["broker_order_id"])
