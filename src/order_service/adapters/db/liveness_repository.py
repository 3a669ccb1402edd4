"""``SqlInstanceRegistry``: the heartbeats of the service processes in ``service_instances``.

Works the same on PostgreSQL and on a SQLite file several processes share. Expiry is judged by
the database server's clock (``ServerClock``), so a process on a machine whose clock runs
ahead or behind neither looks dead too early nor lingers.
"""

from __future__ import annotations

from collections.abc import Set

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from order_service.adapters.db.coordination import ServerClock, transaction
from order_service.adapters.db.tables import service_instances

# Rows of processes gone this long are deleted by the next heartbeat of any process.
FORGET_AFTER_SECONDS = 86_400.0


class SqlInstanceRegistry:
    """One row per process: when it started, its last heartbeat, and when that expires."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._clock = ServerClock(engine.dialect.name)

    async def beat(self, instance_id: str, ttl: float) -> None:
        now, until = self._clock.now(), self._clock.later(ttl)
        upsert = self._clock.upsert(service_instances).values(
            instance_id=instance_id, started_at=now, beat_at=now, expires_at=until
        )
        upsert = upsert.on_conflict_do_update(
            index_elements=[service_instances.c.instance_id],
            set_={"beat_at": now, "expires_at": until},
        )
        gone = service_instances.c.expires_at < self._clock.later(-FORGET_AFTER_SECONDS)
        async with transaction(self._engine) as connection:
            await connection.execute(upsert)
            await connection.execute(delete(service_instances).where(gone))

    async def leave(self, instance_id: str) -> None:
        statement = delete(service_instances).where(service_instances.c.instance_id == instance_id)
        async with transaction(self._engine) as connection:
            await connection.execute(statement)

    async def alive(self, instance_ids: Set[str]) -> set[str]:
        if not instance_ids:
            return set()
        statement = select(service_instances.c.instance_id).where(
            service_instances.c.instance_id.in_(sorted(instance_ids)),
            service_instances.c.expires_at > self._clock.now(),
        )
        async with transaction(self._engine) as connection:
            return set((await connection.execute(statement)).scalars())
