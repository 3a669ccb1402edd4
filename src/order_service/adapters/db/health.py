"""Readiness: can we run a statement on the database right now."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

READY_TIMEOUT_SECONDS = 2.0


async def database_ready(engine: AsyncEngine) -> bool:
    """Return True if ``SELECT 1`` answers within a couple of seconds."""
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError, TimeoutError):
        return False
    return True
