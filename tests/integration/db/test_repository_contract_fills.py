"""The repository contract of the fill ledger: each (account, trade id) once, exact prices.

Each test runs on the fake, SQLite and PostgreSQL (``contract.py`` says why and how).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from order_service.domain.fill import Fill, FillSource
from order_service.domain.ids import BrokerOrderId
from order_service.domain.order import Order
from order_service.domain.reports import FillReport, TradeId
from order_service.domain.values import TransactionType
from order_service.errors import Conflict
from order_service.services.ports import UnitOfWork
from tests.integration.db.conftest import ACCOUNT_A, ACCOUNT_B, NOW, Seed, build_order
from tests.integration.db.contract import AT, UowFactory, add_orders, read, write

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("seed")]


@pytest.fixture
def uow_factory(any_uow_factory: UowFactory) -> UowFactory:
    return any_uow_factory


def fill_of(order: Order, trade_id: str, quantity: int = 5, price: str = "1520.35") -> Fill:
    assert order.broker_order_id is not None
    report = FillReport(
        trade_id=TradeId(trade_id),
        broker_order_id=order.broker_order_id,
        exchange=order.request.exchange.value,
        tradingsymbol=order.request.tradingsymbol,
        product=order.request.product.value,
        transaction_type=TransactionType.SELL,
        quantity=quantity,
        price=Decimal(price),
        exchange_timestamp=AT - timedelta(seconds=1),
    )
    return Fill.of(order, report, FillSource.TRADES, AT)


async def add_new(uow_factory: UowFactory, *fills: Fill) -> list[Fill]:
    added: list[Fill] = []

    async def adding(uow: UnitOfWork) -> None:
        added.extend(await uow.fills.add_new(list(fills)))

    await write(uow_factory, adding)
    return added


async def for_order(uow_factory: UowFactory, order: Order) -> list[Fill]:
    fills: list[Fill] = await read(uow_factory, lambda uow: uow.fills.for_order(order.order_id))
    return fills


async def placed(uow_factory: UowFactory, broker_order_id: str, **overrides: object) -> Order:
    order = build_order(broker_order_id=BrokerOrderId(broker_order_id), **overrides)
    await add_orders(uow_factory, order)
    return order


async def test_a_fill_is_stored_once_and_comes_back_exactly(uow_factory: UowFactory) -> None:
    order = await placed(uow_factory, "250101000000001")
    fill = fill_of(order, "T1", price="1520.3525")

    first = await add_new(uow_factory, fill)
    again = await add_new(uow_factory, fill, fill_of(order, "T2"))

    assert [f.trade_id for f in first] == ["T1"]
    assert [f.trade_id for f in again] == ["T2"]
    stored = await for_order(uow_factory, order)
    assert [without_sequence(f) for f in stored] == [fill, fill_of(order, "T2")]
    assert str(stored[0].report.price) == "1520.3525"
    assert stored[0].report.exchange_timestamp == AT - timedelta(seconds=1)


def without_sequence(fill: Fill) -> Fill:
    assert fill.sequence is not None
    return replace(fill, sequence=None)


async def test_one_batch_with_a_trade_id_twice_stores_it_once(uow_factory: UowFactory) -> None:
    order = await placed(uow_factory, "250101000000001")

    added = await add_new(uow_factory, fill_of(order, "T1"), fill_of(order, "T1"))

    assert len(added) == 1
    assert len(await for_order(uow_factory, order)) == 1


async def test_the_same_trade_id_in_another_account_is_another_fill(
    uow_factory: UowFactory, seed: Seed
) -> None:
    mine = await placed(uow_factory, "250101000000001")
    theirs = await placed(uow_factory, "250101000000002", account_id=seed.account_b)

    added = await add_new(uow_factory, fill_of(mine, "T1"), fill_of(theirs, "T1"))

    assert [f.account_id for f in added] == [seed.account_a, seed.account_b]


async def test_an_accounts_fills_come_in_pages_by_sequence(
    uow_factory: UowFactory, seed: Seed
) -> None:
    order = await placed(uow_factory, "250101000000001")
    other = await placed(uow_factory, "250101000000002", account_id=seed.account_b)
    await add_new(uow_factory, *(fill_of(order, f"T{n}") for n in range(1, 6)))
    await add_new(uow_factory, fill_of(other, "T9"))

    first: list[Fill] = await read(
        uow_factory, lambda uow: uow.fills.for_account(seed.account_a, limit=2)
    )
    after = first[-1].sequence
    rest: list[Fill] = await read(
        uow_factory, lambda uow: uow.fills.for_account(seed.account_a, after=after, limit=10)
    )

    assert [f.trade_id for f in first] == ["T1", "T2"]
    assert [f.trade_id for f in rest] == ["T3", "T4", "T5"]


async def test_a_fill_of_an_order_that_is_not_stored_is_refused(uow_factory: UowFactory) -> None:
    order = build_order(broker_order_id=BrokerOrderId("250101000000001"))  # never added

    with pytest.raises(Conflict):
        await add_new(uow_factory, fill_of(order, "T1"))

    assert await for_order(uow_factory, order) == []


async def test_accounts_short_names_recent_orders_the_ledger_holds_less_of(
    uow_factory: UowFactory,
) -> None:
    short = await placed(uow_factory, "250101000000011", filled_quantity=10)
    whole = await placed(uow_factory, "250101000000012", filled_quantity=5)
    await placed(uow_factory, "250101000000013")  # nothing filled: nothing to wait for
    stale = timedelta(hours=2)
    await placed(
        uow_factory, "250101000000014", account_id=ACCOUNT_B, filled_quantity=10,
        created_at=NOW - stale, updated_at=NOW - stale,
    )  # fmt: skip
    await add_new(uow_factory, fill_of(short, "T11", 5), fill_of(whole, "T12", 5))

    both = (ACCOUNT_A, ACCOUNT_B)
    hour_ago = NOW - timedelta(hours=1)
    recent = await read(uow_factory, lambda uow: uow.fills.accounts_short(both, hour_ago))
    every = await read(uow_factory, lambda uow: uow.fills.accounts_short(both, NOW - stale))
    asked = await read(uow_factory, lambda uow: uow.fills.accounts_short([ACCOUNT_B], NOW - stale))
    none = await read(uow_factory, lambda uow: uow.fills.accounts_short([], NOW - stale))

    assert recent == [ACCOUNT_A]
    assert every == [ACCOUNT_A, ACCOUNT_B]
    assert (asked, none) == ([ACCOUNT_B], [])
