"""Positions from the fill ledger: Kite's position book, field by field, in plain Decimal."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from order_service.domain.fill import Fill
from order_service.domain.position import (
    Mark,
    MarkSource,
    PositionPair,
    PositionView,
    position_book,
    trade_date,
)
from order_service.domain.values import TransactionType
from tests.factories import by_account, by_strategy, make_fill
from tests.factories import ist_at as at

MONDAY, TUESDAY = date(2026, 3, 2), date(2026, 3, 3)
FRIDAY, NEXT_MONDAY = date(2026, 3, 6), date(2026, 3, 9)
FUTURE = "NIFTY26MARFUT"
CALL = "NIFTY26MAR22000CE"


def quote(last: str, close: str) -> Callable[[str, str], Mark | None]:
    mark = Mark(Decimal(last), Decimal(close), MarkSource.QUOTE)
    return lambda exchange, tradingsymbol: mark


def no_quote(exchange: str, tradingsymbol: str) -> Mark | None:
    return None


def only(book: dict[Hashable, PositionPair]) -> PositionPair:
    (pair,) = book.values()
    return pair


def test_a_delivery_buy_leaves_the_positions_for_holdings_at_the_rollover() -> None:
    buy = make_fill("BUY", 10, "1500", at(MONDAY, 10), product="CNC")
    sale = make_fill("SELL", 10, "1550", at(TUESDAY, 10), product="CNC")

    monday = only(position_book([buy], MONDAY, by_account, quote("1510", "1490"))).net
    tuesday = position_book([buy], TUESDAY, by_account, quote("1560", "1510"))
    sold = only(position_book([buy, sale], TUESDAY, by_account, quote("1560", "1510"))).net

    assert (monday.quantity, monday.average_price) == (10, Decimal(1500))
    assert tuesday == {}  # T1 in holdings, not carried as a position
    # Selling holdings shows as a day-2 sale alone: nothing matched within the positions.
    assert (sold.quantity, sold.overnight_quantity, sold.average_price) == (-10, 0, 1550)
    assert (sold.realised, sold.value) == (0, Decimal(15500))
    assert sold.unrealised == sold.pnl == Decimal(-100)  # 15500 - 10 × 1560


def test_an_intraday_position_of_several_orders_shows_every_kite_field() -> None:
    fills = [
        make_fill("BUY", 10, "100", at(MONDAY, 9, 30)),
        make_fill("BUY", 5, "102", at(MONDAY, 10)),
        make_fill("SELL", 15, "105", at(MONDAY, 14)),
    ]

    pair = only(position_book(fills, MONDAY, by_account, quote("106", "99")))

    buy_price = Decimal(1510) / 15  # (10 × 100 + 5 × 102) / 15, 28 significant digits
    assert buy_price == Decimal("100.6666666666666666666666667")
    # 15 × (105 − 100.6666666666666666666666667) = 15 × 4.3333333333333333333333333
    realised = Decimal("64.9999999999999999999999995")
    assert pair.net == PositionView(
        buy_quantity=15,
        buy_price=buy_price,
        buy_value=Decimal(1510),
        buy_m2m=Decimal(1510),
        sell_quantity=15,
        sell_price=Decimal(105),
        sell_value=Decimal(1575),  # 15 × 105
        sell_m2m=Decimal(1575),
        day_buy_quantity=15,
        day_buy_price=buy_price,
        day_buy_value=Decimal(1510),
        day_sell_quantity=15,
        day_sell_price=Decimal(105),
        day_sell_value=Decimal(1575),
        exchange="NSE",
        tradingsymbol="INFY",
        product="MIS",
        quantity=0,
        overnight_quantity=0,
        multiplier=1,
        average_price=Decimal(0),  # flat: no open side
        close_price=Decimal(99),
        last_price=Decimal(106),
        value=Decimal(65),  # 1575 − 1510
        pnl=Decimal(65),  # 65 + 0 × 106
        m2m=Decimal(65),  # 65 + (0 × 106 − 0 × 99)
        unrealised=Decimal("5E-25"),  # 65 − realised: the average's last digit, as Kite's book
        realised=realised,
        mark_source=MarkSource.QUOTE,
    )
    assert pair.day == pair.net  # nothing carried in: the day is the whole position


def test_futures_carried_overnight_are_marked_against_the_close() -> None:
    monday = [
        make_fill("BUY", 75, "22000", at(MONDAY, 10), symbol=FUTURE, product="NRML"),
        make_fill("BUY", 75, "22100", at(MONDAY, 11), symbol=FUTURE, product="NRML"),
    ]
    exit_ = make_fill("SELL", 75, "22200", at(TUESDAY, 10, 30), symbol=FUTURE, product="NRML")

    carried = only(position_book(monday, TUESDAY, by_account, quote("22150", "22080")))
    pair = only(position_book([*monday, exit_], TUESDAY, by_account, quote("22150", "22080")))

    # Carried: 150 at (75 × 22000 + 75 × 22100) / 150 = 22050, no trade on Tuesday.
    assert carried.day is None
    assert (carried.net.overnight_quantity, carried.net.average_price) == (150, 22050)
    net = pair.net
    assert (net.buy_quantity, net.buy_value, net.buy_price) == (150, 3307500, 22050)
    assert (net.sell_quantity, net.sell_value, net.sell_price) == (75, 1665000, 22200)
    assert (net.day_buy_quantity, net.day_sell_quantity, net.day_sell_value) == (0, 75, 1665000)
    assert (net.quantity, net.overnight_quantity, net.average_price) == (75, 150, 22050)
    assert net.value == -1642500  # 1665000 − 3307500
    assert net.pnl == 18750  # −1642500 + 75 × 22150
    assert net.realised == 11250  # 75 × (22200 − 22050)
    assert net.unrealised == 7500  # 18750 − 11250 = 75 × (22150 − 22050)
    assert net.m2m == 14250  # 1665000 + (75 × 22150 − 150 × 22080)
    day = pair.day
    assert day is not None
    assert (day.quantity, day.overnight_quantity, day.average_price) == (-75, 0, 22200)
    assert (day.buy_quantity, day.buy_value, day.value) == (0, 0, 1665000)
    assert day.pnl == day.m2m == day.unrealised == 3750  # 1665000 − 75 × 22150
    assert day.realised == 0


def test_a_carried_position_survives_a_weekend_at_its_average() -> None:
    friday = [
        make_fill("BUY", 75, "22000", at(FRIDAY, 10), symbol=FUTURE, product="NRML"),
        make_fill("BUY", 75, "22100", at(FRIDAY, 11), symbol=FUTURE, product="NRML"),
    ]

    net = only(position_book(friday, NEXT_MONDAY, by_account, quote("22150", "22080"))).net

    assert (net.quantity, net.overnight_quantity, net.average_price) == (150, 150, 22050)
    assert net.m2m == 10500  # 0 + (150 × 22150 − 150 × 22080)
    assert net.pnl == net.unrealised == 15000  # −3307500 + 150 × 22150
    assert net.realised == 0


def test_an_option_sold_and_bought_back_cheaper_realises_the_premium_kept() -> None:
    sale = make_fill("SELL", 75, "120.50", at(MONDAY, 10), symbol=CALL, product="NRML")
    cover = make_fill("BUY", 75, "80.25", at(MONDAY, 14), symbol=CALL, product="NRML")

    short = only(position_book([sale], MONDAY, by_account, quote("82", "110"))).net
    closed = only(position_book([sale, cover], MONDAY, by_account, quote("82", "110"))).net

    assert (short.quantity, short.average_price, short.realised) == (-75, Decimal("120.50"), 0)
    assert short.unrealised == Decimal("2887.50")  # 75 × 120.50 − 75 × 82 = 9037.50 − 6150
    assert closed.quantity == 0
    assert closed.value == Decimal("3018.75")  # 9037.50 − 75 × 80.25
    assert closed.realised == Decimal("3018.75")  # 75 × (120.50 − 80.25) = 75 × 40.25
    assert closed.unrealised == 0


def test_a_short_intraday_position_is_bought_back() -> None:
    sale = make_fill("SELL", 20, "500", at(MONDAY, 9, 20))
    first = make_fill("BUY", 10, "495", at(MONDAY, 11))
    second = make_fill("BUY", 10, "485", at(MONDAY, 13))

    half = only(position_book([sale, first], MONDAY, by_account, quote("488", "502"))).net
    closed = only(position_book([sale, first, second], MONDAY, by_account, no_quote)).net

    assert (half.quantity, half.average_price) == (-10, 500)  # open side: the sale
    assert half.realised == 50  # 10 × (500 − 495)
    assert half.value == 5050  # 10000 − 4950
    assert half.pnl == 170  # 5050 − 10 × 488
    assert half.unrealised == 120  # 170 − 50 = 10 × (500 − 488)
    assert (closed.buy_value, closed.buy_price) == (9800, 490)  # 4950 + 4850
    assert (closed.quantity, closed.realised, closed.unrealised) == (0, 200, 0)  # 20 × 10


def test_without_a_quote_the_instruments_last_fill_marks_every_group() -> None:
    alpha = make_fill("BUY", 10, "100", at(MONDAY, 10))
    beta = make_fill("BUY", 5, "104", at(MONDAY, 11), strategy="beta")
    later = make_fill("BUY", 5, "110", at(TUESDAY, 9, 30), strategy="beta")

    book = position_book([later, alpha, beta], MONDAY, by_strategy, no_quote)

    net = book[by_strategy(alpha)].net
    assert (net.last_price, net.close_price, net.mark_source) == (104, 104, MarkSource.LAST_FILL)
    assert net.unrealised == net.m2m == 40  # −1000 + 10 × 104; Tuesday's fill is not yet
    assert book[by_strategy(beta)].net.quantity == 5


def test_the_account_view_is_computed_from_its_fills_not_summed_from_strategies() -> None:
    fills = [
        make_fill("BUY", 10, "100", at(MONDAY, 10)),
        make_fill("BUY", 10, "110", at(MONDAY, 11), strategy="beta"),
        make_fill("SELL", 10, "120", at(MONDAY, 12), strategy="beta"),
    ]

    account = only(position_book(fills, MONDAY, by_account, quote("100", "100"))).net
    strategies = position_book(fills, MONDAY, by_strategy, quote("100", "100"))

    assert account.realised == 150  # 10 × (120 − 105): the account's buys average 105
    assert sum(pair.net.realised for pair in strategies.values()) == 100  # 0 + 10 × (120 − 110)
    assert account.pnl == sum(pair.net.pnl for pair in strategies.values()) == 100


def test_a_flat_position_stays_for_its_day_and_is_dropped_at_the_rollover() -> None:
    fills = [
        make_fill("BUY", 5, "100", at(MONDAY, 10)),
        make_fill("SELL", 5, "101", at(MONDAY, 11)),
    ]

    assert only(position_book(fills, MONDAY, by_account, no_quote)).net.realised == 5
    assert position_book(fills, TUESDAY, by_account, no_quote) == {}


def test_fills_are_taken_in_the_order_they_traded_not_the_order_recorded() -> None:
    buy = make_fill("BUY", 75, "22000", at(MONDAY, 10), symbol=FUTURE, product="NRML")
    sale = make_fill("SELL", 25, "22100", at(TUESDAY, 10), symbol=FUTURE, product="NRML")

    assert position_book([sale, buy], TUESDAY, by_account, no_quote) == position_book(
        [buy, sale], TUESDAY, by_account, no_quote
    )


def test_the_trade_date_is_the_ist_date_of_the_exchange_time_else_of_the_record() -> None:
    late_evening_utc = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)  # 00:30 IST on the 3rd
    fill = make_fill("BUY", 1, "100", late_evening_utc)
    unstamped = replace(fill, report=replace(fill.report, exchange_timestamp=None))
    recorded = replace(unstamped, recorded_at=late_evening_utc - timedelta(hours=1))

    assert trade_date(fill) == TUESDAY
    assert trade_date(unstamped) == TUESDAY
    assert trade_date(recorded) == MONDAY  # 23:30 IST on the 2nd


# Properties over random ledgers: a few days, two instruments, every product.
PRODUCTS = ("CNC", "MIS", "NRML")
SYMBOLS = ("INFY", FUTURE)
prices = st.decimals(min_value=Decimal("0.05"), max_value=Decimal("50000"), places=2)
trades = st.tuples(
    st.integers(0, 3), st.integers(0, 359), st.sampled_from(("BUY", "SELL")),
    st.integers(1, 500), prices, st.sampled_from(SYMBOLS), st.sampled_from(PRODUCTS),
)  # fmt: skip
ledgers = st.lists(trades, max_size=25)
marks = st.sampled_from([no_quote, quote("101.35", "99.80")])
BOOK_DAY = MONDAY + timedelta(days=3)


def ledger(rows: list[tuple[int, int, str, int, Decimal, str, str]]) -> list[Fill]:
    return [
        make_fill(side, quantity, price, at(MONDAY + timedelta(days=day), 9) + timedelta(minutes=m),
                  symbol=symbol, product=product)
        for day, m, side, quantity, price, symbol, product in rows
    ]  # fmt: skip


def mirrored(fills: list[Fill]) -> list[Fill]:
    swap = {TransactionType.BUY: TransactionType.SELL, TransactionType.SELL: TransactionType.BUY}
    return [
        replace(f, report=replace(f.report, transaction_type=swap[f.report.transaction_type]))
        for f in fills
    ]


def views(book: dict[Hashable, PositionPair]) -> list[PositionView]:
    return [view for pair in book.values() for view in (pair.net, pair.day) if view is not None]


def cut(total: int, points: list[int]) -> list[int]:
    """``total`` cut at ``points`` (each in 1..total - 1) into parts that add up to it."""
    edges = [0, *sorted(set(points)), total]
    return [b - a for a, b in itertools.pairwise(edges)]


@given(
    parts=st.lists(st.integers(1, 500), min_size=1, max_size=6),
    price=prices,
    short=st.booleans(),
    data=st.data(),
)
def test_a_round_trip_at_one_price_realises_exactly_zero(
    parts: list[int], price: Decimal, short: bool, data: st.DataObject
) -> None:
    total = sum(parts)
    points = data.draw(st.lists(st.integers(1, total - 1), max_size=5)) if total > 1 else []
    opening, closing = ("SELL", "BUY") if short else ("BUY", "SELL")
    fills = [make_fill(opening, q, price, at(MONDAY, 10)) for q in parts]
    fills += [make_fill(closing, q, price, at(MONDAY, 11)) for q in cut(total, points)]

    net = only(position_book(fills, MONDAY, by_account, quote("101.35", "99.80"))).net

    assert (net.quantity, net.value, net.realised, net.unrealised, net.pnl) == (0, 0, 0, 0, 0)


@given(rows=ledgers.filter(bool), data=st.data(), mark=marks)
def test_splitting_a_fill_changes_no_position_figure(
    rows: list[tuple[int, int, str, int, Decimal, str, str]],
    data: st.DataObject,
    mark: Callable[[str, str], Mark | None],
) -> None:
    index = data.draw(st.integers(0, len(rows) - 1))
    day, minute, side, quantity, price, symbol, product = rows[index]
    part = data.draw(st.integers(0, quantity))
    halves = [(day, minute, side, q, price, symbol, product) for q in (part, quantity - part) if q]
    split = [*rows[:index], *halves, *rows[index + 1 :]]

    assert position_book(ledger(split), BOOK_DAY, by_account, mark) == position_book(
        ledger(rows), BOOK_DAY, by_account, mark
    )


@given(rows=ledgers, mark=marks)
def test_long_and_short_mirror(
    rows: list[tuple[int, int, str, int, Decimal, str, str]],
    mark: Callable[[str, str], Mark | None],
) -> None:
    fills = ledger(rows)

    book = position_book(fills, BOOK_DAY, by_account, mark)
    mirror = position_book(mirrored(fills), BOOK_DAY, by_account, mark)

    assert book.keys() == mirror.keys()
    for view, image in zip(views(book), views(mirror), strict=True):
        assert (image.quantity, image.value) == (-view.quantity, -view.value)
        assert (image.realised, image.unrealised) == (-view.realised, -view.unrealised)
        assert (image.pnl, image.m2m) == (-view.pnl, -view.m2m)


@given(rows=ledgers, mark=marks)
def test_the_account_view_of_one_strategys_fills_is_its_strategy_view(
    rows: list[tuple[int, int, str, int, Decimal, str, str]],
    mark: Callable[[str, str], Mark | None],
) -> None:
    fills = ledger(rows)

    account = position_book(fills, BOOK_DAY, by_account, mark)
    strategy = position_book(fills, BOOK_DAY, by_strategy, mark)

    assert list(account.values()) == list(strategy.values())
