"""Price replay files: parsing and checking, and the market following a tape then walking on."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from paper_broker.clock import IST, Clock
from paper_broker.engine import Exchange
from paper_broker.errors import ConfigError
from paper_broker.instruments import Catalogue, Instrument
from paper_broker.prices import DAY_SECONDS, Market
from paper_broker.replay import Tape, load_tapes
from paper_broker.validation import parse_place

if TYPE_CHECKING:
    from conftest import FakeWall

HEADER = "timestamp,instrument,price\n"
# The conftest clock's start: a Monday inside the NSE session.
START = datetime(2026, 12, 7, 10, 0, 0, tzinfo=IST)
ANCHOR = int(START.timestamp())
TICK = Decimal("0.05")


def write(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "replay.csv"
    path.write_text(header + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return path


def at(offset: int) -> str:
    """The naive IST timestamp `offset` seconds after the start."""
    return (START + timedelta(seconds=offset)).strftime("%Y-%m-%d %H:%M:%S")


def infy(catalogue: Catalogue) -> Instrument:
    item = catalogue.by_key("NSE:INFY")
    assert item is not None
    return item


def tape(*rows: tuple[int, str]) -> Tape:
    return Tape(
        seconds=tuple(ANCHOR + offset for offset, _ in rows),
        ticks=tuple(int(Decimal(price) / TICK) for _, price in rows),
    )


def replaying(catalogue: Catalogue, *rows: tuple[int, str], seed: int = 3) -> Market:
    return Market(seed, ANCHOR, {infy(catalogue).instrument_token: tape(*rows)})


def test_a_file_becomes_one_tape_per_instrument(tmp_path: Path, catalogue: Catalogue) -> None:
    path = write(
        tmp_path,
        f"{at(10)},NSE:INFY,1600.05",
        "2026-12-07T10:00:20+05:30,NSE:TCS,3500",
        "2026-12-07T04:30:30Z,NSE:INFY,1601",
        f"{at(40)}.200,NSE:INFY,1602",
        f"{at(40)}.700,NSE:INFY,1603.50",
        "",
    )

    tapes = load_tapes(path, catalogue)

    tcs = catalogue.by_key("NSE:TCS")
    assert tcs is not None
    assert tapes[infy(catalogue).instrument_token] == Tape(
        seconds=(ANCHOR + 10, ANCHOR + 30, ANCHOR + 40), ticks=(32001, 32020, 32070)
    )
    assert tapes[tcs.instrument_token] == Tape(seconds=(ANCHOR + 20,), ticks=(70000,))


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ((f"{at(1)},NSE:NOPE,10",), "line 2: unknown instrument 'NSE:NOPE'"),
        ((f"{at(1)},NSE:INFY,1600", f"{at(2)},NSE:INFY,abc"), "line 3: unparseable price 'abc'"),
        ((f"{at(1)},NSE:INFY,-5",), "line 2: the price '-5' is out of range"),
        (("yesterday,NSE:INFY,1600",), "line 2: unparseable timestamp 'yesterday'"),
        (
            (f"{at(5)},NSE:INFY,1600", f"{at(6)},NSE:TCS,3500", f"{at(5)},NSE:INFY,1601"),
            "line 4: 2026-12-07T10:00:05+05:30 is not after the previous row of NSE:INFY",
        ),
        ((f"{at(1)},NSE:INFY,1600.03",), "line 2: the price 1600.03 is not a multiple of the tick"),
        ((f"{at(1)},NSE:INFY",), "line 2: expected 3 columns, found 2"),
    ],
)
def test_a_bad_row_is_refused_naming_its_line(
    tmp_path: Path, catalogue: Catalogue, rows: tuple[str, ...], message: str
) -> None:
    path = write(tmp_path, *rows)

    with pytest.raises(ConfigError, match=re.escape(f"{path}, {message}")):
        load_tapes(path, catalogue)


def test_a_wrong_header_or_a_missing_file_is_refused(tmp_path: Path, catalogue: Catalogue) -> None:
    with pytest.raises(ConfigError, match="line 1: the header must be timestamp,instrument,price"):
        load_tapes(write(tmp_path, header="time,symbol,ltp\n"), catalogue)
    with pytest.raises(ConfigError, match="Cannot read the price replay file"):
        load_tapes(tmp_path / "missing.csv", catalogue)
    (tmp_path / "latin.csv").write_bytes(b"timestamp,instrument,price\n\xff\n")
    with pytest.raises(ConfigError, match="is not a UTF-8 CSV"):
        load_tapes(tmp_path / "latin.csv", catalogue)


def test_quotes_follow_the_tape_step_held_and_the_walk_before_it(catalogue: Catalogue) -> None:
    market = replaying(catalogue, (100, "1600.00"), (130, "1590.50"), (131, "1611.25"))
    walked = Market(3, ANCHOR)
    item = infy(catalogue)

    before = [market.price(item, ANCHOR + second) for second in (0, 50, 99)]
    replayed = [market.price(item, ANCHOR + second) for second in (100, 115, 129, 130, 131)]

    assert before == [walked.price(item, ANCHOR + second) for second in (0, 50, 99)]
    assert replayed == [Decimal(p) for p in ("1600", "1600", "1600", "1590.50", "1611.25")]


def test_after_the_tape_the_walk_goes_on_from_the_last_replayed_price(
    catalogue: Catalogue,
) -> None:
    market = replaying(catalogue, (10, "1600.00"), (20, "1620.00"))
    reference = Market(3, ANCHOR)
    item = infy(catalogue)
    reference.set_price(item, Decimal("1620.00"), ANCHOR + 20)

    after = [market.price(item, ANCHOR + second) for second in range(21, 400, 9)]

    assert after == [reference.price(item, ANCHOR + second) for second in range(21, 400, 9)]
    assert len(set(after)) > 5
    assert after == [
        replaying(catalogue, (10, "1600.00"), (20, "1620.00")).price(item, ANCHOR + second)
        for second in range(21, 400, 9)
    ]


def test_a_tape_begun_at_the_start_sets_the_opening_price_and_band(catalogue: Catalogue) -> None:
    walk = replaying(catalogue, (-60, "1650.00"), (60, "1655.00")).walk(infy(catalogue), ANCHOR)

    assert walk.price == Decimal("1650.00")
    assert walk.close * walk.tick == Decimal("1650.00")
    assert walk.upper * walk.tick == Decimal("1815.00")


def test_a_jump_of_days_over_the_end_of_the_tape_resumes_from_it(catalogue: Catalogue) -> None:
    market = replaying(catalogue, (0, "1700.00"), (DAY_SECONDS, "2000.00"))

    price = market.price(infy(catalogue), ANCHOR + 4 * DAY_SECONDS)

    # 1.5 % a day of volatility stays far inside 2000 ± 10 %, and far from the walk's 1580.
    assert Decimal(1800) < price < Decimal(2200)


def test_replayed_prices_are_held_inside_the_circuit_band(catalogue: Catalogue) -> None:
    market = replaying(catalogue, (5, "1900.00"), (6, "1200.00"))
    item = infy(catalogue)

    assert market.price(item, ANCHOR + 5) == Decimal("1738.00")
    assert market.price(item, ANCHOR + 6) == Decimal("1422.00")


def replay_exchange(catalogue: Catalogue, clock: Clock, *rows: tuple[int, str]) -> Exchange:
    exchange = Exchange(catalogue, replaying(catalogue, *rows), clock)
    exchange.registry.open_account("U1", Decimal("1000000"))
    return exchange


@pytest.mark.parametrize(
    ("side", "order_type", "terms", "crossing"),
    [
        ("BUY", "LIMIT", {"price": "1570"}, "1569.95"),
        ("SELL", "LIMIT", {"price": "1590"}, "1590.00"),
        ("SELL", "SL-M", {"trigger_price": "1570", "market_protection": "-1"}, "1570.00"),
    ],
)
def test_a_resting_order_reacts_exactly_when_the_replay_crosses_it(
    catalogue: Catalogue,
    clock: Clock,
    wall: FakeWall,
    side: str,
    order_type: str,
    terms: dict[str, str],
    crossing: str,
) -> None:
    exchange = replay_exchange(catalogue, clock, (0, "1580.00"), (30, "1575.00"), (60, crossing))
    form = {"exchange": "NSE", "tradingsymbol": "INFY", "transaction_type": side}
    form |= {"quantity": "5", "product": "MIS", "order_type": order_type, **terms}
    (order_id,) = exchange.place("U1", parse_place(form, "regular", catalogue))
    order = exchange.registry.orders[order_id]

    wall.tick(59)
    exchange.sync()
    assert order.status in {"OPEN", "TRIGGER PENDING"}
    wall.tick(30)
    exchange.sync()

    (trade,) = exchange.registry.order_trades[order_id]
    assert order.status == "COMPLETE"
    assert trade.filled_at.timestamp() == ANCHOR + 60
    assert trade.price == Decimal(terms.get("price", crossing))
