"""The repository contract of the set-based writes and lookups the reconciliation passes use.

Each test runs on the fake, SQLite and PostgreSQL (``contract.py`` says why and how).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from order_service.domain.external import external_order
from order_service.domain.fill import Fill, FillSource
from order_service.domain.ids import AccountId, BrokerOrderId, OrderId, new_order_id
from order_service.domain.order import Order, OrderSource
from order_service.domain.reports import FillReport, TradeId
from order_service.domain.status import OrderStatus, OrderTrigger
from order_service.domain.values import TransactionType
from order_service.services.ports import UnitOfWork
from tests.external_reports import app_order_row
from tests.integration.db.conftest import Seed, build_order
from tests.integration.db.contract import AT, UowFactory, add_orders, event_log, get_order, read

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("seed")]


@pytest.fixture
def uow_factory(any_uow_factory: UowFactory) -> UowFactory:
    return any_uow_factory


def working(broker_order_id: str, **overrides: object) -> Order:
    return build_order(
        status=OrderStatus.OPEN, broker_order_id=BrokerOrderId(broker_order_id), **overrides
    )


async def save_all(uow_factory: UowFactory, *orders: Order) -> list[Order]:
    async with uow_factory() as uow:
        lost = await uow.orders.save_all(list(orders))
        await uow.commit()
    return lost


async def add_absent(uow_factory: UowFactory, *orders: Order) -> list[Order]:
    async with uow_factory() as uow:
        added = await uow.orders.add_absent(list(orders))
        await uow.commit()
    return added


def app_order(seed: Seed, broker_order_id: str, account_id: AccountId | None = None) -> Order:
    account = account_id or seed.account_a
    default = seed.default_a if account == seed.account_a else seed.default_b
    order = external_order(new_order_id(), account, app_order_row(broker_order_id), default, AT)
    assert order is not None
    return order


async def test_save_all_writes_every_order_with_its_events_in_order(
    uow_factory: UowFactory,
) -> None:
    first, second = working("250105000000001"), working("250105000000002")
    await add_orders(uow_factory, first, second)
    first.move(OrderTrigger.REPORT_COMPLETE, AT, broker_status="COMPLETE")
    first.filled_quantity, first.average_price = 10, Decimal("1520.3525")
    second.move(OrderTrigger.REPORT_CANCELLED, AT + timedelta(microseconds=7))

    assert await save_all(uow_factory, first, second) == []

    assert (first.version, second.version, first.pending_events) == (1, 1, [])
    stored = await get_order(uow_factory, first.order_id)
    assert stored == first
    assert stored.average_price == Decimal("1520.3525")
    assert (await get_order(uow_factory, second.order_id)).updated_at == AT + timedelta(
        microseconds=7
    )
    events = await event_log(uow_factory, first.order_id) + await event_log(
        uow_factory, second.order_id
    )
    assert [e.name for e in events] == ["OrderFilled", "OrderCancelled"]
    assert events[0].sequence is not None
    assert events[1].sequence is not None
    assert events[0].sequence < events[1].sequence


async def test_save_all_returns_an_order_changed_since_it_was_read_unwritten(
    uow_factory: UowFactory,
) -> None:
    raced, clear = working("250105000000001"), working("250105000000002")
    await add_orders(uow_factory, raced, clear)
    winner = await get_order(uow_factory, raced.order_id)
    winner.move(OrderTrigger.REPORT_CANCELLED, AT)
    async with uow_factory() as uow:
        await uow.orders.save(winner)
        await uow.commit()
    raced.move(OrderTrigger.REPORT_COMPLETE, AT)
    clear.move(OrderTrigger.REPORT_COMPLETE, AT)

    lost = await save_all(uow_factory, raced, clear)

    assert [o.order_id for o in lost] == [raced.order_id]
    assert raced.version == 0
    assert [e.name for e in raced.pending_events] == ["OrderFilled"]
    assert (await get_order(uow_factory, raced.order_id)).status is OrderStatus.CANCELLED
    assert [e.name for e in await event_log(uow_factory, raced.order_id)] == ["OrderCancelled"]
    assert (await get_order(uow_factory, clear.order_id)).status is OrderStatus.COMPLETE


async def test_an_external_order_comes_back_as_recorded_with_its_event(
    uow_factory: UowFactory, seed: Seed
) -> None:
    order = app_order(seed, "250105000000009")

    assert await add_absent(uow_factory, order) == [order]

    stored = await get_order(uow_factory, order.order_id)
    assert stored == order
    assert (stored.source, stored.tag, stored.user_id) == (OrderSource.EXTERNAL, None, None)
    assert stored.strategy_id == seed.default_a
    assert [e.name for e in await event_log(uow_factory, order.order_id)] == [
        "ExternalOrderRecorded"
    ]


async def test_a_broker_order_is_stored_once_per_account_whoever_adds_it(
    uow_factory: UowFactory, seed: Seed
) -> None:
    first = app_order(seed, "250105000000009")
    await add_absent(uow_factory, first)
    again, other_account = (
        app_order(seed, "250105000000009"),
        app_order(seed, "250105000000009", seed.account_b),
    )
    ours = working("250105000000003")  # one of ours, with a broker id of its own

    added = await add_absent(uow_factory, again, other_account, ours)

    assert [o.order_id for o in added] == [other_account.order_id, ours.order_id]
    assert await event_log(uow_factory, again.order_id) == []
    async with uow_factory() as uow:
        assert await uow.orders.get(again.order_id) is None


async def test_many_externals_without_tags_are_stored_side_by_side(
    uow_factory: UowFactory, seed: Seed
) -> None:
    orders = [app_order(seed, f"25010500000010{n}") for n in range(3)]

    assert len(await add_absent(uow_factory, *orders)) == 3


async def test_placed_by_comes_back(uow_factory: UowFactory) -> None:
    order = build_order(placed_by="a1b2c3d4e5f60708")
    await add_orders(uow_factory, order)

    assert (await get_order(uow_factory, order.order_id)).placed_by == "a1b2c3d4e5f60708"


async def test_lookups_by_broker_id_and_tag_stay_in_their_account(
    uow_factory: UowFactory, seed: Seed
) -> None:
    mine = working("250105000000001")
    theirs = working("250105000000002", account_id=seed.account_b)
    await add_orders(uow_factory, mine, theirs)
    ids = [BrokerOrderId("250105000000001"), BrokerOrderId("250105000000002"), BrokerOrderId("9")]
    assert mine.tag is not None
    assert theirs.tag is not None

    async with uow_factory() as uow:
        found = await uow.orders.by_broker_ids(seed.account_a, ids)
        known = await uow.orders.known_broker_ids(seed.account_a, ids)
        tags = await uow.orders.known_tags(seed.account_a, [mine.tag, theirs.tag, "NOPE"])

    assert [o.order_id for o in found] == [mine.order_id]
    assert found[0] == mine
    assert known == {BrokerOrderId("250105000000001")}
    assert tags == {mine.tag}


async def test_lookups_of_more_keys_than_one_statement_holds(
    uow_factory: UowFactory, seed: Seed
) -> None:
    orders = [working(f"2501050{n:08d}") for n in range(3)]
    await add_orders(uow_factory, *orders)
    wanted = [BrokerOrderId(f"2501050{n:08d}") for n in range(2500)]

    async with uow_factory() as uow:
        assert len(await uow.orders.known_broker_ids(seed.account_a, wanted)) == 3


async def test_with_event_names_the_orders_whose_log_holds_it(uow_factory: UowFactory) -> None:
    marked, plain = working("250105000000001"), working("250105000000002")
    marked.record("OrderReportMismatched", AT, broker_order_id="250105000000001")
    await add_orders(uow_factory, marked, plain)

    found = await read(
        uow_factory,
        lambda uow: uow.orders.with_event(
            [marked.order_id, plain.order_id, OrderId("X")], "OrderReportMismatched"
        ),
    )

    assert found == {marked.order_id}


async def test_fills_of_several_orders_come_in_the_order_stored(uow_factory: UowFactory) -> None:
    first, second = working("250105000000001"), working("250105000000002")
    await add_orders(uow_factory, first, second)
    fills = [fill_of(second, "T1"), fill_of(first, "T2"), fill_of(second, "T3")]

    async def adding(uow: UnitOfWork) -> None:
        await uow.fills.add_new(fills)

    async with uow_factory() as uow:
        await adding(uow)
        await uow.commit()
    found = await read(
        uow_factory, lambda uow: uow.fills.for_orders([first.order_id, second.order_id])
    )

    assert [f.trade_id for f in found] == ["T1", "T2", "T3"]


def fill_of(order: Order, trade_id: str) -> Fill:
    assert order.broker_order_id is not None
    report = FillReport(
        TradeId(trade_id),
        order.broker_order_id,
        "NSE",
        "INFY",
        "CNC",
        TransactionType.BUY,
        5,
        Decimal("1520.35"),
    )
    return Fill.of(order, report, FillSource.TRADES, AT)


async def test_appended_events_leave_the_order_as_stored(uow_factory: UowFactory) -> None:
    order = working("250105000000001")
    await add_orders(uow_factory, order)
    order.record("OrderFillRecorded", AT, trade_id="T1", price=Decimal("1520.3500"))
    order.filled_quantity = 99  # not written: appending events writes nothing of the order

    async with uow_factory() as uow:
        await uow.orders.append_events([order])
        await uow.commit()

    stored = await get_order(uow_factory, order.order_id)
    assert (stored.version, stored.filled_quantity, order.pending_events) == (0, 0, [])
    (event,) = await event_log(uow_factory, order.order_id)
    assert (event.name, event.data) == (
        "OrderFillRecorded",
        {"trade_id": "T1", "price": "1520.3500"},
    )


async def test_one_transaction_writes_several_sets_of_rows_each_to_its_own_rows(
    uow_factory: UowFactory, seed: Seed
) -> None:
    # On SQLite each set passes through a temporary table that the next set of the same shape
    # empties and fills again: every statement must have read its own rows.
    changed, unmoved = working("250105000000001"), working("250105000000002")
    await add_orders(uow_factory, changed, unmoved)
    external = app_order(seed, "250105000000009")
    changed.move(OrderTrigger.REPORT_COMPLETE, AT, broker_status="COMPLETE")
    unmoved.record("OrderFillRecorded", AT, trade_id="T2", nested={"q": [1, '₹ "x"']})
    fills = [fill_of(changed, "T1"), fill_of(unmoved, "T2")]

    async with uow_factory() as uow:
        added = await uow.orders.add_absent([external])
        lost = await uow.orders.save_all([changed])
        await uow.orders.append_events([unmoved])
        stored = await uow.fills.add_new(fills)
        await uow.commit()

    assert (added, lost, stored) == ([external], [], fills)
    logs = [await event_log(uow_factory, o.order_id) for o in (external, changed, unmoved)]
    assert [[e.name for e in log] for log in logs] == [
        ["ExternalOrderRecorded"],
        ["OrderFilled"],
        ["OrderFillRecorded"],
    ]
    assert logs[2][0].data == {"trade_id": "T2", "nested": {"q": [1, '₹ "x"']}}
    sequences = [log[0].sequence or 0 for log in logs]
    assert sequences == sorted(sequences)
    assert (await get_order(uow_factory, changed.order_id)).status is OrderStatus.COMPLETE
