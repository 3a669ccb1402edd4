"""The books give the same exact figures from every store: fills read back through the ledger.

Each test runs on the fake, SQLite and PostgreSQL (``contract.py`` says why and how). Prices
with four decimals and a weighted average that does not terminate must come back digit for
digit, and the P&L and charges computed from them must be the same numbers everywhere.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from order_service.adapters.charges_file import load_charge_schedules
from order_service.domain.fill import Fill, FillSource
from order_service.domain.ids import BrokerOrderId
from order_service.domain.order import Order
from order_service.domain.pnl import PnlMethod, pnl
from order_service.domain.position import IST
from order_service.domain.reports import FillReport, TradeId
from order_service.domain.values import TransactionType
from order_service.services.book_charges import charges_by_group
from order_service.services.ledger import LedgerCache
from order_service.services.ports import UnitOfWork
from tests.integration.db.conftest import Seed, build_order
from tests.integration.db.contract import AT, UowFactory, add_orders, write

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("seed")]
DAY = AT.astimezone(IST).date()


@pytest.fixture
def uow_factory(any_uow_factory: UowFactory) -> UowFactory:
    return any_uow_factory


class _At:
    """The clock of the reads: an hour after the fills, so the ledger keeps them."""

    def now(self) -> datetime:
        return AT + timedelta(hours=1)


def fill(order: Order, trade_id: str, side: TransactionType, quantity: int, price: str) -> Fill:
    assert order.broker_order_id is not None
    report = FillReport(
        TradeId(trade_id),
        order.broker_order_id,
        "NSE",
        "INFY",
        "MIS",
        side,
        quantity,
        Decimal(price),
        AT,
    )
    return Fill.of(order, report, FillSource.TRADES, AT)


async def stored_day(uow_factory: UowFactory) -> list[Fill]:
    buy = build_order(broker_order_id=BrokerOrderId("250101000000001"))
    sell = build_order(broker_order_id=BrokerOrderId("250101000000002"))
    await add_orders(uow_factory, buy, sell)
    fills = [
        fill(buy, "T1", TransactionType.BUY, 3, "1500.0525"),
        fill(buy, "T2", TransactionType.BUY, 4, "1500.1075"),
        fill(sell, "T3", TransactionType.SELL, 7, "1510.2500"),
    ]

    async def adding(uow: UnitOfWork) -> None:
        await uow.fills.add_new(fills)

    await write(uow_factory, adding)
    ledger = LedgerCache(uow_factory, _At())
    return await ledger.history([buy.account_id], AT + timedelta(days=1))


async def test_fills_come_back_digit_for_digit(uow_factory: UowFactory, seed: Seed) -> None:
    fills = await stored_day(uow_factory)

    assert [str(f.report.price) for f in fills] == ["1500.0525", "1500.1075", "1510.2500"]
    assert [f.report.exchange_timestamp for f in fills] == [AT] * 3


async def test_pnl_and_charges_are_the_same_numbers_from_every_store(
    uow_factory: UowFactory, seed: Seed
) -> None:
    fills = await stored_day(uow_factory)

    figures = pnl(fills, PnlMethod.AVERAGE, DAY, DAY, _instrument, _no_mark)
    fifo = pnl(fills, PnlMethod.FIFO, DAY, DAY, _instrument, _no_mark)
    charges = charges_by_group(load_charge_schedules(), fills, DAY, DAY, _account)

    # Bought 3 x 1500.0525 + 4 x 1500.1075 = 4500.1575 + 6000.43 = 10500.5875 (avg 1500.08392857…)
    # Sold 7 x 1510.25 = 10571.75; realised = 10571.75 - 10500.5875 = 71.1625 (flat: both agree)
    (average,) = figures.values()
    assert average.realised.quantize(Decimal("0.0000001")) == Decimal("71.1625000")
    assert next(iter(fifo.values())).realised == Decimal("71.1625")
    assert charges.uncharged == []
    (total,) = charges.totals.values()
    # Buy order (10500.5875): brokerage 3.15; exchange 0.31; SEBI 0.01; stamp 0.32; GST of
    # (3.15 + 0.31 + 0.01 = 3.47) = 0.6246 -> 0.62. Sell (10571.75): brokerage 3.17; STT
    # 0.025 % = 2.64 -> 3; exchange 0.31; SEBI 0.01; GST of 3.49 = 0.6282 -> 0.63.
    assert total.as_dict() == {
        "brokerage": Decimal("6.32"),
        "stt": Decimal(3),
        "exchange_transaction": Decimal("0.62"),
        "sebi_fee": Decimal("0.02"),
        "stamp_duty": Decimal("0.32"),
        "gst": Decimal("1.25"),
        "dp": Decimal(0),
        "total": Decimal("11.53"),
    }


def _instrument(f: Fill) -> tuple[str, str, str]:
    return f.report.exchange, f.report.tradingsymbol, f.report.product


def _account(f: Fill) -> str:
    return f.account_id


def _no_mark(exchange: str, tradingsymbol: str) -> None:
    return None
