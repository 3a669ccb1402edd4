"""Searching the instrument master: the index answers what a scan of the whole list would,
page by page, each instrument once."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_service.domain.instrument import Instrument, InstrumentMaster
from order_service.domain.instrument_search import InstrumentIndex, InstrumentQuery
from tests.unit.answers import body, refused
from tests.unit.conftest import World

LOADED = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
EXPIRY = date(2026, 12, 29)
INFY = Instrument("NSE", "INFY", 408065, "INFOSYS", "EQ", "NSE", Decimal("0.05"), 1)
INFY_BSE = Instrument("BSE", "INFY", 500209, "INFOSYS", "EQ", "BSE", Decimal("0.05"), 1)
INFY_FUT = Instrument(
    "NFO", "INFY26DECFUT", 1, "INFY", "FUT", "NFO-FUT", Decimal("0.10"), 400, expiry=EXPIRY
)
NIFTY_FUT = Instrument(
    "NFO", "NIFTY26DECFUT", 2, "NIFTY", "FUT", "NFO-FUT", Decimal("0.10"), 75, expiry=EXPIRY,
    freeze_quantity=1800,
)  # fmt: skip
NIFTY_CALL = Instrument(
    "NFO", "NIFTY26DEC26000CE", 3, "NIFTY", "CE", "NFO-OPT", Decimal("0.05"), 75,
    expiry=EXPIRY, strike=Decimal(26000),
)  # fmt: skip
EVERY = [INFY, INFY_BSE, INFY_FUT, NIFTY_FUT, NIFTY_CALL]


def index(*instruments: Instrument) -> InstrumentIndex:
    return InstrumentIndex(InstrumentMaster(instruments or EVERY, LOADED))


def keys(found: list[Instrument]) -> list[tuple[str, str]]:
    return [i.key for i in found]


def test_a_symbols_start_or_a_whole_name_any_case() -> None:
    assert keys(index().search(InstrumentQuery("inf"))) == [
        ("BSE", "INFY"), ("NSE", "INFY"), ("NFO", "INFY26DECFUT"),
    ]  # fmt: skip
    assert keys(index().search(InstrumentQuery("Infosys"))) == [("BSE", "INFY"), ("NSE", "INFY")]
    assert keys(index().search(InstrumentQuery("INFO"))) == []  # a name must be whole


def test_filters_narrow_the_matches() -> None:
    options = InstrumentQuery("nifty", segment="NFO-OPT")
    assert keys(index().search(options)) == [("NFO", "NIFTY26DEC26000CE")]
    futures = InstrumentQuery("", instrument_type="FUT", expiry=EXPIRY)
    assert keys(index().search(futures)) == [("NFO", "INFY26DECFUT"), ("NFO", "NIFTY26DECFUT")]
    assert keys(index().search(InstrumentQuery("INFY", exchange="BSE"))) == [("BSE", "INFY")]


_symbols = st.text("ABCN0", min_size=1, max_size=4)
_instruments = st.lists(
    st.builds(
        lambda symbol, exchange, name, kind: Instrument(
            exchange, symbol, 0, name, kind, exchange, Decimal("0.05"), 1
        ),
        _symbols,
        st.sampled_from(["NSE", "BSE", "NFO"]),
        st.sampled_from(["AB", "BC", "NA"]),
        st.sampled_from(["EQ", "FUT"]),
    ),
    max_size=30,
    unique_by=lambda i: i.key,
)


@given(_instruments, st.text("ABCN", max_size=2), st.sampled_from([None, "NSE", "NFO"]),
       st.integers(1, 7))  # fmt: skip
def test_pages_hold_what_a_scan_finds_in_symbol_order_each_once(
    instruments: list[Instrument], text: str, exchange: str | None, limit: int
) -> None:
    searched = index(*instruments) if instruments else InstrumentIndex(InstrumentMaster((), LOADED))
    expected = sorted(
        (
            i
            for i in instruments
            if (i.tradingsymbol.startswith(text) or (text and i.name == text))
            and (exchange is None or i.exchange == exchange)
        ),
        key=lambda i: (i.tradingsymbol, i.exchange),
    )
    pages: list[Instrument] = []
    after = None
    for _ in range(len(instruments) + 1):
        page = searched.search(InstrumentQuery(text, exchange, after=after, limit=limit))
        pages += page
        if len(page) < limit:
            break
        after = page[-1].key
    assert keys(pages) == keys(expected)


@pytest.mark.asyncio
async def test_the_route_searches_the_loaded_master_and_says_when_it_was_loaded(
    world: World, trader_api: httpx.AsyncClient, anonymous_api: httpx.AsyncClient
) -> None:
    refused(await trader_api.get("/api/v1/instruments", params={"q": "INFY"}), 503,
            "SERVICE_UNAVAILABLE")  # fmt: skip
    world.broker.instrument_list = list(EVERY)
    assert await world.services.instruments.refresh_if_due() == len(EVERY)
    calls = sum(world.broker.calls.values())

    first = body(await trader_api.get("/api/v1/instruments", params={"q": "nifty", "limit": 1}))
    rest = body(
        await trader_api.get(
            "/api/v1/instruments", params={"q": "nifty", "after": first["next_after"]}
        )
    )

    assert [i["tradingsymbol"] for i in first["items"]] == ["NIFTY26DEC26000CE"]
    assert first["next_after"] == "NFO:NIFTY26DEC26000CE"
    (future,) = rest["items"]
    assert (future["lot_size"], future["freeze_quantity"], future["expiry"]) == (
        75, 1800, "2026-12-29",
    )  # fmt: skip
    assert future["tick_size"] == "0.10"
    assert rest["next_after"] is None
    assert first["loaded_at"] is not None
    assert sum(world.broker.calls.values()) == calls  # in memory: no broker call
    for bad in ({"limit": 0}, {"limit": 101}, {"q": "x" * 41}, {"q": "<script>"},
                {"expiry": "29-12-2026"}, {"after": "INFY"}, {"exchange": "nse"}):  # fmt: skip
        refused(await trader_api.get("/api/v1/instruments", params=bad), 422, "INVALID_INPUT")
    refused(await anonymous_api.get("/api/v1/instruments"), 401, "UNAUTHENTICATED")
