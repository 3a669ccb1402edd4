"""Wake-ups when order events commit, within one process."""

from __future__ import annotations

import asyncio
import contextlib

from order_service.services.ports import EventSignal


class InProcessEventSignal:
    """A counter of wake-ups and an event that waiters sleep on (never a poll)."""

    def __init__(self) -> None:
        self._generation = 0
        self._changed = asyncio.Event()

    def notify(self) -> None:
        self._generation += 1
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait(self, seen: int, seconds: float) -> int:
        if self._generation == seen:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), seconds)
        return self._generation

    async def close(self) -> None:
        return None


_implements_port: type[EventSignal] = InProcessEventSignal
