"""Historical candles over HTTP, against the paper broker through the real SDK: a range longer
than one Kite request allows (which the broker refuses whole) is answered in full, candle for
candle as the SDK reads its spans directly."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from kiteconnect.exceptions import InputException

from order_service.domain.account import IST
from tests.e2e.harness import ServiceThread, error_body
from tests.e2e.test_e2e_books import kite_of

PATH = "/api/v1/historical/NSE/INFY"


def _direct(kite: Any, token: int, start: datetime, end: datetime) -> list[dict[str, Any]]:
    return list(kite.historical_data(token, start, end, "day"))


def test_a_range_longer_than_one_request_is_read_in_spans_and_joined(
    api: httpx.Client, service: ServiceThread, paper: str
) -> None:
    kite = kite_of(service, paper, "PAPER1")
    # The paper broker's own clock (the SDK reads Kite's IST timestamps without their zone).
    now = kite.quote(["NSE:INFY"])["NSE:INFY"]["timestamp"].replace(tzinfo=IST)
    token = kite.ltp(["NSE:INFY"])["NSE:INFY"]["instrument_token"]
    start = (now - timedelta(days=2100)).replace(hour=0, minute=0, second=0, microsecond=0)
    end = (now - timedelta(days=1)).replace(hour=23, minute=59, second=59, microsecond=0)
    with pytest.raises(InputException):
        _direct(kite, token, start, end)  # day candles: at most 2,000 days a request
    middle = start + timedelta(days=1999)  # ours: a day short of Kite's span
    expected = [
        *_direct(kite, token, start, middle),
        *_direct(kite, token, middle + timedelta(seconds=1), end),
    ]
    assert len(expected) > 1000

    params = {"account_id": "PAPER1", "interval": "day",
              "from": start.isoformat(), "to": end.isoformat()}  # fmt: skip
    answer = api.get(PATH, params=params, timeout=60)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["instrument_token"], body["requests"]) == (token, 2)
    got = body["candles"]
    assert [datetime.fromisoformat(c["date"]) for c in got] == [c["date"] for c in expected]
    assert [Decimal(c["close"]) for c in got] == [Decimal(str(c["close"])) for c in expected]
    assert [c["volume"] for c in got] == [c["volume"] for c in expected]


def test_a_range_from_after_to_is_refused_without_a_broker_call(api: httpx.Client) -> None:
    params = {"account_id": "PAPER1", "interval": "day", "from": "2026-01-06", "to": "2026-01-05"}
    error = error_body(api.get(PATH, params=params), 422, "INVALID_INPUT")
    assert "after" in error["message"]
