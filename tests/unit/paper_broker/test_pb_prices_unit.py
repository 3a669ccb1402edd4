"""The seeded random walk: reproducible, read-pattern independent, and watched on every step."""

from __future__ import annotations

from decimal import Decimal

from paper_broker.instruments import Catalogue
from paper_broker.prices import MAX_CATCHUP_STEPS, NEVER_ABOVE, NEVER_BELOW, Market

ANCHOR = 1_700_000_000


def _path(catalogue: Catalogue, seed: int, seconds: list[int]) -> list[Decimal]:
    market = Market(seed, ANCHOR)
    infy = catalogue.by_key("NSE:INFY")
    assert infy is not None
    return [market.price(infy, ANCHOR + second) for second in seconds]


def test_the_same_seed_gives_the_same_prices(catalogue: Catalogue) -> None:
    seconds = list(range(0, 600, 7))

    assert _path(catalogue, 1, seconds) == _path(catalogue, 1, seconds)
    assert _path(catalogue, 1, seconds) != _path(catalogue, 2, seconds)


def test_prices_do_not_depend_on_when_they_are_read(catalogue: Catalogue) -> None:
    every_second = _path(catalogue, 5, list(range(301)))
    sparse = _path(catalogue, 5, [0, 100, 300])

    assert sparse == [every_second[0], every_second[100], every_second[300]]


def test_prices_are_on_the_tick_and_positive(catalogue: Catalogue) -> None:
    for price in _path(catalogue, 9, list(range(0, 20_000, 50))):
        assert price > 0
        assert price % Decimal("0.05") == 0


def test_instruments_walk_independently(catalogue: Catalogue) -> None:
    market = Market(4, ANCHOR)
    infy, tcs = catalogue.by_key("NSE:INFY"), catalogue.by_key("NSE:TCS")
    assert infy is not None
    assert tcs is not None
    alone = Market(4, ANCHOR).price(tcs, ANCHOR + 500)

    market.price(infy, ANCHOR + 500)

    assert market.price(tcs, ANCHOR + 500) == alone


class Recorder:
    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high
        self.fired: list[tuple[int, int]] = []

    def fire(self, ticks: int, second: int) -> None:
        self.fired.append((ticks, second))
        self.low, self.high = NEVER_BELOW, NEVER_ABOVE


def test_a_watcher_sees_the_first_crossing_step(catalogue: Catalogue) -> None:
    infy = catalogue.by_key("NSE:INFY")
    assert infy is not None
    reference = Market(6, ANCHOR)
    path = [reference.walk(infy, ANCHOR + second).ticks for second in range(1, 2001)]
    level = min(path[:1000])
    first = next(index for index, ticks in enumerate(path) if ticks <= level) + 1
    market = Market(6, ANCHOR)
    watcher = Recorder(low=level, high=NEVER_ABOVE)
    market.watchers[infy.instrument_token] = watcher

    market.walk(infy, ANCHOR + 2000)

    assert watcher.fired == [(path[first - 1], ANCHOR + first)]


def test_setting_a_price_fires_the_watcher(catalogue: Catalogue) -> None:
    sbin = catalogue.by_key("NSE:SBIN")
    assert sbin is not None
    market = Market(1, ANCHOR)
    watcher = Recorder(low=NEVER_BELOW, high=int(Decimal("1000") / Decimal("0.05")))
    market.watchers[sbin.instrument_token] = watcher

    market.set_price(sbin, Decimal("999.95"), ANCHOR)
    assert watcher.fired == []
    market.set_price(sbin, Decimal("1000.00"), ANCHOR)

    assert watcher.fired == [(20_000, ANCHOR)]
    assert market.price(sbin, ANCHOR) == Decimal("1000.00")


def test_a_long_gap_walks_at_most_one_day(catalogue: Catalogue) -> None:
    infy = catalogue.by_key("NSE:INFY")
    assert infy is not None
    market = Market(2, ANCHOR)

    walk = market.walk(infy, ANCHOR + 10 * MAX_CATCHUP_STEPS)

    assert walk.steps == MAX_CATCHUP_STEPS
    assert walk.second == ANCHOR + 10 * MAX_CATCHUP_STEPS
