"""Which service processes are alive, so an order a dead process was placing is settled at once.

Each process has an instance id; an order records the instance that placed it. A NEW or
SUBMITTING order whose placing instance is alive belongs to that request; once the instance is
gone (its heartbeat expired), the broker's book decides the order's fate without waiting out
the request window.
"""

from __future__ import annotations

from collections.abc import Set
from typing import Protocol


class Liveness(Protocol):
    @property
    def instance_id(self) -> str:
        """This process's instance id."""
        ...

    async def alive(self, instance_ids: Set[str]) -> set[str]:
        """Return those of ``instance_ids`` that belong to live processes."""
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
