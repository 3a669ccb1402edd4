"""The shipped market calendar (``order_service/data/market_calendar.toml``), or a file like it.

Whatever goes wrong reading it (it cannot be read, is not TOML, a session that is not two
``HH:MM`` times, a holiday that is not a date) is a ``ConfigurationError`` naming the file.
"""

from __future__ import annotations

from datetime import date, time
from pathlib import Path
from typing import Any

from order_service.adapters.data_files import effective_from, load_toml
from order_service.domain.market_calendar import MarketCalendar


def load_market_calendar(path: Path | None = None) -> MarketCalendar:
    """Read the market calendar at ``path`` (default: the packaged file)."""
    return load_toml("market calendar", "market_calendar.toml", path, _calendar)


def _calendar(data: dict[str, Any]) -> MarketCalendar:
    since = effective_from(data)
    sessions = {name: _session(hours) for name, hours in data["sessions"].items()}
    holidays = {name: _days(name, data["holidays"]) for name in data["holidays"]}
    return MarketCalendar(since, str(data["source"]), sessions, holidays)


def _session(hours: object) -> tuple[time, time]:
    if not isinstance(hours, list) or len(hours) != 2:
        raise ValueError(f"a session is two times, not {hours!r}")
    opens, closes = (time.fromisoformat(str(hour)) for hour in hours)
    if opens >= closes:
        raise ValueError(f"a session closing before it opens: {hours!r}")
    return opens, closes


def _days(name: str, holidays: dict[str, Any]) -> frozenset[date]:
    """An exchange's holidays: its own list, or the name of the exchange whose list it keeps."""
    days = holidays[name]
    if isinstance(days, str):
        days = holidays[days]
    if not isinstance(days, list) or not all(isinstance(day, date) for day in days):
        raise TypeError(f"the holidays of {name} are not a list of dates")
    return frozenset(days)
