"""What an order's fills add up to: the quantity and its exact weighted average price."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from order_service.domain.fill import Fill, FillSource, FillTotals
from order_service.domain.ids import BrokerOrderId
from order_service.domain.reports import FillReport, TradeId
from order_service.domain.values import TransactionType
from tests.factories import make_order

AT = datetime(2026, 3, 2, 4, 30, tzinfo=UTC)
ORDER = make_order(broker_order_id=BrokerOrderId("1"))
prices = st.decimals(min_value=Decimal("0.05"), max_value=Decimal("99999"), places=2)


def fill(trade_id: str, quantity: int, price: Decimal) -> Fill:
    report = FillReport(
        TradeId(trade_id), BrokerOrderId("1"), "NSE", "INFY", "CNC", TransactionType.BUY,
        quantity, price,
    )  # fmt: skip
    return Fill.of(ORDER, report, FillSource.TRADES, AT)


def test_no_fills_add_up_to_nothing() -> None:
    assert FillTotals.of([]) == FillTotals(0, None)


def test_the_average_is_weighted_by_quantity_and_exact() -> None:
    totals = FillTotals.of([fill("1", 3, Decimal("100.10")), fill("2", 7, Decimal("100.25"))])

    assert totals == FillTotals(10, Decimal("100.205"))


@given(price=prices, whole=st.integers(min_value=2, max_value=10_000), data=st.data())
def test_splitting_a_fill_changes_nothing(price: Decimal, whole: int, data: st.DataObject) -> None:
    part = data.draw(st.integers(min_value=1, max_value=whole - 1))

    split = FillTotals.of([fill("1", part, price), fill("2", whole - part, price)])

    assert split == FillTotals.of([fill("1", whole, price)]) == FillTotals(whole, price)
