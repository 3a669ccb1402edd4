"""Wake-ups across processes: PostgreSQL's ``LISTEN order_service_events``.

Migration 0010's statement trigger notifies the channel whenever order events are inserted;
PostgreSQL delivers a notification at commit, to every listening connection, once per
transaction. One connection per process listens and wakes the in-process signal. If it drops,
it is opened again after a pause, and its readers wake anyway at their idle timeout: a lost
notification delays the news by that timeout at most, and loses nothing (readers read the
feed, not the notifications).
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
from sqlalchemy.engine import make_url

from order_service.adapters.coordination.signals import InProcessEventSignal
from order_service.observability.logging import get_logger
from order_service.services.ports import EventSignal

log = get_logger(__name__)
CHANNEL = "order_service_events"
RECONNECT_PAUSE = 1.0
CONNECT_TIMEOUT = 5.0


class PostgresEventSignal:
    def __init__(self, database_url: str) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._local = InProcessEventSignal()
        self._task: asyncio.Task[None] | None = None

    def notify(self) -> None:
        self._local.notify()

    async def wait(self, seen: int, seconds: float) -> int:
        if self._task is None:
            self._task = asyncio.create_task(self._listen(), name="event-listener")
        return await self._local.wait(seen, seconds)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _listen(self) -> None:
        while True:
            try:
                await self._listen_once()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                log.warning("event listener lost its connection", error=str(exc))
            await asyncio.sleep(RECONNECT_PAUSE)

    async def _listen_once(self) -> None:
        connection = await asyncpg.connect(self._dsn, timeout=CONNECT_TIMEOUT)
        lost = asyncio.Event()
        try:
            connection.add_termination_listener(lambda _: lost.set())
            await connection.add_listener(CHANNEL, lambda *_: self._local.notify())
            self._local.notify()  # what committed while no one listened is read now
            await lost.wait()
        finally:
            if not connection.is_closed():
                await connection.close(timeout=CONNECT_TIMEOUT)


_implements_port: type[EventSignal] = PostgresEventSignal
