"""The state file carries users, sessions, orders, trades and positions across restarts."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests
from kiteconnect import KiteConnect

from paper_broker import PaperBrokerConfig, PaperBrokerServer


def test_state_survives_a_restart(tmp_path: Path) -> None:
    config = PaperBrokerConfig(port=0, rate_limits=False, state_file=tmp_path / "paper.json")
    first = PaperBrokerServer(config)
    url = first.start()
    kite = KiteConnect("paper", root=url)
    location = requests.get(
        f"{url}/connect/login", params={"api_key": "paper"}, allow_redirects=False, timeout=5
    ).headers["location"]
    kite.generate_session(parse_qs(urlsplit(location).query)["request_token"][0], "paper-secret")
    filled = kite.place_order(
        variety="regular", exchange="NSE", tradingsymbol="INFY", transaction_type="BUY",
        quantity=2, product="CNC", order_type="MARKET", market_protection=-1,
    )  # fmt: skip
    resting = kite.place_order(
        variety="regular", exchange="NSE", tradingsymbol="SBIN", transaction_type="BUY",
        quantity=1, product="CNC", order_type="LIMIT", price=900,
    )  # fmt: skip
    before = {
        "orders": kite.orders(),
        "trades": kite.trades(),
        "positions": kite.positions(),
        "margins": kite.margins(),
    }
    first.stop()
    assert config.state_file is not None
    assert config.state_file.exists()

    second = PaperBrokerServer(config)
    kite.root = second.start()
    try:
        assert kite.orders() == before["orders"]
        assert kite.trades() == before["trades"]
        assert kite.margins() == before["margins"]
        assert kite.positions()["net"][0]["quantity"] == 2
        assert len(kite.order_history(filled)) == 5
        assert kite.cancel_order("regular", resting) == resting
        assert kite.place_order(
            variety="regular", exchange="NSE", tradingsymbol="INFY", transaction_type="SELL",
            quantity=2, product="CNC", order_type="MARKET", market_protection=-1,
        ) not in {filled, resting}  # fmt: skip
    finally:
        second.stop()
