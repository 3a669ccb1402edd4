"""An order left in flight by a process that ended is settled at the next pass, stream up or not:
the order sync asks for the book as soon as it learns the placer is gone, not at a milestone."""

from __future__ import annotations

import pytest

from order_service.domain.ids import AccountId
from order_service.domain.status import OrderStatus
from order_service.entrypoints.workers.order_sync import OrderSyncWorker
from tests.factories import ACCOUNT
from tests.unit.conftest import World
from tests.unit.test_crash_recovery_logic import DEAD, left, status_of

pytestmark = pytest.mark.asyncio


async def streaming_worker(world: World) -> OrderSyncWorker:
    """A sync worker past its first book read, with the account's order stream up."""
    world.services.streams.mark_up(AccountId(ACCOUNT))
    worker = OrderSyncWorker(world.services)
    await worker.run_once()
    return worker


@pytest.mark.parametrize(
    ("sent", "settled"), [(True, OrderStatus.OPEN), (False, OrderStatus.FAILED)]
)
async def test_an_orphan_is_settled_at_the_next_pass(
    world: World, sent: bool, settled: OrderStatus
) -> None:
    worker = await streaming_worker(world)
    orphan = await left(world, OrderStatus.SUBMITTING, DEAD, sent=sent)
    reads = world.broker.calls["orders"]
    world.clock.advance(1)  # well inside its stale and request windows

    await worker.run_once()

    assert world.broker.calls["orders"] == reads + 1
    assert status_of(world, orphan) is settled  # at the broker, or never sent


async def test_an_orphan_asks_for_the_book_once(world: World) -> None:
    worker = await streaming_worker(world)
    orphan = await left(world, OrderStatus.SUBMITTING, DEAD, sent=True)
    (row,) = [b for b, r in world.broker.book.items() if r.tag == orphan.broker_tag]
    world.broker.spoil(row)  # the book cannot settle it: it stays in flight
    world.clock.advance(1)
    await worker.run_once()
    assert status_of(world, orphan) is OrderStatus.SUBMITTING
    reads = world.broker.calls["orders"]
    world.clock.advance(1)

    await worker.run_once()

    assert world.broker.calls["orders"] == reads  # no book read every pass for one orphan


async def test_an_order_a_live_process_is_placing_waits_for_its_window(world: World) -> None:
    worker = await streaming_worker(world)
    placing = await left(
        world, OrderStatus.SUBMITTING, world.services.liveness.instance_id, sent=False
    )
    reads = world.broker.calls["orders"]
    world.clock.advance(1)

    await worker.run_once()

    assert world.broker.calls["orders"] == reads
    assert status_of(world, placing) is OrderStatus.SUBMITTING
