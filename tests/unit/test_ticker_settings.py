"""Where the ticker is: Kite's beside Kite's REST root, the paper broker's at its own root."""

from __future__ import annotations

import pytest

from order_service.config import load_settings
from order_service.errors import ConfigurationError


@pytest.mark.parametrize(
    ("values", "root"),
    [
        ({}, "ws://127.0.0.1:8001"),
        ({"paper_broker_port": 9100}, "ws://127.0.0.1:9100"),
        ({"kite_root": "http://paper.internal:8001/"}, "ws://paper.internal:8001"),
        ({"kite_root": "https://paper.example.org"}, "wss://paper.example.org"),
        ({"kite_root": "https://api.kite.trade"}, "wss://ws.kite.trade"),
        ({"mode": "production"}, "wss://ws.kite.trade"),
        ({"kite_ticker_root": "ws://127.0.0.1:9200/"}, "ws://127.0.0.1:9200"),
    ],
)
def test_the_ticker_root_follows_the_broker(values: dict[str, object], root: str) -> None:
    assert load_settings(**values).broker_ticker_root == root


def test_a_ticker_root_that_is_no_websocket_url_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="KITE_TICKER_ROOT"):
        load_settings(kite_ticker_root="https://ws.kite.trade")
