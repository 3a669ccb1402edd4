"""A price replay file seen through the unmodified SDK: quotes, a fill, the walk after it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from kiteconnect import KiteConnect

from paper_broker.clock import IST
from paper_broker.errors import ConfigError
from tests.integration.paper_broker.conftest import Paper, start_server
from tests.moments import PAPER_CLOCK_START

# Seconds after the server's start: INFY (walking from 1580) is replayed from 60 to 150.
ROWS = ((60, "1590.00"), (90, "1585.00"), (120, "1569.95"), (150, "1600.00"))


class Replay:
    def __init__(self, start: int, paper: Paper) -> None:
        self.start = start
        self.paper = paper

    def moment(self, offset: int) -> datetime:
        return datetime.fromtimestamp(self.start + offset, IST)

    def go_to(self, offset: int) -> None:
        self.paper.post("clock", {"set": self.moment(offset).isoformat()})


@pytest.fixture
def replay(tmp_path: Path) -> Iterator[Replay]:
    start = int(PAPER_CLOCK_START.timestamp())
    path = tmp_path / "prices.csv"
    lines = [f"{datetime.fromtimestamp(start + s, IST).isoformat()},NSE:INFY,{p}" for s, p in ROWS]
    # A naive timestamp is IST; a second instrument interleaves.
    tcs = [datetime.fromtimestamp(start + s, IST).strftime("%Y-%m-%d %H:%M:%S") for s in (100, 140)]
    tcs_lines = [f"{tcs[0]},NSE:TCS,3456.70", f"{tcs[1]},NSE:TCS,3460"]
    path.write_text("\n".join(["timestamp,instrument,price", *lines[:2], *tcs_lines, *lines[2:]]))
    server = start_server(price_replay=path)
    try:
        yield Replay(start, Paper(server.url))
    finally:
        server.stop()


def test_quotes_follow_the_file_and_the_walk_resumes_after_it(replay: Replay) -> None:
    kite = replay.paper.login()
    seen = []
    for offset in (75, 95, 120, 125, 150):
        replay.go_to(offset)
        seen.append((Paper.ltp(kite), Paper.ltp(kite, "NSE:TCS")))
    replay.go_to(1_000)
    after = [Paper.ltp(kite)]
    for _ in range(3):
        replay.paper.advance(600)
        after.append(Paper.ltp(kite))

    infy, tcs = zip(*seen, strict=True)
    assert infy == (1590.0, 1585.0, 1569.95, 1569.95, 1600.0)
    assert tcs[2:4] == (3456.7, 3456.7)
    assert len(set(after)) > 1
    assert all(abs(price - 1600) < 80 for price in after)


def test_a_limit_order_fills_exactly_when_the_replay_crosses_it(replay: Replay) -> None:
    kite: KiteConnect = replay.paper.login()
    order_id = Paper.place_limit(kite, 1570.0)
    replay.go_to(119)
    assert kite.order_history(order_id)[-1]["status"] == "OPEN"

    replay.go_to(130)

    assert kite.order_history(order_id)[-1]["status"] == "COMPLETE"
    (trade,) = kite.order_trades(order_id)
    assert trade["average_price"] == 1570.0
    assert trade["fill_timestamp"] == replay.moment(120).replace(tzinfo=None)


def test_a_bad_file_stops_the_start_naming_its_line(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text("timestamp,instrument,price\n2026-12-07 10:00:00,NSE:INFY,1600.02\n")

    with pytest.raises(ConfigError, match=r"line 2: the price 1600\.02 is not a multiple"):
        start_server(price_replay=path)
