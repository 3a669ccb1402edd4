"""The market's realism: circuit bands, the daily close, minute bars and per-second volume."""

from __future__ import annotations

from decimal import Decimal

from paper_broker.instruments import Catalogue, Instrument
from paper_broker.liquidity import EQUITY_UNITS_PER_SECOND, units_per_second
from paper_broker.prices import DAY_SECONDS, Market, PriceWalk, next_midnight
from paper_broker.rms import circuit_breach

# 2026-11-30 10:00 IST, a Monday in session.
ANCHOR = 1_796_013_000


def _item(catalogue: Catalogue, key: str) -> Instrument:
    instrument = catalogue.by_key(key)
    assert instrument is not None
    return instrument


def test_next_midnight_is_ist() -> None:
    midnight = next_midnight(ANCHOR)

    assert (midnight + 19_800) % DAY_SECONDS == 0
    assert 0 < midnight - ANCHOR <= DAY_SECONDS
    assert next_midnight(midnight) == midnight + DAY_SECONDS


def test_a_stock_band_is_ten_percent_of_the_close(catalogue: Catalogue) -> None:
    walk = PriceWalk(1, _item(catalogue, "NSE:INFY"), ANCHOR)

    assert walk.close * walk.tick == Decimal("1580.00")
    assert walk.lower * walk.tick == Decimal("1422.00")
    assert walk.upper * walk.tick == Decimal("1738.00")


def test_indices_have_no_band(catalogue: Catalogue) -> None:
    walk = PriceWalk(1, _item(catalogue, "NSE:NIFTY 50"), ANCHOR)

    walk.set_price(Decimal(1))
    walk.set_price(Decimal(10**6))

    assert walk.price == Decimal(10**6)


def test_a_decreed_price_is_held_at_the_band(catalogue: Catalogue) -> None:
    market = Market(1, ANCHOR)
    infy = _item(catalogue, "NSE:INFY")

    assert market.set_price(infy, Decimal("2000"), ANCHOR) == Decimal("1738.00")
    assert market.set_price(infy, Decimal("1000"), ANCHOR) == Decimal("1422.00")
    assert market.set_price(infy, Decimal("1500.05"), ANCHOR) == Decimal("1500.05")


def test_the_walk_never_leaves_the_band(catalogue: Catalogue) -> None:
    # A huge sigma makes the band bite within minutes.
    walk = PriceWalk(3, _item(catalogue, "NSE:SBIN"), ANCHOR)
    walk.sigma = 0.01
    seen = set()
    for second in range(1, 3000):
        walk.advance(ANCHOR + second)
        assert walk.lower <= walk.ticks <= walk.upper
        seen.add(walk.ticks)

    assert {walk.lower, walk.upper} & seen


def test_the_close_and_band_move_at_midnight(catalogue: Catalogue) -> None:
    walk = PriceWalk(3, _item(catalogue, "NSE:TCS"), ANCHOR)
    midnight = next_midnight(ANCHOR)
    walk.advance(midnight - 1)
    last = walk.ticks
    first_close = walk.close

    walk.advance(midnight + 10)

    assert walk.close == last != first_close
    assert walk.open == last
    assert walk.upper == int(last * 110 / 100)


def test_minute_bars_follow_the_walk(catalogue: Catalogue) -> None:
    walk = PriceWalk(5, _item(catalogue, "NSE:INFY"), ANCHOR)
    prices = []
    for second in range(1, 181):
        walk.advance(ANCHOR + second)
        prices.append(walk.ticks)

    minutes = [bar[0] for bar in walk.bars]
    assert minutes == sorted(set(minutes))
    for minute, first, high, low, last in walk.bars:
        inside = [p for s, p in enumerate(prices, start=ANCHOR + 1) if s // 60 == minute]
        assert (first, high, low, last) == (inside[0], max(inside), min(inside), inside[-1])


def test_volume_is_seeded_whole_lots_between_half_and_one_and_a_half_of_base(
    catalogue: Catalogue,
) -> None:
    infy, future = _item(catalogue, "NSE:INFY"), next(i for i in catalogue if i.lot_size > 1)
    units = [units_per_second(infy, ANCHOR + s, 1) for s in range(500)]

    assert units == [units_per_second(infy, ANCHOR + s, 1) for s in range(500)]
    assert units != [units_per_second(infy, ANCHOR + s, 2) for s in range(500)]
    assert min(units) >= EQUITY_UNITS_PER_SECOND // 2
    assert max(units) <= EQUITY_UNITS_PER_SECOND * 3 // 2
    assert len(set(units)) > 100
    lots = [units_per_second(future, ANCHOR + s, 1) for s in range(100)]
    assert all(value % future.lot_size == 0 and value > 0 for value in lots)


def test_circuit_breaches_are_worded_as_kite_does(catalogue: Catalogue) -> None:
    walk = PriceWalk(1, _item(catalogue, "NSE:INFY"), ANCHOR)
    zero = Decimal(0)

    high = circuit_breach("LIMIT", Decimal("1800"), zero, walk)
    low = circuit_breach("SL-M", zero, Decimal("1400"), walk)

    assert high == (
        "Your order price is higher than the current upper circuit limit of 1738.00. "
        "Place an order within the daily range."
    )
    assert low is not None
    assert low.startswith("Your order trigger price is lower than the current lower circuit")
    assert circuit_breach("LIMIT", Decimal("1600"), zero, walk) is None
    assert circuit_breach("MARKET", zero, zero, walk) is None
