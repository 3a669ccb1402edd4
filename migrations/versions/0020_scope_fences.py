"""Scope fences: the newest scope-lock token each account's control modes were written under.

When Redis holds the handoff requests' scope locks, a request whose lock expired while it was
paused must not write after the request that took the lock next: the write carries its token,
and a token lower than the one recorded is refused.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scope_fences",
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_scope_fences_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_scope_fences")),
    )


def downgrade() -> None:
    op.drop_table("scope_fences")
