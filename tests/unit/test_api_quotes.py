"""Quotes through the API: one shared cache in front of Kite's one quote call a second, each
answer saying how old it is; only with a session of an account the caller may see."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
import pytest

from order_service.domain.instrument import Instrument
from order_service.domain.reports import QuoteReport
from order_service.entrypoints.api.app import create_app
from order_service.errors import BrokerUnavailable, RateLimitError
from tests.factories import ACCOUNT, OTHER_ACCOUNT
from tests.unit.answers import body, refused
from tests.unit.conftest import World, add_trader, api_client

pytestmark = pytest.mark.asyncio
INFY = QuoteReport(
    "NSE", "INFY", Decimal("1510.05"), Decimal("1500.00"), Decimal(1350), Decimal(1650),
    Decimal("1502.00"), Decimal("1515.40"), Decimal("1498.10"), 120_345,
)  # fmt: skip
TCS = QuoteReport("NSE", "TCS", Decimal("4100.50"), Decimal("4090.00"))


@pytest.fixture(autouse=True)
def marks(world: World) -> None:
    world.broker.marks.update({"NSE:INFY": INFY, "NSE:TCS": TCS})


def ask(*names: str, account: str = ACCOUNT) -> dict[str, object]:
    return {"account_id": account, "i": list(names)}


async def test_quotes_are_exact_say_when_they_were_read_and_name_what_is_missing(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    answer = body(
        await trader_api.get("/api/v1/quotes", params=ask("NSE:INFY", "NSE:TCS", "NSE:NOSUCH"))
    )

    infy = answer["items"]["NSE:INFY"]
    assert (infy["last_price"], infy["close_price"]) == ("1510.05", "1500.00")
    assert (infy["lower_circuit"], infy["upper_circuit"]) == ("1350", "1650")
    assert answer["items"]["NSE:TCS"]["upper_circuit"] is None
    assert answer["missing"] == ["NSE:NOSUCH"]
    assert infy["age_seconds"] == 0
    assert world.broker.calls["quotes"] == 1


async def test_every_client_within_the_ttl_shares_one_read_and_sees_its_age(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    body(await trader_api.get("/api/v1/quotes", params=ask("NSE:INFY")))
    world.clock.advance(2)
    ttl = world.services.settings.quote_cache_seconds

    again = body(await trader_api.get("/api/v1/quotes", params=ask("NSE:INFY", "NSE:TCS")))

    assert again["items"]["NSE:INFY"]["age_seconds"] == 2
    assert again["items"]["NSE:TCS"]["age_seconds"] == 0  # only it was read
    assert world.broker.calls["quotes"] == 2
    world.clock.advance(ttl - 2)  # INFY's quote is as old as the TTL now: read again
    fresh = body(await trader_api.get("/api/v1/quotes", params=ask("NSE:INFY", "NSE:TCS")))
    assert fresh["items"]["NSE:INFY"]["age_seconds"] == 0
    assert world.broker.calls["quotes"] == 3


async def test_concurrent_requests_for_the_same_instruments_cost_one_read(
    world: World, trader_api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = world.broker.quotes
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow(*args: Any) -> dict[str, QuoteReport]:
        started.set()
        await release.wait()  # every other request arrives while this read is in flight
        return await read(*args)

    monkeypatch.setattr(world.broker, "quotes", slow)

    async def release_once_all_wait() -> None:
        await started.wait()
        for _ in range(50):
            await asyncio.sleep(0)
        release.set()

    asyncio.get_running_loop().create_task(release_once_all_wait())
    answers = await asyncio.gather(
        *(trader_api.get("/api/v1/quotes", params=ask("NSE:INFY", "NSE:TCS")) for _ in range(20))
    )

    assert {body(a)["items"]["NSE:INFY"]["last_price"] for a in answers} == {"1510.05"}
    assert world.broker.calls["quotes"] == 1


async def test_a_refused_read_is_the_callers_error_and_is_not_kept(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    world.broker.fail_next("quotes", RateLimitError())
    refused(await trader_api.get("/api/v1/quotes", params=ask("NSE:INFY")), 429, "RATE_LIMITED")

    answer = body(await trader_api.get("/api/v1/quotes", params=ask("NSE:INFY")))

    assert answer["items"]["NSE:INFY"]["last_price"] == "1510.05"
    assert world.broker.calls["quotes"] == 2


async def test_bad_names_too_many_or_unknown_to_the_master_cost_no_read(
    world: World, trader_api: httpx.AsyncClient, anonymous_api: httpx.AsyncClient
) -> None:
    for params in (
        ask(),
        ask("INFY"),
        ask("nse:INFY"),
        ask(*(f"NSE:S{n}" for n in range(1001))),
        {"i": ["NSE:INFY"]},  # no account
    ):
        refused(await trader_api.get("/api/v1/quotes", params=params), 422, "INVALID_INPUT")
    world.broker.instrument_list = [
        Instrument("NSE", "INFY", 408065, "INFOSYS", "EQ", "NSE", Decimal("0.05"), 1)
    ]
    assert await world.services.instruments.refresh_if_due() == 1
    unknown = await trader_api.get("/api/v1/quotes", params=ask("NSE:INFY", "NSE:NOSUCH"))
    assert refused(unknown, 422, "INVALID_SYMBOL")["details"]["tradingsymbol"] == "NOSUCH"
    refused(await anonymous_api.get("/api/v1/quotes", params=ask("NSE:INFY")), 401,
            "UNAUTHENTICATED")  # fmt: skip
    assert world.broker.calls["quotes"] == 0


async def test_another_users_account_is_not_found_and_an_expired_one_must_log_in(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    _, key = await add_trader(world.services, "outsider", OTHER_ACCOUNT)
    async with api_client(create_app(world.services), key) as theirs:
        refused(await theirs.get("/api/v1/quotes", params=ask("NSE:INFY")), 404, "NOT_FOUND")
    world.clock.advance(24 * 3600)  # past 06:00 IST: the day's token has expired
    expired = await trader_api.get("/api/v1/quotes", params=ask("NSE:INFY"))
    refused(expired, 409, "BROKER_SESSION_EXPIRED")
    assert world.broker.calls["quotes"] == 0


async def test_a_quote_carries_the_days_ohlc_and_volume(trader_api: httpx.AsyncClient) -> None:
    answer = body(await trader_api.get("/api/v1/quotes", params=ask("NSE:INFY", "NSE:TCS")))

    infy, tcs = answer["items"]["NSE:INFY"], answer["items"]["NSE:TCS"]
    assert infy["ohlc"] == {"open": "1502.00", "high": "1515.40", "low": "1498.10",
                            "close": "1500.00"}  # fmt: skip
    assert infy["volume"] == 120_345
    assert (tcs["ohlc"], tcs["volume"]) == (
        {"open": None, "high": None, "low": None, "close": "4090.00"}, None,
    )  # fmt: skip


async def test_last_prices_and_ohlc_answer_from_the_quotes_every_client_shares(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    body(await trader_api.get("/api/v1/quotes", params=ask("NSE:INFY")))
    world.clock.advance(1)

    ltp = body(await trader_api.get("/api/v1/ltp", params=ask("NSE:INFY", "NSE:NOSUCH")))
    ohlc = body(await trader_api.get("/api/v1/ohlc", params=ask("NSE:INFY")))

    assert ltp["items"] == {
        "NSE:INFY": {"last_price": "1510.05", "as_of": ltp["items"]["NSE:INFY"]["as_of"],
                     "age_seconds": 1.0},
    }  # fmt: skip
    assert ltp["missing"] == ["NSE:NOSUCH"]
    assert ohlc["items"]["NSE:INFY"]["ohlc"]["high"] == "1515.40"
    assert ohlc["items"]["NSE:INFY"]["age_seconds"] == 1.0
    assert world.broker.calls["quotes"] == 2  # the quote's read, then NOSUCH's: INFY held


@pytest.mark.parametrize("route", ["/api/v1/quotes", "/api/v1/ltp", "/api/v1/ohlc"])
async def test_up_to_a_thousand_prices_are_read_five_hundred_to_a_broker_call(
    world: World, trader_api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, route: str
) -> None:
    asked: list[int] = []
    read = world.broker.quotes

    async def counted(session: Any, names: Any) -> Any:
        asked.append(len(names))
        return await read(session, names)

    monkeypatch.setattr(world.broker, "quotes", counted)
    names = ["NSE:INFY", *(f"NSE:S{n}" for n in range(699))]

    answer = body(await trader_api.get(route, params=ask(*names)))

    assert asked == [500, 200]
    assert list(answer["items"]) == ["NSE:INFY"]
    assert len(answer["missing"]) == 699
    error = refused(
        await trader_api.get(route, params=ask(*(f"NSE:S{n}" for n in range(1001)))),
        422, "INVALID_INPUT",
    )  # fmt: skip
    assert "1000" in str(error)
    assert asked == [500, 200]


async def test_a_flood_of_reads_holds_one_call_of_the_accounts_budget_at_a_time(
    world: World, trader_api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pre-trade checks read quotes from the same budget: requests wait their turn in the
    service, never booking the budget's future slots ahead of a placement's read."""
    in_flight, most = 0, 0
    read = world.broker.quotes

    async def slow(session: Any, names: Any) -> Any:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.005)
        in_flight -= 1
        return await read(session, names)

    monkeypatch.setattr(world.broker, "quotes", slow)
    floods = [ask(*(f"NSE:F{k}{n}" for n in range(700))) for k in range(4)]

    answers = await asyncio.gather(*(trader_api.get("/api/v1/ltp", params=p) for p in floods))

    assert [a.status_code for a in answers] == [200] * 4
    assert (most, world.broker.calls["quotes"]) == (1, 8)


async def test_a_read_refused_for_another_account_is_read_again_with_the_callers_session(
    world: World, trader_api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, key = await add_trader(world.services, "other", OTHER_ACCOUNT)
    started, release = asyncio.Event(), asyncio.Event()
    read = world.broker.quotes

    async def quotes(session: Any, names: Any) -> Any:
        if session.account_id == OTHER_ACCOUNT:
            started.set()
            await release.wait()
            raise BrokerUnavailable("the other account's read failed")
        return await read(session, names)

    monkeypatch.setattr(world.broker, "quotes", quotes)
    async with api_client(create_app(world.services), key) as theirs:
        first = asyncio.create_task(
            theirs.get("/api/v1/quotes", params=ask("NSE:INFY", account=OTHER_ACCOUNT))
        )
        await started.wait()
        mine = asyncio.create_task(trader_api.get("/api/v1/quotes", params=ask("NSE:INFY")))
        await asyncio.sleep(0.01)  # waiting on the other account's read
        release.set()
        theirs_answer, my_answer = await first, await mine

    refused(theirs_answer, 503, "BROKER_UNAVAILABLE")
    assert body(my_answer)["items"]["NSE:INFY"]["last_price"] == "1510.05"
    assert OTHER_ACCOUNT not in my_answer.text


async def test_each_call_of_a_split_read_is_stamped_and_held_when_it_answers(
    world: World, trader_api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0
    read = world.broker.quotes

    async def quotes(session: Any, names: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            world.clock.advance(4)  # the second call waited for its slot of the budget
            raise RateLimitError()
        return await read(session, names)

    monkeypatch.setattr(world.broker, "quotes", quotes)
    names = ["NSE:INFY", *(f"NSE:S{n}" for n in range(599))]
    refused(await trader_api.get("/api/v1/ltp", params=ask(*names)), 429, "RATE_LIMITED")

    again = body(await trader_api.get("/api/v1/ltp", params=ask("NSE:INFY")))

    assert calls == 2  # the first call's quotes were held: INFY is not read again
    assert again["items"]["NSE:INFY"]["age_seconds"] == 4.0  # as old as its own call
