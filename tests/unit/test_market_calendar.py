"""The shipped market calendar: sessions and holidays by exchange, read strictly."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from order_service.adapters.calendar_file import load_market_calendar
from order_service.errors import ConfigurationError


def test_the_shipped_calendar_is_dated_cited_and_knows_the_year_s_holidays() -> None:
    calendar = load_market_calendar()

    assert calendar.effective_from == date(2026, 1, 1)
    assert "NSE" in calendar.source
    monday_morning = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)  # 09:30 IST
    assert calendar.is_open("NSE", monday_morning)
    assert calendar.is_open("NFO", monday_morning)
    assert not calendar.is_open("NSE", datetime(2026, 12, 25, 5, 0, tzinfo=UTC))  # Christmas
    assert not calendar.is_open("NSE", datetime(2026, 11, 30, 3, 30, tzinfo=UTC))  # 09:00 IST
    assert calendar.is_open("MCX", datetime(2026, 11, 30, 15, 0, tzinfo=UTC))  # 20:30 IST
    assert calendar.holidays["BFO"] == calendar.holidays["NSE"]


@pytest.mark.parametrize(
    "text",
    [
        "not toml at all [",
        'effective_from = "2026-01-01"\nsource = "x"\n[sessions]\n[holidays]\n',
        'effective_from = 2026-01-01\nsource = "x"\n[sessions]\nNSE = ["15:30", "09:15"]\n'
        "[holidays]\n",
        'effective_from = 2026-01-01\nsource = "x"\n[sessions]\nNSE = ["09:15", "15:30"]\n'
        '[holidays]\nNSE = ["Diwali"]\n',
    ],
    ids=["not-toml", "undated", "closing-before-opening", "holiday-not-a-date"],
)
def test_a_broken_calendar_file_refuses_the_start(tmp_path: Path, text: str) -> None:
    path = tmp_path / "calendar.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigurationError) as refusal:
        load_market_calendar(path)
    assert refusal.value.details["file"] == str(path)
