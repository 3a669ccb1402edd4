"""The SDK's KiteTicker against a paper broker, printing what it receives as JSON lines.

Twisted's reactor can run only once per process, so the ticker tests start this script in a
subprocess: `python pb_ticker_client.py ROOT API_KEY ACCESS_TOKEN ORDER_UPDATES`. It stops once
it has seen that many order updates and a tick from each subscribed token, or after 20 s.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from kiteconnect import KiteTicker
from twisted.internet import reactor

INFY, NIFTY = 408065, 256265
TIMEOUT_SECONDS = 20


def main() -> None:
    root, api_key, access_token, wanted = sys.argv[1:5]
    ticker = KiteTicker(api_key, access_token, root=root, reconnect=False)
    orders: list[Any] = []
    tokens: set[int] = set()

    def emit(kind: str, data: Any) -> None:
        print(json.dumps({"kind": kind, "data": data}, default=str), flush=True)

    def done() -> None:
        if len(orders) >= int(wanted) and tokens >= {INFY, NIFTY} and reactor.running:
            reactor.stop()

    def on_connect(ws: KiteTicker, response: Any) -> None:
        ws.subscribe([INFY, NIFTY])
        ws.set_mode(ws.MODE_FULL, [INFY])
        emit("connected", None)

    def on_ticks(ws: KiteTicker, ticks: list[dict[str, Any]]) -> None:
        tokens.update(tick["instrument_token"] for tick in ticks)
        emit("ticks", ticks)
        done()

    def on_order_update(ws: KiteTicker, data: dict[str, Any]) -> None:
        orders.append(data)
        emit("order", data)
        done()

    def on_close(ws: KiteTicker, code: Any, reason: Any) -> None:
        emit("close", [code, str(reason)])
        if reactor.running:
            reactor.stop()

    ticker.on_connect, ticker.on_ticks = on_connect, on_ticks
    ticker.on_order_update, ticker.on_close = on_order_update, on_close
    reactor.callLater(TIMEOUT_SECONDS, reactor.stop)
    ticker.connect()


if __name__ == "__main__":
    main()
