"""Position sync: our net positions from the ledger against the broker's, drift recorded once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from prometheus_client import REGISTRY

from order_service.domain.account import Principal
from order_service.domain.account_events import POSITION_DRIFT_FOUND, AccountEvent
from order_service.domain.ids import AccountId
from order_service.domain.reports import PositionReport
from order_service.entrypoints.workers.position_sync import PositionSyncWorker
from order_service.errors import BrokerUnavailable, DataFormatError
from order_service.services.position_sync import PositionSyncResult
from tests.factories import make_request
from tests.unit.conftest import ACCOUNT, OTHER_ACCOUNT, World, log_in
from tests.unit.fakes import FakeUnitOfWork

pytestmark = pytest.mark.asyncio


def drift() -> float:
    labels = {"kind": "position"}
    return REGISTRY.get_sample_value("order_service_reconciliation_drift_total", labels) or 0.0


def broker_holds(tradingsymbol: str, quantity: int, product: str = "CNC") -> PositionReport:
    """A row of the broker's net position book (only its quantity is compared)."""
    price = Decimal("100.00")
    zero = Decimal(0)
    return PositionReport(
        "NSE", tradingsymbol, product, quantity, 0, price, price, price, *[zero] * 3
    )


async def bought(world: World, quantity: int = 10, tradingsymbol: str = "INFY") -> None:
    """Buy at market (the fake broker fills it at once) and read the fill into the ledger."""
    request = make_request(quantity=quantity, tradingsymbol=tradingsymbol)
    await world.services.orders.place_order(world.trader, request, None)
    await world.services.trades.sync_account(ACCOUNT)


async def twice(world: World) -> PositionSyncResult:
    """Two passes: a difference is recorded once the second pass finds it again."""
    await world.services.position_sync.sync_account(ACCOUNT)
    return await world.services.position_sync.sync_account(ACCOUNT)


def drift_events(world: World) -> list[AccountEvent]:
    return [e for e in world.store.account_events if e.name == POSITION_DRIFT_FOUND]


def difference(ours: int, broker: int, tradingsymbol: str = "INFY") -> dict[str, object]:
    return {
        "exchange": "NSE",
        "tradingsymbol": tradingsymbol,
        "product": "CNC",
        "ours": ours,
        "broker": broker,
    }


async def logged_out(world: World, account_id: AccountId) -> None:
    async with FakeUnitOfWork(world.store) as uow:
        account = await uow.accounts.get(account_id)
        assert account is not None
        assert account.access_token is not None
        await uow.accounts.require_login(account_id, account.access_token)
        await uow.commit()


async def test_positions_that_agree_record_nothing(world: World) -> None:
    await bought(world, 10)
    world.broker.position_book[:] = [broker_holds("INFY", 10), broker_holds("TCS", 0)]
    before = drift()

    result = await world.services.position_sync.sync_account(ACCOUNT)
    await PositionSyncWorker(world.services).run_once()

    assert (result.compared, result.differing, result.recorded) == (2, 0, 0)
    assert result.drift() == {"position": 0}
    assert world.store.account_events == []
    assert drift() == before


async def test_a_quantity_that_differs_records_one_event_and_counts_one_drift(
    world: World,
) -> None:
    await bought(world, 10)
    world.broker.position_book[:] = [broker_holds("INFY", 7)]
    before = drift()

    await PositionSyncWorker(world.services).run_once()
    assert drift_events(world) == []  # once is not yet drift: the ledger may be catching up
    await PositionSyncWorker(world.services).run_once()

    (event,) = drift_events(world)
    assert event.account_id == ACCOUNT
    assert event.data == difference(10, 7)
    assert event.occurred_at == world.clock.now()
    assert drift() == before + 1


async def test_the_same_difference_again_records_no_second_event(world: World) -> None:
    await bought(world, 10)
    world.broker.position_book[:] = [broker_holds("INFY", 7)]
    first = await twice(world)
    world.clock.advance(60)
    before = drift()

    again = await world.services.position_sync.sync_account(ACCOUNT)
    await PositionSyncWorker(world.services).run_once()

    assert (first.differing, first.recorded) == (1, 1)
    assert (again.differing, again.recorded) == (1, 0)
    assert len(drift_events(world)) == 1
    assert drift() == before


async def test_a_difference_that_changes_is_recorded_anew(world: World) -> None:
    await bought(world, 10)
    world.broker.position_book[:] = [broker_holds("INFY", 7)]
    await twice(world)
    world.broker.position_book[:] = [broker_holds("INFY", 5)]
    await bought(world, 2)  # ours moves to 12 as well

    result = await twice(world)

    assert result.recorded == 1
    assert [e.data for e in drift_events(world)] == [difference(10, 7), difference(12, 5)]


async def test_a_difference_the_next_pass_no_longer_finds_is_never_recorded(
    world: World,
) -> None:
    await bought(world, 10)
    world.broker.position_book[:] = [broker_holds("INFY", 12)]  # a fill the ledger lacks yet
    await world.services.position_sync.sync_account(ACCOUNT)
    await bought(world, 2)  # the trade sync catches up

    result = await world.services.position_sync.sync_account(ACCOUNT)

    assert (result.differing, result.recorded) == (0, 0)
    assert drift_events(world) == []


async def test_a_position_only_the_broker_holds_is_drift_against_nothing(world: World) -> None:
    world.broker.position_book[:] = [broker_holds("TCS", -3)]

    result = await twice(world)

    assert result.drift() == {"position": 1}
    assert [e.data for e in drift_events(world)] == [difference(0, -3, "TCS")]


async def test_the_same_difference_on_a_new_day_is_recorded_again(world: World) -> None:
    world.broker.position_book[:] = [broker_holds("TCS", 4)]
    await twice(world)
    world.clock.advance(24 * 3600)  # the next day; the session has expired overnight
    await log_in(world.services, world.trader, ACCOUNT)

    result = await world.services.position_sync.sync_account(ACCOUNT)

    assert result.recorded == 1
    assert [e.data for e in drift_events(world)] == [difference(0, 4, "TCS")] * 2


async def test_an_account_without_a_session_is_skipped(world: World) -> None:
    await bought(world, 10)
    world.broker.position_book[:] = [broker_holds("INFY", 7)]
    await logged_out(world, ACCOUNT)
    reads = world.broker.calls["positions"]

    result = await world.services.position_sync.sync_account(ACCOUNT)
    await PositionSyncWorker(world.services).run_once()

    assert result.drift() == {"position": 0}
    assert world.broker.calls["positions"] == reads
    assert world.store.account_events == []


async def test_accounts_with_a_session_or_fills_today_are_synced(
    world: World, outsider: Principal
) -> None:
    assert await world.services.position_sync.accounts_to_sync() == [ACCOUNT, OTHER_ACCOUNT]
    await bought(world, 10)
    await logged_out(world, ACCOUNT)
    await logged_out(world, OTHER_ACCOUNT)

    assert await world.services.position_sync.accounts_to_sync() == [ACCOUNT]  # it traded today
    world.clock.advance(24 * 3600)
    assert await world.services.position_sync.accounts_to_sync() == []


async def test_a_malformed_position_book_records_nothing_and_the_worker_goes_on(
    world: World,
) -> None:
    await bought(world, 10)
    bad = DataFormatError("the broker sent a position we cannot parse")
    world.broker.fail_next("positions", bad)
    with pytest.raises(DataFormatError):
        await world.services.position_sync.sync_account(ACCOUNT)

    world.broker.fail_next("positions", bad)
    reads = world.broker.calls["positions"]
    await PositionSyncWorker(world.services).run_once()  # logged, not raised

    assert world.broker.calls["positions"] == reads + 1  # the pass ran into the bad reply
    assert world.store.account_events == []
    await PositionSyncWorker(world.services).run_once()  # and the next pass works
    assert world.broker.calls["positions"] == reads + 2


async def test_an_unreachable_broker_makes_the_supervisor_back_off(world: World) -> None:
    world.broker.fail_next("positions", BrokerUnavailable())

    with pytest.raises(BrokerUnavailable):
        await PositionSyncWorker(world.services).run_once()


async def test_the_interval_comes_from_the_settings(world: World) -> None:
    worker = PositionSyncWorker(world.services)

    assert worker.interval == world.services.settings.position_sync_interval_seconds
    assert worker.name == "position_sync"
