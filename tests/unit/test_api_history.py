"""Historical candles through the API: a range longer than Kite answers in one request is read
as several and joined; a bad range, name or account is refused before anything is read."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import httpx
import pytest
import pytest_asyncio

from order_service.domain.account import IST
from order_service.domain.history import MAX_CANDLES, Candle, Interval
from order_service.domain.instrument import Instrument
from order_service.entrypoints.api.app import create_app
from order_service.errors import RateLimitError
from tests.factories import ACCOUNT, OTHER_ACCOUNT
from tests.unit.answers import body, refused
from tests.unit.conftest import World, add_trader, api_client

pytestmark = pytest.mark.asyncio
TOKEN = 408065
PATH = "/api/v1/historical/NSE/INFY"
START = datetime(2026, 1, 5, 9, 15, tzinfo=IST)


def candle(at: datetime, close: str = "1500.05") -> Candle:
    price = Decimal(close)
    return Candle(at, price - 1, price + 2, price - 3, price, 1200, None)


@pytest_asyncio.fixture
async def master(world: World) -> None:
    world.broker.instrument_list = [
        Instrument("NSE", "INFY", TOKEN, "INFOSYS", "EQ", "NSE", Decimal("0.05"), 1)
    ]
    assert await world.services.instruments.refresh_if_due() == 1


def ask(interval: str, start: str, end: str, **extra: object) -> dict[str, object]:
    return {"account_id": ACCOUNT, "interval": interval, "from": start, "to": end, **extra}


async def test_a_days_candles_are_exact_and_say_which_instrument(
    world: World, trader_api: httpx.AsyncClient, master: None
) -> None:
    world.broker.candles[TOKEN] = [candle(START), candle(START + timedelta(minutes=1), "1501.10")]

    answer = body(await trader_api.get(PATH, params=ask("minute", "2026-01-05", "2026-01-05")))

    assert (answer["exchange"], answer["tradingsymbol"], answer["instrument_token"]) == (
        "NSE", "INFY", TOKEN,
    )  # fmt: skip
    assert (answer["interval"], answer["requests"]) == ("minute", 1)
    assert answer["from"] == "2026-01-05T00:00:00+05:30"
    assert answer["to"] == "2026-01-05T23:59:59+05:30"
    first, second = answer["candles"]
    assert first == {"date": "2026-01-05T09:15:00+05:30", "open": "1499.05", "high": "1502.05",
                     "low": "1497.05", "close": "1500.05", "volume": 1200, "oi": None}  # fmt: skip
    assert second["close"] == "1501.10"
    (sent,) = world.broker.candle_requests
    assert (sent.instrument_token, sent.interval, sent.oi) == (TOKEN, Interval.MINUTE, False)


async def test_a_long_range_is_read_in_spans_kite_answers_and_joined_once(
    world: World, trader_api: httpx.AsyncClient, master: None
) -> None:
    days = [START + timedelta(days=n) for n in range(150)]
    world.broker.candles[TOKEN] = [candle(at) for at in days]

    answer = body(await trader_api.get(PATH, params=ask("minute", "2026-01-05", "2026-06-03")))

    spans = [(r.start, r.end) for r in world.broker.candle_requests]
    assert answer["requests"] == len(spans) == 3
    assert all(end - start <= timedelta(days=59) for start, end in spans)  # a day inside Kite's
    assert all(b[0] == a[1] + timedelta(seconds=1) for a, b in pairwise(spans))
    dates = [c["date"] for c in answer["candles"]]
    assert dates == [at.isoformat() for at in days]  # every day once, in order


async def test_moments_with_their_offset_bound_the_range_to_the_second(
    world: World, trader_api: httpx.AsyncClient, master: None
) -> None:
    minutes = [START + timedelta(minutes=n) for n in range(5)]
    world.broker.candles[TOKEN] = [candle(at) for at in minutes]
    window = ask("minute", "2026-01-05T03:46:00Z", "2026-01-05T09:18:00+05:30", oi="true")

    answer = body(await trader_api.get(PATH, params=window))

    assert [c["date"][11:16] for c in answer["candles"]] == ["09:16", "09:17", "09:18"]
    assert world.broker.candle_requests[0].oi is True


@pytest.mark.parametrize(
    "params",
    [
        ask("minute", "2026-01-06", "2026-01-05"),  # from after to
        ask("minute", "2020-01-01", "2026-01-05"),  # more than 20 requests of 60 days
        ask("minute", "2026-01-05T09:15:00", "2026-01-05"),  # a moment without its offset
        ask("minute", "2026-02-30", "2026-03-01"),  # no such day
        ask("second", "2026-01-05", "2026-01-05"),  # no such interval
        ask("day", "9999-12-01", "9999-12-31"),  # beyond the days candles are asked for
        ask("minute", "9999-12-31T00:00:00-05:00", "9999-12-31T23:00:00-05:00"),
        ask("day", "1989-12-31", "1990-01-05"),
        ask("day", "2026-01-05", "2026-01-05", continuous="true"),  # an equity: no such data
        ask("minute", "2026-01-05", "2026-01-05", continuous="true"),
        {"interval": "day", "from": "2026-01-05", "to": "2026-01-05"},  # no account
    ],
)
async def test_a_bad_range_is_refused_before_anything_is_read(
    world: World, trader_api: httpx.AsyncClient, master: None, params: dict[str, object]
) -> None:
    refused(await trader_api.get(PATH, params=params), 422, "INVALID_INPUT")
    assert world.broker.calls["historical"] == 0


async def test_a_range_too_long_names_the_limit(
    trader_api: httpx.AsyncClient, master: None
) -> None:
    too_long = ask("minute", "2020-01-01", "2026-01-05")
    error = refused(await trader_api.get(PATH, params=too_long), 422, "INVALID_INPUT")
    assert error["details"]["limit"] == 20
    assert error["details"]["days_per_request"] == 59


async def test_an_instrument_the_master_lacks_or_no_master_at_all_is_refused(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    day = ask("day", "2026-01-05", "2026-01-05")
    refused(await trader_api.get(PATH, params=day), 503, "SERVICE_UNAVAILABLE")
    world.broker.instrument_list = [
        Instrument("NSE", "TCS", 2953217, "TCS", "EQ", "NSE", Decimal("0.05"), 1)
    ]
    await world.services.instruments.refresh_if_due()
    refused(await trader_api.get(PATH, params=day), 422, "INVALID_SYMBOL")
    assert world.broker.calls["historical"] == 0


async def test_another_users_account_is_not_found_and_a_refused_read_is_the_answer(
    world: World, trader_api: httpx.AsyncClient, master: None
) -> None:
    day = ask("day", "2026-01-05", "2026-01-05")
    _, key = await add_trader(world.services, "outsider", OTHER_ACCOUNT)
    async with api_client(create_app(world.services), key) as theirs:
        refused(await theirs.get(PATH, params=day), 404, "NOT_FOUND")
    world.broker.fail_next("historical", RateLimitError())
    refused(await trader_api.get(PATH, params=day), 429, "RATE_LIMITED")
    world.clock.advance(24 * 3600)  # past 06:00 IST: the day's token has expired
    refused(await trader_api.get(PATH, params=day), 409, "BROKER_SESSION_EXPIRED")


async def test_a_range_of_more_candles_than_one_answer_holds_is_refused(
    world: World, trader_api: httpx.AsyncClient, master: None
) -> None:
    minutes = [START + timedelta(minutes=n) for n in range(MAX_CANDLES + 1)]
    world.broker.candles[TOKEN] = [candle(at) for at in minutes]

    error = refused(
        await trader_api.get(PATH, params=ask("minute", "2026-01-05", "2026-03-05")),
        422, "INVALID_INPUT",
    )  # fmt: skip

    assert error["details"]["limit"] == MAX_CANDLES
    assert world.broker.calls["historical"] == 1  # refused as soon as it was known


async def test_continuous_day_candles_of_a_future_are_asked_for(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    future = Instrument(
        "NFO", "NIFTY26JANFUT", 9001, "NIFTY", "FUT", "NFO-FUT", Decimal("0.05"), 75
    )
    world.broker.instrument_list = [future]
    await world.services.instruments.refresh_if_due()
    world.broker.candles[9001] = [candle(START.replace(hour=0, minute=0), "-37.63")]
    path = "/api/v1/historical/NFO/NIFTY26JANFUT"

    answer = body(await trader_api.get(path, params=ask("day", "2026-01-01", "2026-01-31",
                                                        continuous="true")))  # fmt: skip

    assert answer["candles"][0]["close"] == "-37.63"  # a price below zero is a price
    assert world.broker.candle_requests[0].continuous is True
