"""The ticker WebSocket: the SDK's own KiteTicker (in a subprocess) and a plain client."""

from __future__ import annotations

import json
import queue
import struct
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from kiteconnect import KiteConnect
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

if TYPE_CHECKING:
    from conftest import Paper

CLIENT = Path(__file__).with_name("pb_ticker_client.py")
INFY, NIFTY = 408065, 256265


class TickerProcess:
    """pb_ticker_client.py in a subprocess, its JSON lines read on a thread."""

    def __init__(self, root: str, access_token: str, orders: int) -> None:
        args = [sys.executable, str(CLIENT), root, "paper", access_token, str(orders)]
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)  # noqa: S603
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(json.loads(line))

    def until(self, kind: str, timeout: float = 15) -> dict[str, Any]:
        """Wait for a message of `kind`; every message read is kept in `seen`."""
        while True:
            self.seen.append(self.lines.get(timeout=timeout))
            if self.seen[-1]["kind"] == kind:
                return self.seen[-1]

    def finish(self) -> list[dict[str, Any]]:
        """Wait for the client to stop; all it printed."""
        self.process.wait(25)
        self.reader.join(5)
        assert self.process.stdout is not None
        self.process.stdout.close()
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return self.seen


def ws_root(paper: Paper) -> str:
    return paper.url.replace("http://", "ws://")


def test_kite_ticker_reads_order_updates_and_ticks(paper: Paper, kite: KiteConnect) -> None:
    ticker = TickerProcess(ws_root(paper), kite.access_token, orders=2)
    ticker.until("connected")

    filled = paper.place_market(kite)
    resting = paper.place_limit(kite, paper.on_tick(paper.ltp(kite) * 0.95))
    kite.cancel_order("regular", resting)

    seen = ticker.finish()
    updates = [m["data"] for m in seen if m["kind"] == "order"]
    assert [(u["order_id"], u["status"]) for u in updates] == [
        (filled, "COMPLETE"),
        (resting, "CANCELLED"),
    ]
    assert all(update["checksum"] == "" for update in updates)
    ticks = [tick for m in seen if m["kind"] == "ticks" for tick in m["data"]]
    modes = {tick["instrument_token"]: tick["mode"] for tick in ticks}
    assert modes == {INFY: "full", NIFTY: "quote"}
    infy = next(tick for tick in ticks if tick["instrument_token"] == INFY)
    assert len(infy["depth"]["buy"]) == 5
    assert infy["tradable"] is True
    assert ticker.process.returncode == 0


def test_kite_ticker_with_a_bad_token_is_refused(paper: Paper) -> None:
    ticker = TickerProcess(ws_root(paper), "not-a-token", orders=1)

    close = ticker.until("close")

    assert "403" in close["data"][1]
    ticker.finish()
    assert paper.state()["ticker"]["connections"] == 0


def test_a_bad_token_gets_http_403_at_the_handshake(paper: Paper) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{ws_root(paper)}/?api_key=paper&access_token=nope")

    assert refused.value.response.status_code == 403


def _open(paper: Paper, kite: KiteConnect) -> ClientConnection:
    return connect(f"{ws_root(paper)}/?api_key=paper&access_token={kite.access_token}")


def test_modes_unsubscribe_and_heartbeats(paper: Paper, kite: KiteConnect) -> None:
    with _open(paper, kite) as socket:
        socket.send(json.dumps({"a": "subscribe", "v": [INFY]}))
        socket.send(json.dumps({"a": "mode", "v": ["ltp", [INFY]]}))
        frame = socket.recv(timeout=3)
        while len(frame) < 2:  # a heartbeat sent before the subscription landed
            frame = socket.recv(timeout=3)
        assert isinstance(frame, bytes)
        count, length = struct.unpack(">HH", frame[:4])
        assert (count, length) == (1, 8)
        assert struct.unpack(">I", frame[4:8])[0] == INFY

        socket.send(json.dumps({"a": "unsubscribe", "v": [INFY]}))
        frames = [socket.recv(timeout=3) for _ in range(2)]
        assert frames[-1] == b"\x00"


def test_bad_messages_get_an_error_frame(paper: Paper, kite: KiteConnect) -> None:
    with _open(paper, kite) as socket:
        socket.send("not json")
        reply = socket.recv(timeout=3)
        while isinstance(reply, bytes):
            reply = socket.recv(timeout=3)

        assert json.loads(reply) == {"type": "error", "data": "Invalid message."}
        assert paper.state()["ticker"]["connections"] == 1
