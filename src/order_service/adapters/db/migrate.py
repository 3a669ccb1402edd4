"""Apply the Alembic migrations from code, with a configuration built here rather than read."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.exc import DBAPIError

from order_service.errors import ConfigurationError, DatabaseError

# src/order_service/adapters/db/migrate.py -> the project root, which holds migrations/.
PROJECT_ROOT = Path(__file__).resolve().parents[4]
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
URL_ATTRIBUTE = "database_url"


def alembic_config(url: str) -> Config:
    """Return a configuration for ``url`` that works from any working directory."""
    if not (MIGRATIONS_DIR / "env.py").is_file():
        raise ConfigurationError(f"migrations not found in {MIGRATIONS_DIR}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Passed as an attribute, not an option: ConfigParser would interpolate a '%' in a password.
    config.attributes[URL_ATTRIBUTE] = url
    return config


def upgrade(url: str) -> None:
    """Bring the database at ``url`` to the newest schema."""
    config = alembic_config(url)
    with _unavailable_as_database_error():
        command.upgrade(config, "head")


def downgrade(url: str, revision: str) -> None:
    """Take the database at ``url`` back to ``revision`` (``base`` empties it)."""
    config = alembic_config(url)
    with _unavailable_as_database_error():
        command.downgrade(config, revision)


async def upgrade_async(url: str) -> None:
    """Run ``upgrade`` in a worker thread: the migration environment runs its own event loop."""
    await asyncio.to_thread(upgrade, url)


@contextmanager
def _unavailable_as_database_error() -> Iterator[None]:
    try:
        yield
    except (DBAPIError, OSError, TimeoutError) as exc:
        raise DatabaseError(f"cannot migrate the database: {type(exc).__name__}") from exc
