"""The paper broker's clock: wall time plus an offset the admin API moves, in IST."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from datetime import time as time_of_day

IST = timezone(timedelta(hours=5, minutes=30), "IST")
SESSION_OPEN = time_of_day(9, 15)
SESSION_CLOSE = time_of_day(15, 30)
TOKEN_EXPIRY = time_of_day(6, 0)


class Clock:
    """Wall time shifted by `offset_seconds`; `real` mode also keeps NSE session hours."""

    def __init__(
        self,
        mode: str = "simulated",
        wall: Callable[[], float] = time.time,
        start: datetime | None = None,
    ) -> None:
        self.mode = mode
        self.offset_seconds = 0.0
        self._wall = wall
        if start is not None:
            self.set(start)

    def timestamp(self) -> float:
        return self._wall() + self.offset_seconds

    def second(self) -> int:
        return int(self.timestamp())

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), IST)

    def advance(self, seconds: float) -> None:
        self.offset_seconds += seconds

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("the clock needs a timezone-aware moment")
        self.offset_seconds = moment.timestamp() - self._wall()

    def is_market_open(self) -> bool:
        return self.mode == "simulated" or is_session_open(self.now())


def is_session_open(moment: datetime) -> bool:
    """Whether NSE's normal session runs at `moment` (weekends closed; holidays ignored)."""
    local = moment.astimezone(IST)
    return local.weekday() < 5 and SESSION_OPEN <= local.time() < SESSION_CLOSE


def next_token_expiry(moment: datetime) -> datetime:
    """The first 06:00 IST strictly after `moment`, when Kite access tokens die."""
    local = moment.astimezone(IST)
    expiry = datetime.combine(local.date(), TOKEN_EXPIRY, IST)
    return expiry if expiry > local else expiry + timedelta(days=1)


def second_to_datetime(second: int) -> datetime:
    return datetime.fromtimestamp(second, IST)


def format_timestamp(moment: datetime | None) -> str | None:
    """Kite's naive IST "YYYY-MM-DD HH:MM:SS"."""
    if moment is None:
        return None
    return moment.astimezone(IST).strftime("%Y-%m-%d %H:%M:%S")


def format_time(moment: datetime) -> str:
    return moment.astimezone(IST).strftime("%H:%M:%S")


def last_weekday_of_month(year: int, month: int, weekday: int) -> date:
    """The last `weekday` (Monday=0) of a month."""
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    last_day = first_of_next - timedelta(days=1)
    return last_day - timedelta(days=(last_day.weekday() - weekday) % 7)


def monthly_expiries(today: date, count: int = 2) -> list[date]:
    """NSE monthly expiries (last Tuesday since Sept 2025) from `today` on, holidays ignored."""
    expiries: list[date] = []
    year, month = today.year, today.month
    while len(expiries) < count:
        expiry = last_weekday_of_month(year, month, weekday=1)
        if expiry >= today:
            expiries.append(expiry)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return expiries


def parse_moment(raw: str) -> datetime:
    """Parse an ISO 8601 moment; a naive one is read as IST."""
    moment = datetime.fromisoformat(raw)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=IST)
