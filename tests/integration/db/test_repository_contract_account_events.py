"""The repository contract of the account event log: appended in order, read newest first.

Each test runs on the fake, SQLite and PostgreSQL (``contract.py`` says why and how).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from order_service.domain.account_events import POSITION_DRIFT_FOUND, AccountEvent
from order_service.domain.ids import AccountId
from order_service.errors import Conflict
from tests.integration.db.conftest import Seed
from tests.integration.db.contract import AT, UowFactory, read, write

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("seed")]
OTHER_NAME = "SomethingElseFound"


@pytest.fixture
def uow_factory(any_uow_factory: UowFactory) -> UowFactory:
    return any_uow_factory


def drift(account_id: AccountId, ours: int, minutes: int = 0, **data: Any) -> AccountEvent:
    values = {"exchange": "NSE", "tradingsymbol": "INFY", "product": "MIS", "ours": ours}
    at = AT + timedelta(minutes=minutes, microseconds=123456)
    return AccountEvent(account_id, POSITION_DRIFT_FOUND, {**values, "broker": 0, **data}, at)


async def add(uow_factory: UowFactory, *events: AccountEvent) -> None:
    await write(uow_factory, *(lambda uow, e=e: uow.account_events.add(e) for e in events))


async def recent(
    uow_factory: UowFactory,
    account_id: AccountId,
    limit: int = 10,
    name: str = POSITION_DRIFT_FOUND,
) -> list[AccountEvent]:
    found: list[AccountEvent] = await read(
        uow_factory, lambda uow: uow.account_events.recent(account_id, name, limit)
    )
    return found


async def test_events_come_back_exactly_newest_first_with_growing_sequences(
    uow_factory: UowFactory, seed: Seed
) -> None:
    first, second = drift(seed.account_a, 5), drift(seed.account_a, -3, minutes=1)
    await add(uow_factory, first)
    await add(uow_factory, second)

    found = await recent(uow_factory, seed.account_a)

    assert [replace(e, sequence=None) for e in found] == [second, first]
    newer, older = (e.sequence or 0 for e in found)
    assert newer > older > 0
    assert found[0].occurred_at == second.occurred_at  # aware, to the microsecond


async def test_recent_keeps_to_the_account_the_name_and_the_limit(
    uow_factory: UowFactory, seed: Seed
) -> None:
    mine = [drift(seed.account_a, n) for n in range(1, 4)]
    await add(uow_factory, *mine)
    await add(uow_factory, drift(seed.account_b, 9), replace(mine[0], name=OTHER_NAME))

    newest_two = await recent(uow_factory, seed.account_a, limit=2)
    others = await recent(uow_factory, seed.account_a, name=OTHER_NAME)
    theirs = await recent(uow_factory, seed.account_b)

    assert [e.data["ours"] for e in newest_two] == [3, 2]
    assert [e.name for e in others] == [OTHER_NAME]
    assert [e.data["ours"] for e in theirs] == [9]


async def test_an_event_of_an_account_never_stored_is_refused(uow_factory: UowFactory) -> None:
    with pytest.raises(Conflict):
        await add(uow_factory, drift(AccountId("NOSUCH"), 1))

    assert await recent(uow_factory, AccountId("NOSUCH")) == []


async def test_an_event_not_committed_is_not_stored(uow_factory: UowFactory, seed: Seed) -> None:
    async with uow_factory() as uow:
        await uow.account_events.add(drift(seed.account_a, 1))
        assert len(await uow.account_events.recent(seed.account_a, POSITION_DRIFT_FOUND, 5)) == 1

    assert await recent(uow_factory, seed.account_a) == []
