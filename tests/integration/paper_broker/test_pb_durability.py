"""`order-service paper-broker --state-file` killed (SIGKILL or SIGTERM) and started again.

The broker runs as its own process, driven by the official SDK: whatever it acknowledged before
the signal is there after the restart, the session still works, and no id is handed out twice.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from kiteconnect import KiteConnect

from tests.integration.paper_broker.conftest import Paper
from tests.moments import PAPER_CLOCK_START

START_TIMEOUT_SECONDS = 30.0
# Below INFY's price but inside the day's band: it rests for as long as a test runs.
RESTING_PRICE = 1450


class Process:
    """One run of the paper broker's command on a state file."""

    def __init__(self, state_file: Path) -> None:
        self.port = _free_port()
        command = [
            str(Path(sys.executable).parent / "order-service"), "paper-broker",
            "--port", str(self.port), "--state-file", str(state_file), "--seed", "7",
            "--clock-start", PAPER_CLOCK_START.isoformat(), "--no-rate-limits",
        ]  # fmt: skip
        # A file, not a pipe: a pipe nobody reads could fill up and stall the broker.
        self.log = state_file.with_name(f"broker-{self.port}.log")
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own entry point, fixed arguments
                command, stdout=subprocess.DEVNULL, stderr=log
            )
        self.paper = Paper(f"http://127.0.0.1:{self.port}")
        self._wait_until_serving()

    def _wait_until_serving(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self._stderr()
            try:
                requests.get(f"{self.paper.url}/_admin/state", timeout=1).raise_for_status()
                return
            except requests.ConnectionError:
                time.sleep(0.05)
        raise AssertionError(f"the paper broker did not start: {self._stderr()}")

    def _stderr(self) -> str:
        self.process.kill()
        self.process.wait(10)
        return self.log.read_text()

    def stop(self, signal_number: int) -> None:
        os.kill(self.process.pid, signal_number)
        self.process.wait(15)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def runs() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for run in started:
        if run.process.poll() is None:
            run.stop(signal.SIGKILL)


def start(runs: list[Process], state_file: Path) -> Process:
    run = Process(state_file)
    runs.append(run)
    return run


def books(kite: KiteConnect) -> dict[str, Any]:
    """What the SDK reads of the account; prices move, so positions keep their quantities only."""
    positions = [
        {name: row[name] for name in ("tradingsymbol", "product", "quantity", "average_price",
                                      "buy_quantity", "buy_value", "sell_quantity")}
        for row in kite.positions()["net"]
    ]  # fmt: skip
    equity = kite.margins()["equity"]
    return {
        "orders": kite.orders(),
        "trades": kite.trades(),
        "positions": positions,
        "funds": (equity["available"]["cash"], equity["utilised"]["debits"]),
        "gtts": kite.get_gtts(),
    }


def place_gtt(kite: KiteConnect) -> str:
    return str(kite.place_gtt(
        trigger_type=kite.GTT_TYPE_SINGLE, tradingsymbol="INFY", exchange="NSE",
        trigger_values=[RESTING_PRICE], last_price=Paper.ltp(kite),
        orders=[{"transaction_type": "BUY", "quantity": 1, "order_type": "LIMIT",
                 "product": "CNC", "price": RESTING_PRICE}],
    )["trigger_id"])  # fmt: skip


@pytest.mark.parametrize("signal_number", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "term"])
def test_a_killed_broker_restarts_with_everything_it_acknowledged(
    tmp_path: Path, runs: list[Process], signal_number: int
) -> None:
    state_file = tmp_path / "paper.json"
    first = start(runs, state_file)
    kite = first.paper.login()
    filled = Paper.place_market(kite, quantity=3)
    resting = Paper.place_limit(kite, RESTING_PRICE)
    gtt = place_gtt(kite)
    before = books(kite)
    last = Paper.place_limit(kite, RESTING_PRICE, tag="last")
    first.stop(signal_number)  # right after the acknowledgement

    second = start(runs, state_file)
    kite.root = second.paper.url  # the session opened before the signal
    after = books(kite)

    assert [row["status"] for row in before["orders"]] == ["COMPLETE", "OPEN"]
    assert after["orders"][:-1] == before["orders"]
    assert (after["orders"][-1]["order_id"], after["orders"][-1]["status"]) == (last, "OPEN")
    for name in ("trades", "positions", "gtts"):
        assert after[name] == before[name], name
    assert after["funds"][0] == before["funds"][0]
    fresh = second.paper.login()
    assert fresh.cancel_order("regular", resting) == resting
    new_order = Paper.place_market(fresh)
    assert new_order not in {filled, resting, last}
    old_trades = {row["trade_id"] for row in before["trades"]}
    assert {row["trade_id"] for row in fresh.order_trades(new_order)}.isdisjoint(old_trades)
    assert place_gtt(fresh) != gtt


def test_a_clean_stop_leaves_an_empty_journal_beside_the_snapshot(
    tmp_path: Path, runs: list[Process]
) -> None:
    state_file = tmp_path / "paper.json"
    first = start(runs, state_file)
    Paper.place_market(first.paper.login())
    journal = state_file.with_name("paper.json.journal")
    written = journal.stat().st_size

    first.stop(signal.SIGTERM)

    assert written > 0
    assert journal.stat().st_size == 0
    assert start(runs, state_file).paper.state()["orders"][0]["status"] == "COMPLETE"


def test_a_reset_starts_over_without_reusing_ids(paper: Paper, kite: KiteConnect) -> None:
    before = Paper.place_market(kite)

    paper.post("reset", {})

    assert Paper.place_market(paper.login()) != before
