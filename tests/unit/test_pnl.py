"""Realised and unrealised P&L from the fill ledger, by weighted average and by FIFO lots."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_service.domain.fill import Fill
from order_service.domain.pnl import PnlFigures, PnlMethod, pnl
from order_service.domain.position import Mark, MarkSource
from tests.factories import by_account, by_strategy, make_fill
from tests.factories import ist_at as at

MONDAY, TUESDAY = date(2026, 3, 2), date(2026, 3, 3)
FUTURE = "NIFTY26MARFUT"
AVERAGE, FIFO = PnlMethod.AVERAGE, PnlMethod.FIFO


def quote(last: str, close: str = "0") -> Callable[[str, str], Mark | None]:
    mark = Mark(Decimal(last), Decimal(close), MarkSource.QUOTE)
    return lambda exchange, tradingsymbol: mark


def no_quote(exchange: str, tradingsymbol: str) -> Mark | None:
    return None


def one(
    fills: list[Fill],
    method: PnlMethod,
    start: date = MONDAY,
    end: date = MONDAY,
    marks: Callable[[str, str], Mark | None] = no_quote,
) -> PnlFigures:
    (figures,) = pnl(fills, method, start, end, by_account, marks).values()
    return figures


def test_a_delivery_sold_a_day_later_realises_against_its_buy() -> None:
    fills = [
        make_fill("BUY", 10, "1500", at(MONDAY, 10), product="CNC"),
        make_fill("SELL", 10, "1550", at(TUESDAY, 10), product="CNC"),
    ]

    held = one(fills, AVERAGE, MONDAY, MONDAY, quote("1510"))

    assert held == PnlFigures(Decimal(0), Decimal(100), 10, held.mark)  # 10 × (1510 − 1500)
    for method in PnlMethod:
        assert one(fills, method, TUESDAY, TUESDAY) == PnlFigures(Decimal(500), Decimal(0), 0, None)
        assert one(fills, method, MONDAY, TUESDAY).realised == 500  # 10 × (1550 − 1500)


def test_intraday_orders_realise_by_average_as_kites_book_and_by_lots_exactly() -> None:
    fills = [
        make_fill("BUY", 10, "100", at(MONDAY, 9, 30)),
        make_fill("BUY", 5, "102", at(MONDAY, 10)),
        make_fill("SELL", 15, "105", at(MONDAY, 14)),
    ]

    # 15 × (105 − 1510 / 15) = 15 × 4.3333333333333333333333333 (the average has 28 digits)
    assert one(fills, AVERAGE).realised == Decimal("64.9999999999999999999999995")
    assert one(fills, FIFO).realised == 65  # 10 × (105 − 100) + 5 × (105 − 102)
    assert one(fills, FIFO).mark is None  # flat: nothing to mark


def test_futures_carried_overnight_then_partly_exited() -> None:
    fills = [
        make_fill("BUY", 75, "22000", at(MONDAY, 10), symbol=FUTURE, product="NRML"),
        make_fill("BUY", 75, "22100", at(MONDAY, 11), symbol=FUTURE, product="NRML"),
        make_fill("SELL", 75, "22200", at(TUESDAY, 10, 30), symbol=FUTURE, product="NRML"),
    ]
    mark = quote("22150", "22080")

    average = one(fills, AVERAGE, TUESDAY, TUESDAY, mark)
    lots = one(fills, FIFO, TUESDAY, TUESDAY, mark)

    assert one(fills, AVERAGE, MONDAY, MONDAY, mark).unrealised == 15000  # 150 × (22150 − 22050)
    assert (average.realised, average.unrealised) == (11250, 7500)  # 75 × 150, 75 × 100
    assert (lots.realised, lots.unrealised) == (15000, 3750)  # 75 × (22200 − 22000), 75 × 50
    assert average.gross == lots.gross == 18750
    assert average.open_quantity == lots.open_quantity == 75
    assert average.mark == Mark(Decimal(22150), Decimal(22080), MarkSource.QUOTE)


def test_an_option_sold_and_bought_back_cheaper_realises_a_gain() -> None:
    fills = [
        make_fill("SELL", 75, "120.50", at(MONDAY, 10), symbol="NIFTY26MAR22000CE"),
        make_fill("BUY", 75, "80.25", at(MONDAY, 14), symbol="NIFTY26MAR22000CE"),
    ]

    for method in PnlMethod:
        # 75 × (120.50 − 80.25) = 75 × 40.25
        assert one(fills, method) == PnlFigures(Decimal("3018.75"), Decimal(0), 0, None)


def test_a_short_intraday_position_bought_back_in_two_orders() -> None:
    fills = [
        make_fill("SELL", 20, "500", at(MONDAY, 9, 20)),
        make_fill("BUY", 10, "495", at(MONDAY, 11)),
        make_fill("BUY", 10, "485", at(MONDAY, 13)),
    ]

    assert one(fills, AVERAGE).realised == 200  # 20 × (500 − (4950 + 4850) / 20)
    assert one(fills, FIFO).realised == 200  # 10 × (500 − 495) + 10 × (500 − 485)


def test_fifo_closes_the_oldest_lot_first() -> None:
    fills = [
        make_fill("BUY", 10, "100", at(MONDAY, 10), product="CNC"),
        make_fill("BUY", 10, "110", at(MONDAY, 11), product="CNC"),
        make_fill("SELL", 15, "120", at(TUESDAY, 10), product="CNC"),
    ]

    lots = one(fills, FIFO, MONDAY, TUESDAY, quote("115"))
    average = one(fills, AVERAGE, MONDAY, TUESDAY, quote("115"))

    assert (lots.realised, lots.unrealised) == (250, 25)  # 10 × 20 + 5 × 10; 5 × (115 − 110)
    assert (average.realised, average.unrealised) == (225, 50)  # 15 × (120 − 105); 5 × 10


def test_a_sale_through_zero_opens_a_short_that_a_later_buy_closes() -> None:
    fills = [
        make_fill("BUY", 10, "100", at(MONDAY, 10), product="NRML"),
        make_fill("SELL", 15, "110", at(MONDAY, 11), product="NRML"),
        make_fill("BUY", 5, "105", at(TUESDAY, 10), product="NRML"),
    ]

    for method in PnlMethod:
        monday = one(fills, method, MONDAY, MONDAY, quote("112"))
        assert monday == PnlFigures(Decimal(100), Decimal(-10), -5, monday.mark)  # 5 × (110 − 112)
        assert one(fills, method, TUESDAY, TUESDAY).realised == 25  # 5 × (110 − 105)


def test_only_closing_trades_dated_in_the_range_are_realised() -> None:
    fills = [
        make_fill("BUY", 10, "100", at(MONDAY, 10), product="NRML"),
        make_fill("SELL", 5, "110", at(MONDAY, 11), product="NRML"),
        make_fill("SELL", 5, "120", at(TUESDAY, 10), product="NRML"),
    ]

    for method in PnlMethod:
        assert one(fills, method, MONDAY, MONDAY).realised == 50  # 5 × 10; Tuesday not yet
        assert one(fills, method, TUESDAY, TUESDAY).realised == 100  # 5 × (120 − 100)
        assert one(fills, method, MONDAY, TUESDAY).realised == 150


def test_without_a_quote_the_open_quantity_is_marked_at_the_last_fill() -> None:
    fills = [
        make_fill("BUY", 10, "100", at(MONDAY, 10)),
        make_fill("BUY", 10, "104", at(MONDAY, 11)),
    ]

    for method in PnlMethod:
        figures = one(fills, method)
        assert figures.mark == Mark(Decimal(104), Decimal(104), MarkSource.LAST_FILL)
        assert figures.unrealised == 40  # 10 × (104 − 100) + 10 × 0


def test_a_group_with_nothing_in_the_range_and_nothing_open_is_left_out() -> None:
    fills = [
        make_fill("BUY", 5, "100", at(MONDAY, 10)),
        make_fill("SELL", 5, "101", at(MONDAY, 11)),
    ]

    for method in PnlMethod:
        assert pnl(fills, method, TUESDAY, TUESDAY, by_account, no_quote) == {}


def test_a_range_that_ends_before_it_starts_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="range"):
        pnl([], AVERAGE, TUESDAY, MONDAY, by_account, no_quote)


# Properties over random ledgers: a few days, two instruments, every product (all carried).
LAST_DAY = MONDAY + timedelta(days=3)
Row = tuple[int, int, str, int, Decimal, str, str]
prices = st.decimals(min_value=Decimal("0.05"), max_value=Decimal("50000"), places=2)
trades = st.tuples(
    st.integers(0, 3), st.integers(0, 359), st.sampled_from(("BUY", "SELL")),
    st.integers(1, 500), prices, st.sampled_from(("INFY", FUTURE)),
    st.sampled_from(("CNC", "MIS", "NRML")),
)  # fmt: skip
ledgers = st.lists(trades, max_size=25)
methods = st.sampled_from(PnlMethod)
marks = st.sampled_from([no_quote, quote("101.35", "99.80")])
ranges = st.tuples(st.integers(0, 3), st.integers(0, 3)).map(sorted)


def ledger(rows: list[Row]) -> list[Fill]:
    return [
        make_fill(side, quantity, price, at(MONDAY + timedelta(days=day), 9) + timedelta(minutes=m),
                  symbol=symbol, product=product)
        for day, m, side, quantity, price, symbol, product in rows
    ]  # fmt: skip


def book(
    fills: list[Fill],
    method: PnlMethod,
    days: list[int],
    marks: Callable[[str, str], Mark | None],
    group: Callable[[Fill], Hashable] = by_account,
) -> dict[Hashable, PnlFigures]:
    start, end = (MONDAY + timedelta(days=day) for day in days)
    return pnl(fills, method, start, end, group, marks)


def flattened(rows: list[Row], price: Decimal) -> list[Row]:
    """``rows`` and, on the last day, the trades that leave every group flat."""
    open_ = Counter[tuple[str, str]]()
    for _, _, side, quantity, _, symbol, product in rows:
        open_[symbol, product] += quantity if side == "BUY" else -quantity
    return [
        *rows,
        *(
            (3, 400, "SELL" if q > 0 else "BUY", abs(q), price, *key)
            for key, q in open_.items()
            if q
        ),
    ]


@given(
    parts=st.lists(st.tuples(st.integers(0, 3), st.integers(1, 500)), min_size=1, max_size=6),
    price=prices,
    product=st.sampled_from(("CNC", "MIS", "NRML")),
    method=methods,
)
def test_a_round_trip_at_one_price_realises_exactly_zero(
    parts: list[tuple[int, int]], price: Decimal, product: str, method: PnlMethod
) -> None:
    rows = [(day, 0, "BUY", q, price, "INFY", product) for day, q in parts]

    figures = one(ledger(flattened(rows, price)), method, MONDAY, LAST_DAY)

    assert figures == PnlFigures(Decimal(0), Decimal(0), 0, None)


@given(rows=ledgers.filter(bool), data=st.data(), method=methods, days=ranges, mark=marks)
def test_splitting_a_fill_changes_no_pnl(
    rows: list[Row],
    data: st.DataObject,
    method: PnlMethod,
    days: list[int],
    mark: Callable[[str, str], Mark | None],
) -> None:
    index = data.draw(st.integers(0, len(rows) - 1))
    day, minute, side, quantity, price, symbol, product = rows[index]
    part = data.draw(st.integers(0, quantity))
    halves = [(day, minute, side, q, price, symbol, product) for q in (part, quantity - part) if q]
    split = [*rows[:index], *halves, *rows[index + 1 :]]

    assert book(ledger(split), method, days, mark) == book(ledger(rows), method, days, mark)


@given(rows=ledgers, method=methods, days=ranges, mark=marks)
def test_long_and_short_mirror(
    rows: list[Row], method: PnlMethod, days: list[int], mark: Callable[[str, str], Mark | None]
) -> None:
    swap = {"BUY": "SELL", "SELL": "BUY"}
    mirror = [
        (d, m, swap[side], q, p, symbol, product) for d, m, side, q, p, symbol, product in rows
    ]

    figures = book(ledger(rows), method, days, mark)
    images = book(ledger(mirror), method, days, mark)

    assert figures.keys() == images.keys()
    for key, image in images.items():
        original = figures[key]
        assert (image.realised, image.unrealised) == (-original.realised, -original.unrealised)
        assert (image.open_quantity, image.mark) == (-original.open_quantity, original.mark)


@given(rows=ledgers, price=prices)
def test_average_and_fifo_agree_on_a_history_that_ends_flat(
    rows: list[Row], price: Decimal
) -> None:
    fills = ledger(flattened(rows, price))

    average = book(fills, AVERAGE, [0, 3], no_quote)
    lots = book(fills, FIFO, [0, 3], no_quote)

    assert average.keys() == lots.keys()
    for key, figures in lots.items():
        # Equal but for the last of the 28 digits of each day's averages (Kite's arithmetic).
        assert abs(average[key].realised - figures.realised) < Decimal("1e-15")
        assert average[key].unrealised == figures.unrealised == 0


@given(rows=ledgers, method=methods, days=ranges, mark=marks)
def test_the_account_view_of_one_strategys_fills_is_its_strategy_view(
    rows: list[Row], method: PnlMethod, days: list[int], mark: Callable[[str, str], Mark | None]
) -> None:
    fills = ledger(rows)

    account = book(fills, method, days, mark)
    strategy = book(fills, method, days, mark, by_strategy)

    assert list(account.values()) == list(strategy.values())
