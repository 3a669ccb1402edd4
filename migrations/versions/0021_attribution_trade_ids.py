"""Exit attributions name the fills they cover.

A case opened on the fills the ledger held then is applied to those fills alone: a fill of the
exit recorded later stays with the exit's own strategy rather than making the case's split
impossible. Rows written before this revision (NULL) cover every fill of their exit.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("exit_attributions") as batch:
        batch.add_column(sa.Column("trade_ids", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("exit_attributions") as batch:
        batch.drop_column("trade_ids")
