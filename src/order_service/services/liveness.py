"""Which service processes are alive, so an order a dead process was placing is settled at once.

Each process has an instance id; an order records the instance that placed it. A NEW or
SUBMITTING order whose placing instance is alive belongs to that request; once the instance is
gone (its heartbeat expired), the broker's book decides the order's fate without waiting out
the request window.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Set
from typing import Protocol, runtime_checkable

from order_service.services.ports import InstanceRegistry


class Liveness(Protocol):
    @property
    def instance_id(self) -> str:
        """This process's instance id."""
        ...

    async def alive(self, instance_ids: Set[str]) -> set[str]:
        """Return those of ``instance_ids`` that belong to live processes."""
        ...

    def vouches(self) -> bool:
        """True while the other processes still see this one alive (it may place orders)."""
        ...


class SoloLiveness:
    """One process owns the database (SQLite): every instance but this one has ended."""

    def __init__(self, instance_id: str) -> None:
        self._instance_id = instance_id

    @property
    def instance_id(self) -> str:
        return self._instance_id

    async def alive(self, instance_ids: Set[str]) -> set[str]:
        return {self._instance_id} & set(instance_ids)

    def vouches(self) -> bool:
        return True  # nobody else judges this process


@runtime_checkable
class Heartbeat(Protocol):
    """A liveness other processes read: this process must keep announcing itself."""

    @property
    def interval(self) -> float:
        """Seconds between heartbeats (well within their expiry)."""
        ...

    async def beat(self) -> None: ...

    async def leave(self) -> None: ...


class SharedLiveness:
    """Liveness through a registry every process shares (the database).

    This process beats every ``interval`` seconds from a background task; its heartbeat lasts
    ``expiry`` seconds, so a process that dies is taken for dead that long after its last
    beat, and one that ends cleanly leaves at once.
    """

    def __init__(
        self,
        registry: InstanceRegistry,
        instance_id: str,
        *,
        interval: float,
        expiry: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < interval < expiry:
            raise ValueError("heartbeats must come more often than they expire")
        self._registry = registry
        self._instance_id = instance_id
        self._interval = interval
        self._expiry = expiry
        self._monotonic = monotonic
        self._beat_at: float | None = None  # when the last beat was stored, by our clock

    @property
    def instance_id(self) -> str:
        return self._instance_id

    @property
    def interval(self) -> float:
        return self._interval

    async def beat(self) -> None:
        started = self._monotonic()  # the stored expiry counts from about now, or later
        await self._registry.beat(self._instance_id, self._expiry)
        self._beat_at = started

    def vouches(self) -> bool:
        """True unless beats have failed (or stopped) long enough to be taken for dead soon.

        Before its first beat a process vouches (a script that never beats places nothing
        others wait on); after it, the last stored beat must be younger than its expiry less
        one interval, so a placement never starts while others may already judge it ended.
        """
        if self._beat_at is None:
            return True
        return self._monotonic() - self._beat_at < self._expiry - self._interval

    async def leave(self) -> None:
        await self._registry.leave(self._instance_id)

    async def alive(self, instance_ids: Set[str]) -> set[str]:
        # This process is alive while it asks, whatever its last heartbeat managed.
        others = set(instance_ids) - {self._instance_id}
        mine = {self._instance_id} & set(instance_ids)
        return mine | await self._registry.alive(others)
