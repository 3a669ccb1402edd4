"""Trade sync: the trade book into the fill ledger, each fill once, only for our orders."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from prometheus_client import REGISTRY

from order_service.domain.fill import ORDER_FILL_DRIFT_FOUND, ORDER_FILL_RECORDED
from order_service.domain.ids import BrokerOrderId
from order_service.domain.order import Order
from order_service.domain.reports import FillReport, TradeId
from order_service.domain.status import OrderStatus
from order_service.domain.values import TransactionType
from order_service.entrypoints.workers.trade_sync import TradeSyncWorker
from order_service.errors import AuthenticationError, BrokerUnavailable, DataFormatError
from order_service.services.trades import RECENT_PAGE
from tests.factories import OTHER_ACCOUNT, make_limit_request, make_order, make_request
from tests.unit.conftest import World
from tests.unit.fake_ownership import Owns

pytestmark = pytest.mark.asyncio


def drift(kind: str) -> float:
    labels = {"kind": kind}
    return REGISTRY.get_sample_value("order_service_reconciliation_drift_total", labels) or 0.0


async def placed(world: World, *, market: bool = False) -> tuple[Order, BrokerOrderId]:
    request = make_request() if market else make_limit_request()
    order = (await world.services.orders.place_order(world.trader, request, None)).order
    assert order.broker_order_id is not None
    return order, order.broker_order_id


def a_fill(broker_order_id: BrokerOrderId, trade_id: str, quantity: int, price: str) -> FillReport:
    return FillReport(
        trade_id=TradeId(trade_id),
        broker_order_id=broker_order_id,
        exchange="NSE",
        tradingsymbol="INFY",
        product="CNC",
        transaction_type=TransactionType.BUY,
        quantity=quantity,
        price=Decimal(price),
    )


async def settled_before_its_fills(
    world: World,
) -> tuple[Order, TradeSyncWorker, list[FillReport]]:
    """A LIMIT order with the stream up, past the worker's first pass, then filled and settled
    by a book read while the trade book does not list its trade (returned, taken out)."""
    order, broker_order_id = await placed(world)
    world.services.streams.mark_up(order.account_id)
    worker = TradeSyncWorker(world.services)
    await worker.run_once()
    world.broker.fill(broker_order_id)
    unlisted = list(world.broker.trade_book)
    world.broker.trade_book.clear()  # the trade book lags: the order book settles it first
    await world.services.reconcile.sync_account(order.account_id)
    return order, worker, unlisted


def fill_events(world: World, order: Order, name: str = ORDER_FILL_RECORDED) -> list[str]:
    return [e.name for e in world.store.events if e.order_id == order.order_id and e.name == name]


async def test_new_fills_are_stored_once_even_when_the_trade_book_is_read_twice(
    world: World,
) -> None:
    order, _ = await placed(world, market=True)
    reads_before = world.broker.calls["trades"]

    first = await world.services.trades.sync_account(order.account_id)
    second = await world.services.trades.sync_account(order.account_id)

    assert (first.recorded, second.recorded) == (1, 0)
    assert [f.order_id for f in world.store.fills] == [order.order_id]
    assert fill_events(world, order) == [ORDER_FILL_RECORDED]
    assert world.broker.calls["trades"] - reads_before == 2


async def test_a_fill_for_an_unknown_order_is_skipped_and_counted(world: World) -> None:
    order, _ = await placed(world)  # an account with a working order, so it is synced
    world.broker.trade_book.append(a_fill(BrokerOrderId("9999999999999"), "X1", 5, "101.5"))

    result = await world.services.trades.sync_account(order.account_id)

    assert (result.unknown, result.recorded) == (1, 0)
    assert world.store.fills == []


async def test_a_fill_whose_broker_id_is_ours_but_whose_tag_is_not_is_never_attributed(
    world: World,
) -> None:
    order, broker_order_id = await placed(world)
    world.broker.fill(broker_order_id)
    world.broker.book[broker_order_id] = replace(
        world.broker.book[broker_order_id], tag="SOMEONEELSESORDER001"
    )

    result = await world.services.trades.sync_account(order.account_id)

    assert (result.mismatched, result.recorded) == (1, 0)
    assert world.store.fills == []
    assert fill_events(world, order) == []


async def test_the_orders_filled_quantity_and_average_price_are_the_sum_of_its_fills(
    world: World,
) -> None:
    order, broker_order_id = await placed(world)  # 10 at the limit price
    world.broker.trade_book += [
        a_fill(broker_order_id, "T1", 3, "100.10"),
        a_fill(broker_order_id, "T2", 7, "100.25"),
    ]
    world.broker.book[broker_order_id] = replace(
        world.broker.book[broker_order_id], raw_status="COMPLETE", filled_quantity=10
    )

    result = await world.services.trades.sync_account(order.account_id)

    stored = world.store.orders[order.order_id]
    assert (result.recorded, result.drifted) == (2, 0)
    assert stored.filled_quantity == 10
    assert stored.average_price == Decimal("100.205")  # (3 x 100.10 + 7 x 100.25) / 10, exact
    assert [f.report.price for f in world.store.fills] == [Decimal("100.10"), Decimal("100.25")]


async def test_fills_never_lower_what_the_order_book_reported_filled(world: World) -> None:
    order, broker_order_id = await placed(world)
    world.broker.fill(broker_order_id)  # the order book says 10 filled
    before = drift("fill")
    world.broker.trade_book[:] = [a_fill(broker_order_id, "T1", 4, "100.00")]  # the trades lag
    await world.services.reconcile.sync_account(order.account_id)

    await TradeSyncWorker(world.services).run_once()
    books_read = world.broker.calls["orders"]
    await TradeSyncWorker(world.services).run_once()

    assert world.store.orders[order.order_id].filled_quantity == 10
    assert len(world.store.fills) == 1
    assert drift("fill") == before + 1  # counted by the pass that stored the fills
    # The second pass found no trade the ledger lacks: it ended without an order-book read.
    assert world.broker.calls["orders"] == books_read
    assert fill_events(world, order, ORDER_FILL_DRIFT_FOUND) == [ORDER_FILL_DRIFT_FOUND]
    (event,) = [e for e in world.store.events if e.name == ORDER_FILL_DRIFT_FOUND]
    assert event.data == {"book_filled_quantity": 10, "ledger_filled_quantity": 4}


async def test_a_malformed_trade_book_stores_nothing(world: World) -> None:
    order, _ = await placed(world, market=True)
    world.broker.fail_next("trades", DataFormatError("the broker sent a trade we cannot parse"))

    with pytest.raises(DataFormatError):
        await world.services.trades.sync_account(order.account_id)

    assert world.store.fills == []


async def test_an_account_that_must_log_in_again_is_skipped(world: World) -> None:
    await placed(world, market=True)
    world.broker.fail_next("trades", AuthenticationError())

    await TradeSyncWorker(world.services).run_once()  # logged and counted, not raised

    assert world.store.fills == []


async def test_an_unreachable_broker_makes_the_supervisor_back_off(world: World) -> None:
    await placed(world)
    world.broker.fail_next("trades", BrokerUnavailable())

    with pytest.raises(BrokerUnavailable):
        await TradeSyncWorker(world.services).run_once()


async def test_a_settled_order_changed_recently_is_still_synced(world: World) -> None:
    order, _ = await placed(world, market=True)
    await world.services.reconcile.sync_account(order.account_id)
    assert world.store.orders[order.order_id].is_terminal

    assert await world.services.trades.accounts_to_sync() == [order.account_id]
    world.clock.advance(world.services.settings.trade_sync_recent_seconds + 1)
    assert await world.services.trades.accounts_to_sync() == []


async def test_the_interval_comes_from_the_settings(world: World) -> None:
    worker = TradeSyncWorker(world.services)

    assert worker.interval == world.services.settings.trade_sync_interval_seconds
    assert worker.name == "trade_sync"


async def test_fills_another_writer_stored_during_the_pass_are_kept_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    raced, raced_id = await placed(world)
    other, other_id = await placed(world)
    for broker_order_id in (raced_id, other_id):
        world.broker.fill(broker_order_id)
    # The order book's totals are the orders' already: the fills change only the ledger.
    await world.services.reconcile.sync_account(raced.account_id)
    service = world.services.trades
    plan = service._plan

    async def plan_then_race(*args: object) -> object:
        planned = await plan(*args)  # type: ignore[arg-type]
        # The order stream's update stores the raced order's fills meanwhile, with their trades.
        (session,) = await world.services.order_updates.live_sessions()
        trades = await service.order_trades(session, raced_id)
        fresh = world.store.orders[raced.order_id]
        assert (await service.store_change(fresh, lambda _: False, trades))[1] == 1
        return planned

    monkeypatch.setattr(service, "_plan", plan_then_race)
    result = await service.sync_account(raced.account_id)

    assert result.recorded == 1  # the other order's fill; the raced one was stored already
    assert sorted(f.order_id for f in world.store.fills) == sorted([raced.order_id, other.order_id])
    assert fill_events(world, raced) == [ORDER_FILL_RECORDED]
    assert fill_events(world, other) == [ORDER_FILL_RECORDED]
    for order in (raced, other):
        stored = world.store.orders[order.order_id]
        (fill,) = [f for f in world.store.fills if f.order_id == order.order_id]
        assert (stored.filled_quantity, stored.average_price) == (
            fill.report.quantity,
            fill.report.price,
        )


async def test_with_the_stream_up_the_trade_book_is_read_only_at_the_slow_cadence(
    world: World,
) -> None:
    order, _ = await placed(world, market=True)
    world.services.streams.mark_up(order.account_id)
    worker = TradeSyncWorker(world.services)
    interval = world.services.settings.sync_book_interval_seconds
    reads = world.broker.calls["trades"]

    await worker.run_once()  # the first pass that sees the account reads its book
    world.clock.advance(interval - 1)
    await worker.run_once()
    await worker.run_once()
    assert world.broker.calls["trades"] == reads + 1
    assert len(world.store.fills) == 1  # the first read stored the fill

    world.clock.advance(1)
    await worker.run_once()
    assert world.broker.calls["trades"] == reads + 2


async def test_with_the_stream_down_the_trade_book_is_read_every_pass(world: World) -> None:
    order, _ = await placed(world, market=True)
    world.services.streams.mark_up(order.account_id)
    worker = TradeSyncWorker(world.services)
    await worker.run_once()
    reads = world.broker.calls["trades"]

    world.services.streams.mark_down(order.account_id)
    await worker.run_once()
    await worker.run_once()

    assert world.broker.calls["trades"] == reads + 2


async def test_a_failed_trade_book_read_is_tried_again_on_the_next_pass(world: World) -> None:
    order, _ = await placed(world, market=True)
    world.services.streams.mark_up(order.account_id)
    worker = TradeSyncWorker(world.services)
    world.broker.fail_next("trades", BrokerUnavailable())
    with pytest.raises(BrokerUnavailable):
        await worker.run_once()

    await worker.run_once()  # not waiting out the slow cadence: the last read never happened

    assert len(world.store.fills) == 1


async def test_an_account_owned_again_has_its_trade_book_read_at_once(world: World) -> None:
    order, _ = await placed(world, market=True)
    world.services.streams.mark_up(order.account_id)
    worker = TradeSyncWorker(world.services)
    await worker.run_once()
    reads = world.broker.calls["trades"]
    ownership = Owns()
    world.services.ownership = ownership

    await worker.run_once()  # another process's now: not read, and forgotten
    ownership.accounts = {order.account_id}
    await worker.run_once()  # back in our hands: read at once, not at the slow cadence

    assert world.broker.calls["trades"] == reads + 1


async def test_with_the_stream_up_an_order_settled_without_its_fills_is_read_for_at_once(
    world: World,
) -> None:
    """The book (or a poll) settled the order before the stream was up to bring its trades:
    exits of its position wait on those fills, so the trade book is not left for the slow
    cadence."""
    order, broker_order_id = await placed(world)
    world.services.streams.mark_up(order.account_id)
    worker = TradeSyncWorker(world.services)
    await worker.run_once()  # the first pass reads the book: nothing filled yet
    reads = world.broker.calls["trades"]
    world.broker.fill(broker_order_id)
    await world.services.reconcile.sync_account(order.account_id)
    assert world.store.orders[order.order_id].filled_quantity == 10
    assert world.store.fills == []

    world.clock.advance(1)
    await worker.run_once()

    assert world.broker.calls["trades"] == reads + 1
    assert [f.order_id for f in world.store.fills] == [order.order_id]
    world.clock.advance(1)
    await worker.run_once()  # the ledger is whole again: back to the slow cadence
    assert world.broker.calls["trades"] == reads + 1


async def test_fills_that_never_come_are_read_for_less_and_less_often(world: World) -> None:
    _, worker, _ = await settled_before_its_fills(world)  # never listed (another day's, ...)
    reads = world.broker.calls["trades"]
    interval = world.services.settings.trade_sync_interval_seconds
    passes = int(3600 // interval)

    for _ in range(passes):
        world.clock.advance(interval)
        await worker.run_once()

    cadence = world.services.settings.sync_book_interval_seconds
    # After 2, 6, 14 and 30 s, then at the slow cadence: about what a whole ledger costs.
    assert world.broker.calls["trades"] - reads <= 3600 / cadence + 5


async def test_an_order_short_of_fills_long_ago_does_not_keep_the_trade_book_read(
    world: World,
) -> None:
    order, worker, _ = await settled_before_its_fills(world)  # its fills are never listed
    world.clock.advance(world.services.settings.trade_sync_recent_seconds + 1)
    assert await world.services.trades.accounts_short([order.account_id]) == frozenset()
    reads = world.broker.calls["trades"]
    for _ in range(10):
        world.clock.advance(1)
        await worker.run_once()
    assert world.broker.calls["trades"] - reads <= 1  # the slow cadence alone


async def test_a_short_account_is_read_however_many_newer_orders_other_accounts_have(
    world: World,
) -> None:
    order, worker, listed = await settled_before_its_fills(world)
    now = world.clock.now()
    for n in range(RECENT_PAGE):  # a busy platform: other accounts fill the newest page
        other = make_order(
            account_id=OTHER_ACCOUNT, status=OrderStatus.COMPLETE, created_at=now,
            updated_at=now, broker_order_id=BrokerOrderId(f"9{n:012d}"),
        )  # fmt: skip
        world.store.orders[other.order_id] = other
    assert order.account_id not in await world.services.trades.accounts_to_sync()
    world.broker.trade_book.extend(listed)  # its fills are listed now

    world.clock.advance(1)
    await worker.run_once()

    assert [f.order_id for f in world.store.fills] == [order.order_id]
