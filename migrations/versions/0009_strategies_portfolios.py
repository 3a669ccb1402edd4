"""Strategies archived and deleted, portfolios, API keys bound to a strategy, order origins.

A deleted strategy keeps its row (orders and fills refer to it), so a name is unique only among
the account's strategies that are not deleted (a partial index in place of the constraint).
Portfolios group strategies across accounts; every account gets its default portfolio holding
its default strategy here (and a default strategy if it somehow had none), as new accounts get
them when they are added. ``orders.origin`` is ``manual`` for every existing order: each was
placed by a person's key or JWT, or at the broker (external).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Storage types, spelled out so this revision never changes when tables.py does.
INSTANT = sa.DateTime(timezone=True)
ULID = sa.String(length=26)
ACCOUNT_ID = sa.String(length=32)
ENUM_TEXT = sa.String(length=32)
NAME_CONSTRAINT = "uq_strategies_account_id_name"
LIVE_NAME_INDEX = "uq_strategies_live_name_per_account"
DEFAULT_INDEX = "uq_strategies_one_default_per_account"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def upgrade() -> None:
    _strategies_up()
    _create_portfolios()
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("strategy_id", ULID, nullable=True))
        batch.create_foreign_key(
            batch.f("fk_api_keys_strategy_id_strategies"),
            "strategies",
            ["strategy_id"],
            ["strategy_id"],
        )
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("origin", ENUM_TEXT, nullable=False, server_default="manual"))
    _add_defaults(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("origin")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_constraint("fk_api_keys_strategy_id_strategies", type_="foreignkey")
        batch.drop_column("strategy_id")
    op.drop_table("portfolio_strategies")
    op.drop_table("portfolios")
    _strategies_down()


def _strategies_up() -> None:
    # Dropped around the batch: SQLite's copy of the table would not keep its predicate.
    op.drop_index(DEFAULT_INDEX, table_name="strategies")
    with op.batch_alter_table("strategies") as batch:
        batch.add_column(sa.Column("archived_at", INSTANT, nullable=True))
        batch.add_column(sa.Column("deleted_at", INSTANT, nullable=True))
        batch.drop_constraint(NAME_CONSTRAINT, type_="unique")
    _create_default_index()
    op.create_index(
        LIVE_NAME_INDEX,
        "strategies",
        ["account_id", "name"],
        unique=True,
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    )


def _strategies_down() -> None:
    # The older schema holds every name once per account: a deleted strategy gives its name up.
    op.execute(
        "UPDATE strategies SET name = 'deleted ' || strategy_id WHERE deleted_at IS NOT NULL"
    )
    op.drop_index(LIVE_NAME_INDEX, table_name="strategies")
    op.drop_index(DEFAULT_INDEX, table_name="strategies")
    with op.batch_alter_table("strategies") as batch:
        batch.drop_column("deleted_at")
        batch.drop_column("archived_at")
        batch.create_unique_constraint(NAME_CONSTRAINT, ["account_id", "name"])
    _create_default_index()


def _create_default_index() -> None:
    # Each dialect needs its own spelling of "is true" in the partial index predicate.
    op.create_index(
        DEFAULT_INDEX,
        "strategies",
        ["account_id"],
        unique=True,
        sqlite_where=sa.text("is_default = 1"),
        postgresql_where=sa.text("is_default = true"),
    )


def _create_portfolios() -> None:
    op.create_table(
        "portfolios",
        sa.Column("portfolio_id", ULID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("owner_id", ULID, nullable=True),
        sa.Column("default_for", ACCOUNT_ID, nullable=True),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("archived_at", INSTANT, nullable=True),
        sa.ForeignKeyConstraint(
            ["default_for"],
            ["accounts.account_id"],
            name=op.f("fk_portfolios_default_for_accounts"),
        ),
        sa.PrimaryKeyConstraint("portfolio_id", name=op.f("pk_portfolios")),
        sa.UniqueConstraint("default_for", name=op.f("uq_portfolios_default_for")),
        sa.UniqueConstraint("owner_id", "name", name=op.f("uq_portfolios_owner_id_name")),
    )
    op.create_table(
        "portfolio_strategies",
        sa.Column("portfolio_id", ULID, nullable=False),
        sa.Column("strategy_id", ULID, nullable=False),
        sa.ForeignKeyConstraint(
            ["portfolio_id"],
            ["portfolios.portfolio_id"],
            name=op.f("fk_portfolio_strategies_portfolio_id_portfolios"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["strategy_id"],
            ["strategies.strategy_id"],
            name=op.f("fk_portfolio_strategies_strategy_id_strategies"),
        ),
        sa.PrimaryKeyConstraint(
            "portfolio_id", "strategy_id", name=op.f("pk_portfolio_strategies")
        ),
    )
    with op.batch_alter_table("portfolio_strategies") as batch:
        batch.create_index(
            batch.f("ix_portfolio_strategies_strategy_id"), ["strategy_id"], unique=False
        )


_strategies = sa.table(
    "strategies",
    sa.column("strategy_id", ULID),
    sa.column("account_id", ACCOUNT_ID),
    sa.column("name", sa.String()),
    sa.column("is_default", sa.Boolean()),
    sa.column("created_at", INSTANT),
)
_portfolios = sa.table(
    "portfolios",
    sa.column("portfolio_id", ULID),
    sa.column("name", sa.String()),
    sa.column("default_for", ACCOUNT_ID),
    sa.column("created_at", INSTANT),
)
_members = sa.table(
    "portfolio_strategies", sa.column("portfolio_id", ULID), sa.column("strategy_id", ULID)
)


def _add_defaults(connection: sa.Connection) -> None:
    """Give every account its default strategy (if missing) and its default portfolio."""
    now = datetime.now(UTC)
    if connection.dialect.name == "sqlite":  # stored as UTC without an offset, as the app does
        now = now.replace(tzinfo=None)
    accounts = connection.execute(sa.text("SELECT account_id FROM accounts")).scalars().all()
    for account_id in accounts:
        strategy_id = _default_strategy(connection, account_id, now)
        portfolio_id = _ulid()
        connection.execute(
            sa.insert(_portfolios).values(
                portfolio_id=portfolio_id, name="default", default_for=account_id, created_at=now
            )
        )
        connection.execute(
            sa.insert(_members).values(portfolio_id=portfolio_id, strategy_id=strategy_id)
        )


def _default_strategy(connection: sa.Connection, account_id: str, now: datetime) -> str:
    found = connection.execute(
        sa.select(_strategies.c.strategy_id).where(
            _strategies.c.account_id == account_id, _strategies.c.is_default == sa.true()
        )
    ).scalar_one_or_none()
    if found is not None:
        return str(found)
    strategy_id = _ulid()
    connection.execute(
        sa.insert(_strategies).values(
            strategy_id=strategy_id,
            account_id=account_id,
            name="default",
            is_default=True,
            created_at=now,
        )
    )
    return strategy_id


def _ulid() -> str:
    """A ULID, as the service makes them (time-ordered, 80 random bits)."""
    value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))
