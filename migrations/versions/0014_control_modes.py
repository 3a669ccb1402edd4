"""Control modes: who trades an account's scope and each strategy's (DESIGN.md section 7).

Every account exists today under manual control; no strategy has a mode of its own yet (the
default strategy follows its account, any other is its algorithm's: see domain/control.py).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MODE = sa.String(length=32)


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("control_mode", MODE, nullable=False, server_default="manual"))
    with op.batch_alter_table("strategies") as batch:
        batch.add_column(sa.Column("control_mode", MODE, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("strategies") as batch:
        batch.drop_column("control_mode")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("control_mode")
