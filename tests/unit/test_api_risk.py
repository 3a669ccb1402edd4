"""Pre-trade risk through the API: each rule refuses with RISK_REJECTED naming it, before the
order is stored or anything reaches the broker; the idempotency key stays free."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import pytest_asyncio

from order_service.config import Settings
from order_service.domain.account import Role
from order_service.domain.instrument import Instrument
from order_service.domain.reports import QuoteReport
from order_service.entrypoints.api.app import create_app
from order_service.services.ports import BrokerSession
from tests.factories import ACCOUNT, make_limit_request
from tests.unit.answers import LIMIT, body, refused
from tests.unit.conftest import World, api_client, log_in

pytestmark = pytest.mark.asyncio

INFY = Instrument("NSE", "INFY", 408065, "INFOSYS", "EQ", "NSE", Decimal("0.05"), 1)
NIFTY_FUT = Instrument(
    "NFO", "NIFTY26DECFUT", 13238786, "NIFTY", "FUT", "NFO-FUT", Decimal("0.10"), 75,
    expiry=date(2026, 12, 29),
)  # fmt: skip
FUTURE = {**LIMIT, "exchange": "NFO", "tradingsymbol": "NIFTY26DECFUT", "product": "NRML",
          "quantity": 75, "price": "26000.00"}  # fmt: skip
BAND = QuoteReport("NSE", "INFY", Decimal("1500"), Decimal("1490"), Decimal("1350"),
                   Decimal("1650"))  # fmt: skip


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Market hours checked (the clock stands at 09:30 IST on a Monday), duplicates guarded."""
    return settings.model_copy(
        update={"risk_market_hours": True, "risk_duplicate_window_seconds": 2.0}
    )


@pytest_asyncio.fixture
async def api(world: World) -> AsyncIterator[httpx.AsyncClient]:
    world.broker.instrument_list = [INFY, NIFTY_FUT]
    assert await world.services.instruments.refresh_if_due() == 2
    async with api_client(create_app(world.services), world.api_key) as client:
        yield client


@pytest_asyncio.fixture
async def admin_api(world: World) -> AsyncIterator[httpx.AsyncClient]:
    admin = await world.services.users.create_user("risk-admin", frozenset({Role.ADMIN}))
    key = await world.services.users.create_api_key(admin.user_id)
    async with api_client(create_app(world.services), key) as client:
        yield client


def untouched(world: World) -> tuple[int, int]:
    return world.broker.calls["place_order"], len(world.store.orders)


async def denied(
    api: httpx.AsyncClient, world: World, order: dict[str, Any], rule: str, **headers: str
) -> dict[str, Any]:
    """Place ``order``: refused by ``rule``, with nothing stored and nothing sent."""
    before = untouched(world)
    error = refused(await api.post("/api/v1/orders", json=order, headers=headers), 422,
                    "RISK_REJECTED")  # fmt: skip
    assert error["details"]["rule"] == rule, error
    assert untouched(world) == before
    return error


async def test_a_quantity_off_the_lot_is_refused_and_its_key_stays_free(
    api: httpx.AsyncClient, world: World
) -> None:
    error = await denied(
        api, world, {**FUTURE, "quantity": 76}, "lot_size", **{"Idempotency-Key": "k1"}
    )
    assert (error["details"]["limit"], error["details"]["value"]) == (75, 76)

    placed = await api.post("/api/v1/orders", json=FUTURE, headers={"Idempotency-Key": "k1"})
    assert body(placed, 201)["quantity"] == 75
    assert world.broker.calls["place_order"] == 1


@pytest.mark.parametrize("field", ["price", "trigger_price"])
async def test_a_price_off_the_tick_is_refused(
    api: httpx.AsyncClient, world: World, field: str
) -> None:
    order = {**LIMIT, "order_type": "SL", "price": "1520.00", "trigger_price": "1519.00"}
    error = await denied(api, world, {**order, field: "1500.03"}, "tick_size")
    assert error["details"] == {"rule": "tick_size", "limit": "0.05", "value": "1500.03",
                                "field": field}  # fmt: skip


async def test_a_quantity_over_the_freeze_limit_is_refused(
    api: httpx.AsyncClient, world: World
) -> None:
    error = await denied(api, world, {**FUTURE, "quantity": 1875}, "freeze_quantity")
    assert (error["details"]["limit"], error["details"]["value"]) == (1800, 1875)
    body(await api.post("/api/v1/orders", json={**FUTURE, "quantity": 1800}), 201)


async def test_a_price_outside_the_circuit_band_is_refused(
    api: httpx.AsyncClient, world: World
) -> None:
    world.broker.marks["NSE:INFY"] = BAND
    error = await denied(api, world, {**LIMIT, "price": "1650.05"}, "circuit_band")
    assert error["details"]["limit"] == ["1350", "1650"]
    body(await api.post("/api/v1/orders", json={**LIMIT, "price": "1600.00"}), 201)


async def test_a_limit_price_far_from_the_last_price_is_taken_for_a_slip(
    api: httpx.AsyncClient, world: World
) -> None:
    world.broker.marks["NSE:INFY"] = QuoteReport(
        "NSE", "INFY", Decimal("1500"), Decimal("1490"), Decimal("1000"), Decimal("2000")
    )
    error = await denied(api, world, {**LIMIT, "price": "1700.00"}, "fat_finger")
    assert (error["details"]["limit"], error["details"]["value"]) == ("10", "13.33")
    body(await api.post("/api/v1/orders", json={**LIMIT, "price": "1650.00"}), 201)


class GatedQuotes:
    """Holds every quote read until released, so concurrent placements overlap."""

    def __init__(self, world: World) -> None:
        self.released = asyncio.Event()
        self._read = world.broker.quotes
        world.broker.quotes = self.quotes  # type: ignore[method-assign]

    async def quotes(self, session: BrokerSession, names: Any) -> dict[str, QuoteReport]:
        await self.released.wait()
        return await self._read(session, names)


async def test_fifty_concurrent_placements_read_the_quote_once(
    api: httpx.AsyncClient, world: World
) -> None:
    world.broker.marks["NSE:INFY"] = BAND
    gate = GatedQuotes(world)
    orders = [
        world.services.orders.place_order(world.trader, make_limit_request(quantity=q), None)
        for q in range(1, 51)
    ]
    placing = asyncio.gather(*orders)
    await asyncio.sleep(0.01)
    gate.released.set()

    placed = await placing

    assert len(placed) == 50
    assert world.broker.calls["quotes"] == 1
    assert world.broker.calls["place_order"] == 50


@pytest.mark.parametrize(
    "moment",
    [datetime(2026, 12, 5, 5, 0, tzinfo=UTC), datetime(2026, 12, 25, 5, 0, tzinfo=UTC),
     datetime(2026, 11, 30, 10, 30, tzinfo=UTC)],
    ids=["saturday", "christmas", "after-the-close"],
)  # fmt: skip
async def test_a_regular_order_is_refused_while_the_market_is_closed_an_amo_is_not(
    api: httpx.AsyncClient, world: World, moment: datetime
) -> None:
    world.clock.current = moment
    await log_in(world.services, world.trader, ACCOUNT)  # the day's session
    error = await denied(api, world, LIMIT, "market_closed")
    assert error["details"]["limit"] == ["09:15", "15:30"]

    amo = await api.post("/api/v1/orders", json={**LIMIT, "variety": "amo"})
    assert body(amo, 201)["variety"] == "amo"


async def test_the_same_unkeyed_order_twice_within_the_window_is_refused(
    api: httpx.AsyncClient, world: World
) -> None:
    body(await api.post("/api/v1/orders", json=LIMIT), 201)
    world.clock.advance(1)
    error = await denied(api, world, LIMIT, "duplicate")
    assert (error["details"]["limit"], error["details"]["value"]) == ("2.0", "1.0")

    keyed = await api.post("/api/v1/orders", json=LIMIT, headers={"Idempotency-Key": "again"})
    body(keyed, 201)  # a key says the repeat is meant
    world.clock.advance(2)
    body(await api.post("/api/v1/orders", json=LIMIT), 201)


async def test_account_limits_refuse_what_exceeds_them(
    api: httpx.AsyncClient, admin_api: httpx.AsyncClient, world: World
) -> None:
    limits = {"max_quantity": 100, "max_order_value": "200000", "allowed_products": ["CNC"]}
    body(await admin_api.put("/api/v1/accounts/PAPER1/risk-limits", json=limits))

    await denied(api, world, {**LIMIT, "quantity": 101}, "max_quantity")
    error = await denied(api, world, {**LIMIT, "quantity": 100, "price": "2000.05"},
                         "max_order_value")  # fmt: skip
    assert (error["details"]["limit"], error["details"]["value"]) == ("200000", "200005.00")
    await denied(api, world, {**LIMIT, "product": "MIS"}, "allowed_products")
    body(await api.post("/api/v1/orders", json={**LIMIT, "quantity": 100}), 201)


async def test_a_strategy_limit_wins_over_its_account_limit(
    api: httpx.AsyncClient, admin_api: httpx.AsyncClient, world: World
) -> None:
    strategy = body(
        await api.post("/api/v1/strategies", json={"account_id": "PAPER1", "name": "algo"}), 201
    )["strategy_id"]
    body(await admin_api.put("/api/v1/accounts/PAPER1/risk-limits", json={"max_quantity": 5}))
    body(await admin_api.put(f"/api/v1/strategies/{strategy}/risk-limits",
                             json={"max_quantity": 50, "allowed_exchanges": ["NSE"]}))  # fmt: skip

    await denied(api, world, {**LIMIT, "quantity": 6}, "max_quantity")
    mine = {**LIMIT, "strategy_id": strategy, "force": True}  # a person steps into its scope
    body(await api.post("/api/v1/orders", json={**mine, "quantity": 50}), 201)
    await denied(api, world, {**mine, "quantity": 51}, "max_quantity")
    await denied(
        api, world, {**FUTURE, "strategy_id": strategy, "force": True}, "allowed_exchanges"
    )


async def test_count_limits_hold_working_orders_and_the_day_s_orders(
    api: httpx.AsyncClient, admin_api: httpx.AsyncClient, world: World
) -> None:
    body(await admin_api.put("/api/v1/accounts/PAPER1/risk-limits",
                             json={"max_open_orders": 1, "max_orders_per_day": 2}))  # fmt: skip
    body(await api.post("/api/v1/orders", json=LIMIT), 201)  # rests OPEN
    error = await denied(api, world, {**LIMIT, "quantity": 11}, "max_open_orders")
    assert (error["details"]["limit"], error["details"]["value"]) == (1, 2)

    market = {**LIMIT, "order_type": "MARKET", "price": None, "quantity": 12}
    body(await admin_api.put("/api/v1/accounts/PAPER1/risk-limits",
                             json={"max_orders_per_day": 2}))  # fmt: skip
    body(await api.post("/api/v1/orders", json=market), 201)  # filled at once
    await denied(api, world, {**market, "quantity": 13}, "max_orders_per_day")


async def test_a_modification_off_the_tick_is_refused_before_it_is_sent(
    api: httpx.AsyncClient, world: World
) -> None:
    placed = body(await api.post("/api/v1/orders", json=LIMIT), 201)
    url = f"/api/v1/orders/{placed['order_id']}"
    error = refused(await api.patch(url, json={"price": "1520.03"}), 422, "RISK_REJECTED")
    assert error["details"]["rule"] == "tick_size"
    assert world.broker.calls["modify_order"] == 0
    assert body(await api.get(url))["price"] == placed["price"]
    body(await api.patch(url, json={"price": "1521.00"}))
    assert world.broker.calls["modify_order"] == 1
