"""``FakeOrderStream``: the order stream a test drives (updates, drops, refusals)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager

from order_service.errors import BrokerUnavailable, OrderServiceError
from order_service.services.ports import BrokerSession, OrderUpdate, OrderUpdates

DELIVERY_TIMEOUT = 2.0


class FakeConnection:
    """One open stream: what the test pushes is what its reader receives, in order."""

    def __init__(self, session: BrokerSession) -> None:
        self.session = session
        self.closed = False
        self._inbox: asyncio.Queue[OrderUpdate | BaseException] = asyncio.Queue()

    def push(self, *updates: OrderUpdate) -> None:
        for update in updates:
            self._inbox.put_nowait(update)

    def drop(self) -> None:
        self.fail(BrokerUnavailable("the ticker closed the connection"))

    def fail(self, error: BaseException) -> None:
        """Make the reader's next receive raise ``error``."""
        self._inbox.put_nowait(error)

    async def delivered(self) -> None:
        """Wait until the reader has handled everything pushed so far."""
        await asyncio.wait_for(self._inbox.join(), DELIVERY_TIMEOUT)

    async def updates(self) -> AsyncGenerator[OrderUpdate, None]:
        while True:
            item = await self._inbox.get()
            try:
                if isinstance(item, BaseException):
                    raise item
                yield item  # resumed once the reader asks for the next: it handled this one
            finally:
                self._inbox.task_done()


class FakeOrderStream:
    """Opens a ``FakeConnection`` per connect, unless told to refuse (``refuse_with``)."""

    def __init__(self) -> None:
        self.connections: list[FakeConnection] = []
        self.attempts = 0
        self.refuse_with: OrderServiceError | None = None
        self.drop_at_once = False

    @asynccontextmanager
    async def connect(self, session: BrokerSession) -> AsyncIterator[OrderUpdates]:
        self.attempts += 1
        if self.refuse_with is not None:
            raise self.refuse_with
        connection = FakeConnection(session)
        self.connections.append(connection)
        if self.drop_at_once:
            connection.drop()
        updates = connection.updates()
        try:
            yield updates
        finally:
            await updates.aclose()
            connection.closed = True

    def open(self) -> list[FakeConnection]:
        return [connection for connection in self.connections if not connection.closed]
