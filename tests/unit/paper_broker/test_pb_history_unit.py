"""Historical candles and ticker packets, read back the way the SDK reads them."""

from __future__ import annotations

import struct
from datetime import datetime, timedelta

import pytest
from kiteconnect import KiteTicker

from paper_broker.clock import IST
from paper_broker.history import History
from paper_broker.instruments import Catalogue, Instrument
from paper_broker.prices import Market, PriceWalk
from paper_broker.ticks import FULL, LTP, QUOTE, frame, packet

ANCHOR_AT = datetime(2026, 12, 7, 10, 0, tzinfo=IST)
ANCHOR = int(ANCHOR_AT.timestamp())


def _item(catalogue: Catalogue, key: str) -> Instrument:
    instrument = catalogue.by_key(key)
    assert instrument is not None
    return instrument


def _history(catalogue: Catalogue, seed: int = 1, key: str = "NSE:INFY") -> History:
    item = _item(catalogue, key)
    walk = Market(seed, ANCHOR).walk(item, ANCHOR)
    return History(item, walk, seed, ANCHOR)


def test_the_past_ends_at_the_reference_price_and_repeats_under_the_seed(
    catalogue: Catalogue,
) -> None:
    start = ANCHOR_AT - timedelta(days=30)
    days = _history(catalogue).candles(start, ANCHOR_AT, "day", oi=False)

    assert days == _history(catalogue).candles(start, ANCHOR_AT, "day", oi=False)
    assert days != _history(catalogue, seed=2).candles(start, ANCHOR_AT, "day", oi=False)
    assert days[-1][4] == 1580
    assert all(datetime.fromisoformat(str(row[0])).weekday() < 5 for row in days)
    for _, opening, high, low, close, volume in days:
        assert low <= min(opening, close) <= max(opening, close) <= high  # type: ignore[operator]
        assert isinstance(volume, int)


def test_minutes_stay_inside_their_day_and_merge_into_longer_candles(
    catalogue: Catalogue,
) -> None:
    history = _history(catalogue)
    start = datetime(2026, 12, 4, 0, 0, tzinfo=IST)
    end = datetime(2026, 12, 4, 23, 59, tzinfo=IST)
    (day,) = history.candles(start, end, "day", oi=False)
    minutes = history.candles(start, end, "minute", oi=False)
    fives = history.candles(start, end, "5minute", oi=True)

    assert len(minutes) == 375
    assert minutes[0][0] == "2026-12-04T09:15:00+0530"
    assert minutes[-1][0] == "2026-12-04T15:29:00+0530"
    assert min(row[3] for row in minutes) >= day[3]  # type: ignore[type-var]
    assert max(row[2] for row in minutes) <= day[2]  # type: ignore[type-var]
    assert len(fives) == 75
    assert fives[1][0] == "2026-12-04T09:20:00+0530"
    assert fives[0][1] == minutes[0][1]
    assert fives[0][4] == minutes[4][4]
    assert fives[0][5] == sum(row[5] for row in minutes[:5])  # type: ignore[misc]
    assert fives[0][6] == 0  # open interest of a stock


def test_live_minutes_come_from_the_walk(catalogue: Catalogue) -> None:
    item = _item(catalogue, "NSE:INFY")
    walk = Market(1, ANCHOR).walk(item, ANCHOR + 300)
    history = History(item, walk, 1, ANCHOR)

    rows = history.candles(ANCHOR_AT, ANCHOR_AT + timedelta(minutes=10), "minute", oi=False)

    assert [row[0] for row in rows][:2] == ["2026-12-07T10:00:00+0530", "2026-12-07T10:01:00+0530"]
    assert rows[-1][4] == walk.price


def _read(catalogue: Catalogue, key: str, mode: str) -> tuple[bytes, dict[str, object]]:
    item = _item(catalogue, key)
    walk: PriceWalk = Market(1, ANCHOR).walk(item, ANCHOR + 5)
    raw = packet(item, walk, mode)
    (tick,) = KiteTicker("key", "token")._parse_binary(frame([raw]))
    return raw, tick


@pytest.mark.parametrize(
    ("key", "mode", "size"),
    [
        ("NSE:INFY", LTP, 8),
        ("NSE:INFY", QUOTE, 44),
        ("NSE:INFY", FULL, 184),
        ("NSE:NIFTY 50", QUOTE, 28),
        ("NSE:NIFTY 50", FULL, 32),
    ],
)
def test_packets_have_kites_sizes_and_parse_in_the_sdk(
    catalogue: Catalogue, key: str, mode: str, size: int
) -> None:
    raw, tick = _read(catalogue, key, mode)

    assert len(raw) == size
    assert tick["instrument_token"] == _item(catalogue, key).instrument_token
    assert tick["mode"] == mode
    assert tick["tradable"] is (key != "NSE:NIFTY 50")


def test_a_full_packet_carries_depth_and_times(catalogue: Catalogue) -> None:
    _, tick = _read(catalogue, "NSE:INFY", FULL)

    depth = tick["depth"]
    assert isinstance(depth, dict)
    assert len(depth["buy"]) == len(depth["sell"]) == 5
    assert depth["buy"][0]["price"] < tick["last_price"] < depth["sell"][0]["price"]  # type: ignore[operator]
    moment = tick["exchange_timestamp"]
    assert isinstance(moment, datetime)
    assert moment.timestamp() == ANCHOR + 5  # the SDK reads it as a naive local time


def test_a_frame_counts_its_packets() -> None:
    assert frame([b"\x01" * 8, b"\x02" * 8])[:2] == struct.pack(">H", 2)
