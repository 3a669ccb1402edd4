"""The reconciliation passes on SQLite and PostgreSQL: set-based writes, races, external orders.

The services come from ``bootstrap`` over a migrated database, with the in-memory broker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal

import pytest
import pytest_asyncio

from order_service.adapters.broker.fake import FakeBroker
from order_service.bootstrap import Services, bootstrap
from order_service.config import Settings
from order_service.domain.account import EVERY_ACCOUNT, Principal
from order_service.domain.fill import FillTotals
from order_service.domain.ids import BrokerOrderId
from order_service.domain.order import Order, OrderSource
from order_service.domain.reports import FillReport, OrderStatusReport, TradeId
from order_service.domain.status import OrderStatus, OrderTrigger
from order_service.domain.values import TransactionType
from order_service.services.ports import BrokerSession, OrderQuery
from tests.external_reports import app_order_row
from tests.factories import ACCOUNT, make_limit_request, make_order
from tests.integration.db.conftest import UowFactory
from tests.unit.conftest import add_trader
from tests.unit.fakes import FakeClock

pytestmark = pytest.mark.asyncio

APP_ORDER = BrokerOrderId("251130000000777")


class RacingBroker(FakeBroker):
    """Runs each of ``meanwhile`` once, while the order book is being read (a postback, say)."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.meanwhile: list[Callable[[], Awaitable[None]]] = []

    async def orders(self, session: BrokerSession) -> list[OrderStatusReport]:
        book = await super().orders(session)
        while self.meanwhile:
            await self.meanwhile.pop()()
        return book


@pytest_asyncio.fixture
async def clock() -> FakeClock:
    return FakeClock()


@pytest_asyncio.fixture
async def broker(clock: FakeClock) -> RacingBroker:
    return RacingBroker(clock)


@pytest_asyncio.fixture
async def services(
    settings: Settings, uow_factory: UowFactory, broker: RacingBroker, clock: FakeClock
) -> Services:
    return bootstrap(settings, uow_factory=uow_factory, broker=broker, clock=clock)


@pytest_asyncio.fixture
async def trader(services: Services) -> Principal:
    principal, _ = await add_trader(services, "trader", ACCOUNT)
    return principal


async def all_orders(uow_factory: UowFactory) -> list[Order]:
    async with uow_factory() as uow:
        return await uow.orders.list(OrderQuery(EVERY_ACCOUNT, limit=1000))


async def resting(services: Services, trader: Principal, count: int) -> list[Order]:
    placed = [
        (await services.orders.place_order(trader, make_limit_request(), None)).order
        for _ in range(count)
    ]
    assert all(order.status is OrderStatus.PENDING for order in placed)
    return placed


def fill_all(broker: FakeBroker, orders: Sequence[Order]) -> None:
    for order in orders:
        assert order.broker_order_id is not None
        broker.fill(order.broker_order_id)


async def test_a_pass_settles_many_orders_and_their_fills_add_up(
    services: Services, trader: Principal, broker: RacingBroker, uow_factory: UowFactory
) -> None:
    placed = await resting(services, trader, 30)
    fill_all(broker, placed)

    synced = await services.reconcile.sync_account(ACCOUNT)
    traded = await services.trades.sync_account(ACCOUNT)
    again = await services.trades.sync_account(ACCOUNT)

    assert (synced.updated, traded.recorded, again.recorded) == (30, 30, 0)
    for order in await all_orders(uow_factory):
        assert order.status is OrderStatus.COMPLETE
        totals = FillTotals.of(await services.trades.fills_of(order.order_id))
        assert (order.filled_quantity, order.average_price) == (
            totals.quantity,
            totals.average_price,
        )
        events = await services.orders.order_events(trader, order.order_id)
        assert [e.name for e in events][-2:] == ["OrderFilled", "OrderFillRecorded"]
        assert events[-2].data["found_by"] == "order_book"


async def test_an_order_changed_during_the_pass_is_settled_on_its_own(
    services: Services, trader: Principal, broker: RacingBroker, uow_factory: UowFactory
) -> None:
    raced, other = await resting(services, trader, 2)
    fill_all(broker, [raced, other])

    async def opened_meanwhile() -> None:
        async with uow_factory() as uow:
            fresh = await uow.orders.get(raced.order_id)
            assert fresh is not None
            fresh.move(OrderTrigger.REPORT_OPEN, services.clock.now())
            await uow.orders.save(fresh)
            await uow.commit()

    broker.meanwhile = [opened_meanwhile]
    result = await services.reconcile.sync_account(ACCOUNT)

    assert result.updated == 2
    statuses = {o.order_id: o.status for o in await all_orders(uow_factory)}
    assert statuses == {raced.order_id: OrderStatus.COMPLETE, other.order_id: OrderStatus.COMPLETE}
    names = [e.name for e in await services.orders.order_events(trader, raced.order_id)]
    assert names[-2:] == ["OrderOpened", "OrderFilled"]  # the race's write, then ours


async def test_an_external_order_seen_twice_and_by_passes_at_once_is_stored_once(
    services: Services, trader: Principal, broker: RacingBroker, uow_factory: UowFactory
) -> None:
    broker.book[APP_ORDER] = app_order_row(
        APP_ORDER, "COMPLETE", filled_quantity=10, average_price=Decimal("1501.36")
    )
    broker.trade_book += [
        FillReport(
            TradeId("E1"),
            APP_ORDER,
            "NSE",
            "INFY",
            "CNC",
            TransactionType.BUY,
            4,
            Decimal("1501.00"),
        ),
        FillReport(
            TradeId("E2"),
            APP_ORDER,
            "NSE",
            "INFY",
            "CNC",
            TransactionType.BUY,
            6,
            Decimal("1501.60"),
        ),
    ]

    results = await asyncio.gather(
        services.reconcile.sync_account(ACCOUNT),
        services.reconcile.sync_account(ACCOUNT),
        services.trades.sync_account(ACCOUNT),
        services.trades.sync_account(ACCOUNT),
        return_exceptions=True,
    )
    await services.reconcile.sync_account(ACCOUNT)
    await services.trades.sync_account(ACCOUNT)

    (order,) = await all_orders(uow_factory)
    assert order.source is OrderSource.EXTERNAL
    assert (order.tag, order.user_id) == (None, None)
    fills = await services.trades.fills_of(order.order_id)
    assert sorted(f.trade_id for f in fills) == ["E1", "E2"]
    assert (order.filled_quantity, order.average_price) == (10, Decimal("1501.36"))
    assert [type(r).__name__ for r in results if isinstance(r, BaseException)] == []
    assert sum(r.external for r in results if not isinstance(r, BaseException)) == 1


async def test_an_order_left_in_flight_by_an_ended_process_is_settled_at_once(
    services: Services, trader: Principal, broker: RacingBroker, uow_factory: UowFactory
) -> None:
    async with uow_factory() as uow:
        strategy = await uow.strategies.get_default(ACCOUNT)
        assert strategy is not None
        ended = make_order(
            request=make_limit_request(),
            status=OrderStatus.SUBMITTING,
            strategy_id=strategy.strategy_id,
            user_id=trader.user_id,
            created_at=services.clock.now(),
            updated_at=services.clock.now(),
            placed_by="0d0d0d0d0d0d0d0d",
        )
        ours = make_order(
            request=make_limit_request(),
            status=OrderStatus.SUBMITTING,
            strategy_id=strategy.strategy_id,
            user_id=trader.user_id,
            created_at=services.clock.now(),
            updated_at=services.clock.now(),
            placed_by=services.liveness.instance_id,
        )
        await uow.orders.add(ended)
        await uow.orders.add(ours)
        await uow.commit()
    session = BrokerSession(ACCOUNT, "paper", broker.tokens[ACCOUNT])
    await broker.place_order(session, ended.request, ended.broker_tag)

    result = await services.reconcile.sync_account(ACCOUNT)

    statuses = {o.order_id: o.status for o in await all_orders(uow_factory)}
    assert result.resolved == 1
    assert statuses == {ended.order_id: OrderStatus.OPEN, ours.order_id: OrderStatus.SUBMITTING}
