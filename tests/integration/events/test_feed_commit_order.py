"""The feed's promise on PostgreSQL: a reader passing back its last sequence sees every event
once, in commit order, while writers commit out of sequence order around it."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from order_service.adapters.db.crypto import SecretCipher
from order_service.adapters.db.engine import create_engine
from order_service.adapters.db.unit_of_work import SqlUnitOfWorkFactory, sql_uow_factory
from order_service.domain.account import EVERY_ACCOUNT, Strategy
from order_service.domain.events import ORDER_MODIFIED, ORDER_REQUESTED
from order_service.domain.ids import OrderId
from order_service.services.ports import FeedQuery
from tests import factories
from tests.factories import ACCOUNT, NOW, default_strategy_id
from tests.integration.events.conftest import database_url

pytestmark = [pytest.mark.asyncio, pytest.mark.postgres]
WRITERS = 8
TRANSACTIONS_PER_WRITER = 20
EVENTS_PER_TRANSACTION = 3


@pytest_asyncio.fixture
async def uow_factory(tmp_path: Path) -> AsyncIterator[SqlUnitOfWorkFactory]:
    engine = create_engine(await database_url("postgresql", tmp_path))
    factory = sql_uow_factory(engine, SecretCipher("commit-order-test"))
    async with factory() as uow:
        await uow.accounts.add(factories.make_active_account(account_id=ACCOUNT, created_at=NOW))
        await uow.strategies.add(Strategy(default_strategy_id(ACCOUNT), ACCOUNT, "d", True, NOW))
        await uow.commit()
    yield factory
    await engine.dispose()


Commits = dict[OrderId, tuple[float, float]]  # when each order's commit began and returned


async def write(
    factory: SqlUnitOfWorkFactory, seed: int, committed: Commits, rolled_back: set[OrderId]
) -> None:
    """Store orders, each with its events, pausing a random while before each commit."""
    chance = random.Random(seed)
    for _ in range(TRANSACTIONS_PER_WRITER):
        order = factories.make_order(account_id=ACCOUNT, created_at=NOW, updated_at=NOW)
        for index in range(EVENTS_PER_TRANSACTION):
            order.record(ORDER_REQUESTED if index == 0 else ORDER_MODIFIED, NOW, step=index)
        async with factory() as uow:
            await uow.orders.add(order)  # the events take their sequence numbers here
            await asyncio.sleep(chance.uniform(0, 0.03))
            if chance.random() < 0.1:
                rolled_back.add(order.order_id)
                continue  # leaving the block rolls back: its sequence numbers stay unused
            began = time.perf_counter()
            await uow.commit()
            committed[order.order_id] = (began, time.perf_counter())


async def test_a_polling_reader_sees_every_event_once_in_commit_order(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    committed: Commits = {}
    rolled_back: set[OrderId] = set()
    seen: list[tuple[int, OrderId, int]] = []
    writers = [
        asyncio.create_task(write(uow_factory, seed, committed, rolled_back))
        for seed in range(WRITERS)
    ]

    async def poll_once() -> None:
        after = seen[-1][0] if seen else 0
        async with uow_factory() as uow:
            page = await uow.feed.page(FeedQuery(scope=EVERY_ACCOUNT, after=after, limit=50))
        seen.extend((e.sequence, e.order_id, int(e.data["step"])) for e in page)

    while not all(task.done() for task in writers):
        await poll_once()
        await asyncio.sleep(0.002)
    await asyncio.gather(*writers)
    for _ in range(10):  # what the last writers committed
        await poll_once()

    places = [place for place, _, _ in seen]
    assert places == sorted(set(places))  # in order, each once
    events = [(order_id, step) for _, order_id, step in seen]
    assert len(events) == len(set(events))
    assert {order_id for order_id, _ in events} == set(committed)
    assert not rolled_back & {order_id for order_id, _ in events}
    assert len(events) == len(committed) * EVENTS_PER_TRANSACTION
    # Commit order: an order whose commit returned before another's began comes first.
    first = {order_id: place for place, order_id, _ in reversed(seen)}
    for one, (_, returned) in committed.items():
        for other, (began, _) in committed.items():
            if returned < began:
                assert first[one] < first[other]
    assert [step for _, _, step in seen] == [0, 1, 2] * len(committed)  # never interleaved
    assert await commits_overtook_sequences(uow_factory, committed)


async def commits_overtook_sequences(factory: SqlUnitOfWorkFactory, committed: Commits) -> bool:
    """Return True if some transaction committed before one holding lower sequence numbers:
    the race a reader going by sequence alone would lose, so the test did exercise it."""
    in_commit_order = sorted(committed, key=lambda order_id: committed[order_id][1])
    async with factory() as uow:
        firsts = [min(e.sequence or 0 for e in await uow.orders.events(o)) for o in in_commit_order]
    return any(later < earlier for earlier, later in itertools.pairwise(firsts))
