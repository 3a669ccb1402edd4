"""Orders placed outside the service (``source``), and the process that placed each of ours.

``source`` is ``api`` for our orders (every existing row) and ``external`` for an order found
at the broker without a tag of ours. An external order has no tag (NULL: a tag is how we
recognise our own orders at the broker, and none of ours may ever match it) and no user of
ours placed it (``user_id`` NULL). One broker order is at most one row per account.
``placed_by`` is the instance id of the process that placed the order, so an order a dead
process left in flight is settled without waiting.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENUM_TEXT = sa.String(length=32)
BROKER_ORDER_CONSTRAINT = "uq_orders_account_id_broker_order_id"


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("source", ENUM_TEXT, nullable=False, server_default="api"))
        batch.add_column(sa.Column("placed_by", sa.String(length=64), nullable=True))
        batch.alter_column("tag", existing_type=sa.String(length=20), nullable=True)
        batch.alter_column("user_id", existing_type=sa.String(length=26), nullable=True)
        batch.create_unique_constraint(BROKER_ORDER_CONSTRAINT, ["account_id", "broker_order_id"])


def downgrade() -> None:
    # The older schema cannot hold external orders (every order had a tag): they go, with
    # their fills and events.
    external = "SELECT order_id FROM orders WHERE source = 'external'"
    op.execute(f"DELETE FROM fills WHERE order_id IN ({external})")  # noqa: S608
    op.execute(f"DELETE FROM order_events WHERE order_id IN ({external})")  # noqa: S608
    op.execute("DELETE FROM orders WHERE source = 'external'")
    with op.batch_alter_table("orders") as batch:
        batch.drop_constraint(BROKER_ORDER_CONSTRAINT, type_="unique")
        batch.alter_column("tag", existing_type=sa.String(length=20), nullable=False)
        batch.alter_column("user_id", existing_type=sa.String(length=26), nullable=False)
        batch.drop_column("placed_by")
        batch.drop_column("source")
