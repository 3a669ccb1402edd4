"""Alembic environment: async engines, batch mode on SQLite, frozen column types."""

from __future__ import annotations

import asyncio
from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection

from order_service.adapters.db.engine import create_migration_engine
from order_service.adapters.db.migrate import URL_ATTRIBUTE
from order_service.adapters.db.tables import metadata
from order_service.adapters.db.types import ExactDecimal, UtcDateTime

config = context.config

if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

# Generated migrations spell out storage types, so an old revision never changes
# when a type in tables.py does.
_FROZEN_TYPES = {
    ExactDecimal: "sa.Numeric().with_variant(sa.String(length=64), 'sqlite')",
    UtcDateTime: "sa.DateTime(timezone=True)",
}


def database_url() -> str:
    """Return the URL given by code, by ``-x url=…``, or by alembic.ini, in that order."""
    given = config.attributes.get(URL_ATTRIBUTE) or context.get_x_argument(as_dictionary=True).get(
        "url"
    )
    url = given or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: pass -x url=… or set sqlalchemy.url")
    return str(url)


def render_item(kind: str, obj: Any, _context: AutogenContext) -> str | Literal[False]:
    if kind == "type":
        for type_class, rendered in _FROZEN_TYPES.items():
            if isinstance(obj, type_class):
                return rendered
    return False


def configure(**options: Any) -> None:
    context.configure(
        target_metadata=metadata,
        render_as_batch=True,  # SQLite can only alter a table by copying it
        render_item=render_item,
        compare_type=True,
        **options,
    )


def run_migrations_offline() -> None:
    configure(url=database_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    engine = create_migration_engine(database_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_async_migrations())
