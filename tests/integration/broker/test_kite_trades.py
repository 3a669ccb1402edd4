"""The trade book through the official SDK against the paper broker, into the fill ledger."""

from __future__ import annotations

from datetime import timedelta

import pytest

from order_service.adapters.broker.kite import KiteBroker
from order_service.domain.account import Strategy
from order_service.domain.ids import BrokerOrderId, new_order_id, tag_for
from order_service.domain.order import Order
from order_service.domain.values import TransactionType
from order_service.errors import BrokerAPIError
from order_service.services.ports import BrokerSession
from order_service.services.trades import TradeSyncService
from tests.factories import ACCOUNT, default_strategy_id, make_active_account, make_order
from tests.moments import PAPER_CLOCK_START
from tests.unit.fakes import FakeClock, FakeStore, FakeUnitOfWork

pytestmark = pytest.mark.asyncio


async def place_market(broker: KiteBroker, session: BrokerSession, clock: FakeClock) -> Order:
    """Place one share at market through the SDK; return our record of it."""
    order_id = new_order_id()
    order = make_order(
        order_id=order_id, quantity=1, created_at=clock.now(), updated_at=clock.now()
    )
    broker_order_id = await broker.place_order(session, order.request, tag_for(order_id))
    order.broker_order_id = broker_order_id
    return order


def seeded(session: BrokerSession, clock: FakeClock, *orders: Order) -> FakeStore:
    store = FakeStore()
    account = make_active_account(
        account_id=ACCOUNT,
        api_key="paper",
        access_token=session.access_token,
        created_at=clock.now(),
    )
    store.accounts[ACCOUNT] = account
    strategy_id = default_strategy_id(ACCOUNT)
    store.strategies[strategy_id] = Strategy(strategy_id, ACCOUNT, "default", True, clock.now())
    store.orders.update({order.order_id: order for order in orders})
    return store


async def test_a_filled_market_order_is_in_the_trade_book_exactly_as_its_history_says(
    kite: tuple[KiteBroker, BrokerSession],
) -> None:
    broker, session = kite
    order = await place_market(broker, session, FakeClock(PAPER_CLOCK_START))
    assert order.broker_order_id is not None

    trades = [t for t in await broker.trades(session) if t.broker_order_id == order.broker_order_id]
    history = await broker.order_history(session, order.broker_order_id)

    (fill,) = trades
    assert fill.quantity == 1
    assert fill.price == history[-1].average_price
    assert fill.transaction_type is TransactionType.BUY
    assert fill.exchange_timestamp is not None
    assert fill.exchange_timestamp.tzinfo is not None
    assert await broker.order_trades(session, order.broker_order_id) == trades


async def test_the_trades_of_an_order_the_broker_does_not_know_are_its_refusal(
    kite: tuple[KiteBroker, BrokerSession],
) -> None:
    broker, session = kite

    with pytest.raises(BrokerAPIError):
        await broker.order_trades(session, BrokerOrderId("000000000000000"))


async def test_place_fill_then_trade_sync_stores_the_fill_once(
    kite: tuple[KiteBroker, BrokerSession],
) -> None:
    broker, session = kite
    clock = FakeClock(PAPER_CLOCK_START)
    order = await place_market(broker, session, clock)
    store = seeded(session, clock, order)
    service = TradeSyncService(lambda: FakeUnitOfWork(store), broker, clock, timedelta(hours=1))

    first = await service.sync_account(ACCOUNT)
    second = await service.sync_account(ACCOUNT)

    assert (first.recorded, second.recorded, first.drifted) == (1, 0, 0)
    (stored,) = store.fills
    assert stored.order_id == order.order_id
    assert store.orders[order.order_id].filled_quantity == 1
    assert store.orders[order.order_id].average_price == stored.report.price
