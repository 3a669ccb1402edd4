"""The admission rule of the rate budgets: never overfills a window, admits as early as it can."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from order_service.bootstrap import budget_rules
from order_service.config import Settings
from order_service.domain.budget import (
    Bucket,
    Window,
    earliest_admission,
)

TOLERANCE = 1e-6

windows_st = st.lists(
    st.builds(
        Window,
        limit=st.integers(1, 5),
        seconds=st.floats(0.1, 5.0, allow_nan=False, allow_infinity=False),
    ),
    min_size=1,
    max_size=3,
)
MARGIN = Settings().rate_margin_seconds
margins = st.sampled_from([0.0, 0.01, MARGIN])
steps = st.lists(st.floats(0.0, 2.0, allow_nan=False, allow_infinity=False), max_size=40)


def overfilled(
    times: list[float], windows: list[Window], margin: float, slack: float = TOLERANCE
) -> bool:
    """Brute force: do some ``limit + 1`` consecutive admissions span less than a window?

    ``slack`` forgives float rounding: positive to accept a time that fits within it, negative
    (see ``blocked``) to accept a time that is refused within it.
    """
    ordered = sorted(times)
    for window in windows:
        width = window.seconds + margin
        for first in range(len(ordered) - window.limit):
            if ordered[first + window.limit] - ordered[first] < width - slack:
                return True
    return False


def blocked(times: list[float], windows: list[Window], margin: float) -> bool:
    return overfilled(times, windows, margin, slack=-TOLERANCE)


def admit_all(arrivals: list[float], windows: list[Window], margin: float) -> list[float]:
    """Reserve a slot for each arrival in turn, as a budget does, and check each answer."""
    admitted: list[float] = []
    now = 0.0
    for step in arrivals:
        now += step
        at = earliest_admission(admitted, now, windows, margin)
        assert at >= now
        assert not overfilled([*admitted, at], windows, margin)
        admitted.append(at)
    return admitted


@given(steps, windows_st, margins)
def test_no_window_ever_holds_more_than_its_limit(
    arrivals: list[float], windows: list[Window], margin: float
) -> None:
    admitted = admit_all(arrivals, windows, margin)

    assert not overfilled(admitted, windows, 0.0)  # the broker's own windows, without margin


@given(steps, windows_st, margins, st.lists(st.floats(0.0, 1.0), min_size=1, max_size=5))
def test_no_earlier_time_would_have_fitted(
    arrivals: list[float], windows: list[Window], margin: float, fractions: list[float]
) -> None:
    admitted = admit_all(arrivals[:-1], windows, margin)
    now = sum(arrivals)
    at = earliest_admission(admitted, now, windows, margin)

    latest_earlier = at - 2 * TOLERANCE
    for fraction in [0.0, 1.0, *fractions]:
        earlier = now + (latest_earlier - now) * fraction
        if now <= earlier <= latest_earlier:
            assert blocked([*admitted, earlier], windows, margin), (earlier, at)


@given(
    st.lists(st.floats(0.0, 10.0, allow_nan=False), max_size=30),
    st.floats(0.0, 10.0, allow_nan=False),
    windows_st,
    margins,
)
def test_a_gap_between_future_reservations_is_used(
    candidates: list[float], now: float, windows: list[Window], margin: float
) -> None:
    """Any valid set of reservations, some of them ahead of ``now``: the answer still fits."""
    admitted: list[float] = []
    for time in candidates:
        if not overfilled([*admitted, time], windows, margin):
            admitted.append(time)

    at = earliest_admission(admitted, now, windows, margin)

    assert at >= now
    assert not overfilled([*admitted, at], windows, margin)
    if at - now > 2 * TOLERANCE:
        assert blocked([*admitted, now], windows, margin)
        assert blocked([*admitted, at - 2 * TOLERANCE], windows, margin)


@settings(max_examples=25)
@given(st.integers(1, 30))
def test_a_burst_is_paced_by_the_margin_widened_second(burst: int) -> None:
    admitted = admit_all([0.0] * burst, [Window(10, 1.0)], 0.05)

    assert admitted == [1.05 * (index // 10) for index in range(burst)]


def test_every_window_of_the_orders_bucket_applies() -> None:
    windows = [Window(2, 1.0), Window(3, 60.0)]

    admitted = admit_all([0.0] * 4, windows, 0.0)

    assert admitted == [0.0, 0.0, 1.0, 60.0]


def test_the_default_rules_are_kites() -> None:
    rules = budget_rules(Settings())

    assert rules.of(Bucket.ORDERS) == (Window(10, 1.0), Window(400, 60.0), Window(5000, 86_400.0))
    assert rules.of(Bucket.OTHER) == (Window(10, 1.0),)
    assert rules.of(Bucket.QUOTES) == (Window(1, 1.0),)
    assert rules.of(Bucket.HISTORICAL) == (Window(3, 1.0),)
    assert rules.margin == MARGIN == 0.05
    assert rules.horizon(Bucket.ORDERS) == 86_400.0 + MARGIN


@pytest.mark.parametrize(("limit", "seconds"), [(0, 1.0), (1, 0.0), (-1, 1.0)])
def test_a_window_needs_a_positive_limit_and_length(limit: int, seconds: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        Window(limit, seconds)
