"""Liveness: every process beats from a background task while it runs and leaves on exit.

A process alone on its database (the unit tests' fakes) needs no heartbeat: ``bootstrap``
keeps the cheap single-process defaults there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Set

import pytest

from order_service.bootstrap import Services
from order_service.entrypoints.workers.liveness import heartbeating
from order_service.errors import DatabaseError
from order_service.services.liveness import SharedLiveness, SoloLiveness
from order_service.services.ownership import OwnEveryAccount
from tests.unit.conftest import World, eventually


class FakeRegistry:
    """Heartbeats in a dictionary; ``failing`` makes the next beats fail as the database would."""

    def __init__(self) -> None:
        self.beats: list[str] = []
        self.live: set[str] = set()
        self.failing = 0

    async def beat(self, instance_id: str, ttl: float) -> None:
        if self.failing:
            self.failing -= 1
            raise DatabaseError("the database is unavailable")
        self.beats.append(instance_id)
        self.live.add(instance_id)

    async def leave(self, instance_id: str) -> None:
        self.live.discard(instance_id)

    async def alive(self, instance_ids: Set[str]) -> set[str]:
        return self.live & set(instance_ids)


@pytest.mark.asyncio
async def test_a_process_beats_before_its_work_starts_and_leaves_when_it_ends() -> None:
    registry = FakeRegistry()
    liveness = SharedLiveness(registry, "mine", interval=0.01, expiry=1.0)

    async with heartbeating(liveness):
        assert registry.beats == ["mine"]  # before the block: never unseen while at work
        await eventually(lambda: len(registry.beats) >= 3)
        assert await liveness.alive({"mine", "other"}) == {"mine"}

    assert registry.live == set()


@pytest.mark.asyncio
async def test_a_failed_beat_is_retried_at_the_next_interval() -> None:
    registry = FakeRegistry()
    liveness = SharedLiveness(registry, "mine", interval=0.01, expiry=1.0)

    async with heartbeating(liveness):
        registry.failing = 2
        count = len(registry.beats)
        await eventually(lambda: len(registry.beats) > count)

    assert registry.failing == 0


@pytest.mark.asyncio
async def test_other_instances_are_alive_only_while_their_heartbeat_lives() -> None:
    registry = FakeRegistry()
    registry.live = {"other"}
    liveness = SharedLiveness(registry, "mine", interval=0.5, expiry=1.0)

    assert await liveness.alive({"other", "gone"}) == {"other"}


@pytest.mark.asyncio
async def test_a_process_alone_has_nothing_to_beat() -> None:
    async with heartbeating(SoloLiveness("mine")):
        await asyncio.sleep(0)


def test_heartbeats_must_come_more_often_than_they_expire() -> None:
    with pytest.raises(ValueError, match="more often"):
        SharedLiveness(FakeRegistry(), "mine", interval=5, expiry=5)


def test_services_built_around_fakes_keep_the_single_process_defaults(world: World) -> None:
    services: Services = world.services
    assert isinstance(services.liveness, SoloLiveness)
    assert isinstance(services.ownership, OwnEveryAccount)
    assert services.leases is None
