"""The SDK's candles become exact Candles; a candle no chart can hold refuses the reply."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from order_service.adapters.broker.history_parsing import candles
from order_service.errors import DataFormatError

IST = timezone(timedelta(hours=5, minutes=30))
AT = datetime(2026, 1, 5, 9, 15, tzinfo=IST)


def row(**overrides: Any) -> dict[str, Any]:
    return {"date": AT, "open": 1500.05, "high": 1502.4, "low": 1499, "close": 1501.1,
            "volume": 1200, **overrides}  # fmt: skip


def test_a_candle_is_exact_with_its_offset_and_open_interest_when_given() -> None:
    (plain, with_oi) = candles([row(), row(oi=3400)])
    assert (plain.open, plain.high, plain.low, plain.close) == (
        Decimal("1500.05"), Decimal("1502.4"), Decimal(1499), Decimal("1501.1"),
    )  # fmt: skip
    assert (plain.at, plain.volume, plain.oi, with_oi.oi) == (AT, 1200, None, 3400)
    assert candles([row(date=AT.astimezone(UTC))])[0].at == AT


def test_a_price_below_zero_is_a_price() -> None:
    (crude,) = candles([row(open=17.73, high=17.85, low=-40.32, close=-37.63)])
    assert (crude.low, crude.close) == (Decimal("-40.32"), Decimal("-37.63"))


@pytest.mark.parametrize(
    "bad",
    [
        row(date=AT.replace(tzinfo=None)),  # no offset
        row(date="2026-01-05T09:15:00+0530"),  # not parsed by the SDK: not a date
        row(open="NaN"),
        row(close=float("inf")),
        row(high=True),
        row(low=1503),  # above the high
        row(close=1490),  # below the low
        row(open=1510),  # above the high
        row(volume=10.5),
        row(volume=-1),
        row(volume=None),
        row(oi=-5),
        {k: v for k, v in row().items() if k != "close"},
    ],
)
def test_a_candle_no_chart_can_hold_refuses_the_whole_reply(bad: dict[str, Any]) -> None:
    with pytest.raises(DataFormatError):
        candles([row(), bad])


def test_a_reply_that_is_not_a_list_is_refused() -> None:
    with pytest.raises(DataFormatError):
        candles({"candles": []})
