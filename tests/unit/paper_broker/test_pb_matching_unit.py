"""When resting orders trade or trigger, and the book's thresholds."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from paper_broker.clock import IST
from paper_broker.instruments import Catalogue
from paper_broker.matching import Book, is_marketable, is_triggered, thresholds
from paper_broker.orders import OPEN, TRIGGER_PENDING, Order, OrderState
from paper_broker.prices import NEVER_ABOVE, NEVER_BELOW

MOMENT = datetime(2026, 12, 7, 10, 0, tzinfo=IST)


def make_order(
    catalogue: Catalogue,
    side: str = "BUY",
    order_type: str = "LIMIT",
    price: str = "100",
    trigger: str = "0",
    status: str = OPEN,
    order_id: str = "1",
) -> Order:
    instrument = catalogue.by_key("NSE:SBIN")
    assert instrument is not None
    state = OrderState(
        status=status,
        order_type=order_type,
        quantity=1,
        price=Decimal(price),
        trigger_price=Decimal(trigger),
        validity="DAY",
        disclosed_quantity=0,
        market_protection=Decimal(-1),
        order_timestamp=MOMENT,
    )
    return Order(order_id, "U1", "regular", instrument, side, "CNC", state, "g", history=[state])


@pytest.mark.parametrize(
    ("side", "ticks", "expected"),
    [("BUY", 2000, True), ("BUY", 1999, True), ("BUY", 2001, False),
     ("SELL", 2000, True), ("SELL", 2001, True), ("SELL", 1999, False)],
)  # fmt: skip
def test_limits_trade_at_or_through_their_price(
    catalogue: Catalogue, side: str, ticks: int, expected: bool
) -> None:
    order = make_order(catalogue, side=side, price="100")

    assert is_marketable(order, ticks) is expected


@pytest.mark.parametrize(
    ("side", "ticks", "expected"),
    [("BUY", 2000, True), ("BUY", 1999, False), ("SELL", 2000, True), ("SELL", 2001, False)],
)
def test_stops_trigger_when_the_price_reaches_them(
    catalogue: Catalogue, side: str, ticks: int, expected: bool
) -> None:
    order = make_order(catalogue, side, "SL-M", "0", "100", TRIGGER_PENDING)

    assert is_triggered(order, ticks) is expected


def test_market_orders_are_always_marketable(catalogue: Catalogue) -> None:
    assert is_marketable(make_order(catalogue, order_type="MARKET", price="0"), 1)


def test_thresholds_of_each_kind_of_resting_order(catalogue: Catalogue) -> None:
    assert thresholds(make_order(catalogue, "BUY")) == (2000, NEVER_ABOVE)
    assert thresholds(make_order(catalogue, "SELL")) == (NEVER_BELOW, 2000)
    stop_buy = make_order(catalogue, "BUY", "SL-M", "0", "110", TRIGGER_PENDING)
    stop_sell = make_order(catalogue, "SELL", "SL-M", "0", "90", TRIGGER_PENDING)
    assert thresholds(stop_buy) == (NEVER_BELOW, 2200)
    assert thresholds(stop_sell) == (1800, NEVER_ABOVE)


def test_the_book_keeps_the_nearest_thresholds(catalogue: Catalogue) -> None:
    fired: list[int] = []
    book = Book(1, lambda _book, ticks, _second: fired.append(ticks))
    book.add(make_order(catalogue, "BUY", price="95", order_id="a"))
    book.add(make_order(catalogue, "BUY", price="96", order_id="b"))
    book.add(make_order(catalogue, "SELL", price="105", order_id="c"))
    assert (book.low, book.high) == (1920, 2100)

    assert [order.order_id for order in book.due(1910)] == ["b"]
    assert [order.order_id for order in book.due(1900)] == ["a", "b"]
    book.remove("b")
    assert (book.low, book.high) == (1900, 2100)
    book.fire(1900, 0)
    assert fired == [1900]
    book.remove("a")
    book.remove("c")
    assert (book.low, book.high) == (NEVER_BELOW, NEVER_ABOVE)
