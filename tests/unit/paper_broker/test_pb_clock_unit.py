"""IST session hours, token expiry and NSE monthly expiries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from paper_broker.clock import (
    IST,
    Clock,
    format_time,
    format_timestamp,
    is_session_open,
    last_weekday_of_month,
    monthly_expiries,
    next_token_expiry,
    parse_moment,
)

if TYPE_CHECKING:
    from conftest import FakeWall


@pytest.mark.parametrize(
    ("moment", "expiry"),
    [
        (datetime(2026, 12, 7, 5, 59, 59, tzinfo=IST), datetime(2026, 12, 7, 6, 0, tzinfo=IST)),
        (datetime(2026, 12, 7, 6, 0, 0, tzinfo=IST), datetime(2026, 12, 8, 6, 0, tzinfo=IST)),
        (datetime(2026, 12, 7, 23, 0, 0, tzinfo=IST), datetime(2026, 12, 8, 6, 0, tzinfo=IST)),
        # 00:45 UTC on the 7th is already 06:15 IST on the 7th.
        (datetime(2026, 12, 7, 0, 45, tzinfo=UTC), datetime(2026, 12, 8, 6, 0, tzinfo=IST)),
        (datetime(2026, 12, 31, 20, 0, tzinfo=IST), datetime(2027, 1, 1, 6, 0, tzinfo=IST)),
    ],
)
def test_tokens_expire_at_the_next_six_am_ist(moment: datetime, expiry: datetime) -> None:
    assert next_token_expiry(moment) == expiry


@pytest.mark.parametrize(
    ("year", "month", "expected"),
    [(2025, 9, date(2025, 9, 30)), (2026, 11, date(2026, 11, 24)), (2026, 12, date(2026, 12, 29))],
)
def test_last_tuesday_of_the_month(year: int, month: int, expected: date) -> None:
    assert last_weekday_of_month(year, month, weekday=1) == expected


def test_monthly_expiries_skip_a_passed_expiry_and_roll_over_the_year() -> None:
    assert monthly_expiries(date(2026, 11, 29)) == [date(2026, 12, 29), date(2027, 1, 26)]
    assert monthly_expiries(date(2026, 11, 24)) == [date(2026, 11, 24), date(2026, 12, 29)]


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        (datetime(2026, 12, 7, 9, 14, 59, tzinfo=IST), False),
        (datetime(2026, 12, 7, 9, 15, tzinfo=IST), True),
        (datetime(2026, 12, 7, 15, 29, 59, tzinfo=IST), True),
        (datetime(2026, 12, 7, 15, 30, tzinfo=IST), False),
        (datetime(2026, 12, 5, 11, 0, tzinfo=IST), False),  # Saturday
        (datetime(2026, 12, 7, 4, 0, tzinfo=UTC), True),  # 09:30 IST
    ],
)
def test_session_hours(moment: datetime, is_open: bool) -> None:
    assert is_session_open(moment) is is_open


def test_the_clock_moves_by_offset(wall: FakeWall) -> None:
    clock = Clock("real", wall=wall)
    start = clock.now()

    clock.advance(3600)
    assert clock.now() - start == timedelta(hours=1)
    clock.set(datetime(2026, 12, 5, 12, 0, tzinfo=IST))
    assert clock.now() == datetime(2026, 12, 5, 12, 0, tzinfo=IST)
    assert not clock.is_market_open()
    wall.tick(1.5)
    assert clock.second() == int(datetime(2026, 12, 5, 12, 0, 1, tzinfo=IST).timestamp())


def test_the_simulated_clock_is_always_in_session(wall: FakeWall) -> None:
    clock = Clock("simulated", wall=wall)
    clock.set(datetime(2026, 12, 5, 23, 0, tzinfo=IST))

    assert clock.is_market_open()


def test_naive_moments_are_refused_or_read_as_ist(clock: Clock) -> None:
    with pytest.raises(ValueError, match="timezone"):
        clock.set(datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test
    assert parse_moment("2026-12-01T09:00:00") == datetime(2026, 12, 1, 9, 0, tzinfo=IST)
    assert parse_moment("2026-12-01T03:30:00+00:00") == datetime(2026, 12, 1, 9, 0, tzinfo=IST)


def test_kite_timestamp_formats() -> None:
    moment = datetime(2026, 12, 1, 3, 30, 5, tzinfo=UTC)

    assert format_timestamp(moment) == "2026-12-01 09:00:05"
    assert format_time(moment) == "09:00:05"
    assert format_timestamp(None) is None
