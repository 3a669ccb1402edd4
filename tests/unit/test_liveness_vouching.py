"""A process whose heartbeat is failing places no order: others may soon judge it ended and
settle what it left in flight, so a send it started then could land twice."""

from __future__ import annotations

import pytest

from order_service.bootstrap import Coordination, Services, bootstrap
from order_service.entrypoints.api.app import create_app
from order_service.errors import DatabaseError, ServiceUnavailableError
from order_service.services.liveness import SharedLiveness
from order_service.services.ownership import OwnEveryAccount
from tests.factories import make_request, market_order_body
from tests.unit.conftest import World, api_client
from tests.unit.fakes import FakeUnitOfWork
from tests.unit.test_liveness import FakeRegistry

pytestmark = pytest.mark.asyncio
INTERVAL, EXPIRY = 1.0, 5.0


class Monotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def liveness(registry: FakeRegistry, clock: Monotonic) -> SharedLiveness:
    return SharedLiveness(registry, "mine", interval=INTERVAL, expiry=EXPIRY, monotonic=clock)


async def test_it_vouches_while_its_last_beat_is_younger_than_expiry_less_an_interval() -> None:
    registry, clock = FakeRegistry(), Monotonic()
    beating = liveness(registry, clock)
    assert beating.vouches()  # before the first beat: nothing anyone waits on yet

    await beating.beat()
    clock.now += EXPIRY - INTERVAL - 0.01
    assert beating.vouches()
    clock.now += 0.02
    assert not beating.vouches()

    await beating.beat()
    assert beating.vouches()


async def test_a_failed_beat_does_not_renew_its_word() -> None:
    registry, clock = FakeRegistry(), Monotonic()
    beating = liveness(registry, clock)
    await beating.beat()
    clock.now += EXPIRY - INTERVAL
    registry.failing = 1

    with pytest.raises(DatabaseError):
        await beating.beat()

    assert not beating.vouches()


async def stale_services(world: World) -> Services:
    """The world's services in a process whose last beat is a whole expiry old."""
    registry, clock = FakeRegistry(), Monotonic()
    stale = liveness(registry, clock)
    await stale.beat()
    clock.now += EXPIRY  # the heartbeat task died, or every beat since failed
    return bootstrap(
        world.services.settings,
        uow_factory=lambda: FakeUnitOfWork(world.store),
        broker=world.broker,
        clock=world.clock,
        coordination=Coordination(stale, OwnEveryAccount()),
    )


async def test_a_placement_is_refused_unsent_while_the_heartbeat_is_failing(world: World) -> None:
    services = await stale_services(world)
    sent, stored = world.broker.calls["place_order"], len(world.store.orders)

    with pytest.raises(ServiceUnavailableError) as refused:
        await services.orders.place_order(world.trader, make_request(), None)

    assert refused.value.details["reason"] == "heartbeat"
    assert (world.broker.calls["place_order"], len(world.store.orders)) == (sent, stored)


async def test_the_api_answers_service_unavailable_and_the_retry_goes_through_later(
    world: World,
) -> None:
    services = await stale_services(world)
    body = market_order_body()
    headers = {"Idempotency-Key": "heartbeat-1"}
    async with api_client(create_app(services), world.api_key) as api:
        refused = await api.post("/api/v1/orders", json=body, headers=headers)
        await services.liveness.beat()  # type: ignore[attr-defined]
        placed = await api.post("/api/v1/orders", json=body, headers=headers)

    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert placed.status_code == 201
    assert world.broker.calls["place_order"] == 1
