"""Market hours and trading holidays by exchange, and the ``market_closed`` rule.

A regular order sent while its exchange's normal session is shut is refused by Kite ("Markets
are closed right now"); an after-market order (variety ``amo``) is what Kite takes instead,
queued for the next session, so it is never refused here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time

from order_service.domain.position import IST
from order_service.domain.values import Variety
from order_service.errors import RiskCheckFailed

SATURDAY = 5


@dataclass(frozen=True, slots=True)
class MarketCalendar:
    """Each exchange's session (IST open and close) and holidays, in force from
    ``effective_from``; ``source`` cites where they come from."""

    effective_from: date
    source: str
    sessions: Mapping[str, tuple[time, time]]
    holidays: Mapping[str, frozenset[date]]

    def is_open(self, exchange: str, at: datetime) -> bool:
        """True while the exchange's normal session runs (an exchange it lacks: never)."""
        session = self.sessions.get(exchange)
        if session is None:
            return False
        local = at.astimezone(IST)
        if local.weekday() >= SATURDAY or local.date() in self.holidays.get(exchange, ()):
            return False
        return session[0] <= local.time() < session[1]


def check_market_hours(
    calendar: MarketCalendar, exchange: str, variety: Variety, at: datetime
) -> None:
    """Refuse a regular order while its exchange is shut; an AMO waits for the open."""
    if variety is Variety.AMO or calendar.is_open(exchange, at):
        return
    session = calendar.sessions.get(exchange)
    hours = [t.isoformat("minutes") for t in session] if session is not None else None
    raise RiskCheckFailed(
        "market_closed",
        hours,
        at.astimezone(IST).isoformat(timespec="seconds"),
        f"{exchange} is closed now (normal session {hours} IST, weekdays but holidays); "
        "place it as an after-market order (variety amo) to have it sent at the open",
    )
