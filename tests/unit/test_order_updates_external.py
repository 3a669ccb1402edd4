"""Ticker updates of orders placed in the Kite app: recorded as external at once, with fills."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from order_service.domain.fill import FillSource
from order_service.domain.ids import BrokerOrderId
from order_service.domain.order import Order, OrderSource
from order_service.domain.reports import FillReport, OrderStatusReport, TradeId
from order_service.domain.status import OrderStatus
from order_service.domain.values import TransactionType
from order_service.errors import BrokerUnavailable
from order_service.services.order_updates import UpdateOutcome
from order_service.services.ports import BrokerSession, OrderUpdate
from tests.external_reports import app_order_row
from tests.factories import ACCOUNT
from tests.unit.conftest import OTHER_ACCOUNT, World

pytestmark = pytest.mark.asyncio

APP_ORDER = BrokerOrderId("251130000000888")
FILLED = {"filled_quantity": 10, "average_price": Decimal("1501.36")}


def row(raw_status: str = "OPEN", **overrides: object) -> OrderStatusReport:
    return app_order_row(APP_ORDER, raw_status, **overrides)


def a_trade(trade_id: str, quantity: int, price: str) -> FillReport:
    return FillReport(
        TradeId(trade_id), APP_ORDER, "NSE", "INFY", "CNC", TransactionType.BUY,
        quantity, Decimal(price),
    )  # fmt: skip


def trade_the_order(world: World) -> OrderStatusReport:
    """The app order, complete at the broker: its book row and its two trades."""
    world.broker.trade_book += [a_trade("X1", 4, "1501.00"), a_trade("X2", 6, "1501.60")]
    world.broker.book[APP_ORDER] = row("COMPLETE", **FILLED)
    return world.broker.book[APP_ORDER]


def externals(world: World) -> list[Order]:
    return [o for o in world.store.orders.values() if o.source is OrderSource.EXTERNAL]


async def apply(world: World, report: OrderStatusReport, user_id: str = ACCOUNT) -> UpdateOutcome:
    sessions = await world.services.order_updates.live_sessions()
    session = next(s for s in sessions if s.account_id == ACCOUNT)
    pushed = OrderUpdate(report, user_id=user_id)
    return await world.services.order_updates.apply(ACCOUNT, pushed, session)


async def test_an_app_order_on_the_stream_is_recorded_at_once_without_a_book_read(
    world: World,
) -> None:
    world.broker.calls.clear()

    outcome = await apply(world, row("OPEN"))

    assert outcome is UpdateOutcome.EXTERNAL
    (order,) = externals(world)
    assert (order.broker_order_id, order.status, order.tag) == (APP_ORDER, OrderStatus.OPEN, None)
    assert order.client_order_id == f"external/{APP_ORDER}"
    default = world.store.strategies[order.strategy_id]
    assert (default.account_id, default.is_default) == (ACCOUNT, True)
    assert dict(world.broker.calls) == {}  # nothing filled: not even its trades were read


async def test_a_filled_app_order_is_recorded_with_its_fills_in_one_go(world: World) -> None:
    report = trade_the_order(world)
    world.broker.calls.clear()

    outcome = await apply(world, report)

    assert outcome is UpdateOutcome.EXTERNAL
    assert dict(world.broker.calls) == {"order_trades": 1}
    (order,) = externals(world)
    fills = await world.services.trades.fills_of(order.order_id)
    assert [(f.trade_id, f.report.quantity, f.strategy_id) for f in fills] == [
        ("X1", 4, order.strategy_id),
        ("X2", 6, order.strategy_id),
    ]
    # The ledger is the truth: 4 x 1501.00 + 6 x 1501.60 = 15013.60 for 10.
    assert (order.status, order.filled_quantity) == (OrderStatus.COMPLETE, 10)
    assert order.average_price == Decimal("1501.36")
    trade_pass = await world.services.trades.sync_account(ACCOUNT)
    book_pass = await world.services.reconcile.sync_account(ACCOUNT)
    assert (trade_pass.external, trade_pass.recorded, book_pass.external) == (0, 0, 0)


async def test_the_next_updates_of_an_app_order_follow_it_and_a_repeat_changes_nothing(
    world: World,
) -> None:
    assert await apply(world, row("OPEN")) is UpdateOutcome.EXTERNAL
    report = trade_the_order(world)

    outcomes = [await apply(world, report), await apply(world, report)]

    assert outcomes == [UpdateOutcome.APPLIED, UpdateOutcome.DUPLICATE]
    (order,) = externals(world)
    assert (order.status, order.filled_quantity) == (OrderStatus.COMPLETE, 10)
    fills = await world.services.trades.fills_of(order.order_id)
    assert [(f.trade_id, f.source) for f in fills] == [
        ("X1", FillSource.ORDER_TRADES),
        ("X2", FillSource.ORDER_TRADES),
    ]


async def test_fills_the_broker_will_not_list_now_are_left_to_the_trade_book(
    world: World,
) -> None:
    report = trade_the_order(world)
    world.broker.fail_next("order_trades", BrokerUnavailable())

    assert await apply(world, report) is UpdateOutcome.EXTERNAL

    (order,) = externals(world)
    assert (order.status, order.filled_quantity) == (OrderStatus.COMPLETE, 10)
    assert await world.services.trades.fills_of(order.order_id) == []
    assert (await world.services.trades.sync_account(ACCOUNT)).recorded == 2


async def test_an_app_order_the_book_recorded_meanwhile_is_followed_never_recorded_twice(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = trade_the_order(world)
    read = world.broker.order_trades

    async def book_pass_meanwhile(session: BrokerSession, broker_order_id: str) -> object:
        monkeypatch.setattr(world.broker, "order_trades", read)  # once
        world.broker.book[APP_ORDER] = row("OPEN")  # the book's pass saw it still open
        assert (await world.services.reconcile.sync_account(ACCOUNT)).external == 1
        world.broker.book[APP_ORDER] = report
        return await read(session, BrokerOrderId(broker_order_id))

    monkeypatch.setattr(world.broker, "order_trades", book_pass_meanwhile)

    outcome = await apply(world, report)

    assert outcome is UpdateOutcome.APPLIED
    (order,) = externals(world)
    assert (order.status, order.filled_quantity) == (OrderStatus.COMPLETE, 10)
    assert len(await world.services.trades.fills_of(order.order_id)) == 2


async def test_a_tag_of_our_shape_on_the_stream_is_left_to_the_book(world: World) -> None:
    assert await apply(world, row(tag="STRATEGY0001BANKNFTY")) is UpdateOutcome.UNKNOWN_ORDER
    assert externals(world) == []


async def test_a_row_that_makes_no_order_is_not_recorded(world: World) -> None:
    unreadable = replace(row(), exchange="LSE")

    assert await apply(world, unreadable) is UpdateOutcome.UNKNOWN_ORDER
    assert externals(world) == []


async def test_an_app_order_naming_another_broker_user_is_never_recorded(world: World) -> None:
    assert await apply(world, row(), user_id=OTHER_ACCOUNT) is UpdateOutcome.UNKNOWN_ACCOUNT
    assert externals(world) == []
