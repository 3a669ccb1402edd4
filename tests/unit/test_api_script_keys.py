"""API keys bound to a strategy: a script's key places that strategy's SCRIPT orders only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from order_service.domain.ids import AccountId, StrategyId
from order_service.domain.order import OrderOrigin
from order_service.entrypoints.api.app import create_app
from tests.unit.answers import LIMIT, body, refused
from tests.unit.conftest import OTHER_ACCOUNT, World, add_trader, api_client, log_in

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def momentum(world: World) -> StrategyId:
    created = await world.services.strategies.create_strategy(
        world.trader, AccountId("PAPER1"), "momentum"
    )
    return created.strategy_id


@pytest_asyncio.fixture
async def script_api(
    trader_api: httpx.AsyncClient, world: World, momentum: StrategyId
) -> AsyncIterator[httpx.AsyncClient]:
    """The API as a script: a key the trader issued for the momentum strategy."""
    issued = body(await trader_api.post("/api/v1/keys", json={"strategy_id": momentum}), 201)
    assert issued["strategy_id"] == momentum
    assert issued["key"].startswith("os_")
    async with api_client(create_app(world.services), issued["key"]) as client:
        yield client


async def test_a_scripts_orders_go_to_its_strategy_as_script_orders(
    world: World, script_api: httpx.AsyncClient, momentum: StrategyId
) -> None:
    unnamed = body(await script_api.post("/api/v1/orders", json=LIMIT), 201)
    named = body(
        await script_api.post("/api/v1/orders", json={**LIMIT, "strategy_id": momentum}), 201
    )

    assert unnamed["strategy_id"] == named["strategy_id"] == momentum
    assert unnamed["origin"] == named["origin"] == "script"
    assert world.store.orders[unnamed["order_id"]].origin is OrderOrigin.SCRIPT


async def test_a_persons_orders_are_manual(world: World, trader_api: httpx.AsyncClient) -> None:
    placed = body(await trader_api.post("/api/v1/orders", json=LIMIT), 201)

    assert placed["origin"] == "manual"
    assert world.store.orders[placed["order_id"]].origin is OrderOrigin.MANUAL


async def test_a_script_naming_another_strategy_is_refused(
    world: World, script_api: httpx.AsyncClient, momentum: StrategyId
) -> None:
    (default,) = [s for s in world.store.strategies.values() if s.is_default]

    placed = await script_api.post(
        "/api/v1/orders", json={**LIMIT, "strategy_id": default.strategy_id}
    )

    error = refused(placed, 403, "FORBIDDEN")
    assert error["details"] == {"strategy_id": default.strategy_id, "key_strategy_id": momentum}
    assert world.store.orders == {}


async def test_a_script_cannot_trade_another_account_of_its_user(
    world: World, script_api: httpx.AsyncClient
) -> None:
    third = AccountId("PAPER3")
    await world.services.accounts.add_account(world.trader, third, "paper", "secret")
    await log_in(world.services, world.trader, third)
    world.services.directory.forget_all()

    placed = await script_api.post("/api/v1/orders", json={**LIMIT, "account_id": third})

    refused(placed, 403, "FORBIDDEN")
    assert world.store.orders == {}


async def test_a_script_whose_strategy_was_archived_places_nothing(
    world: World, trader_api: httpx.AsyncClient, script_api: httpx.AsyncClient, momentum: str
) -> None:
    body(await trader_api.patch(f"/api/v1/strategies/{momentum}", json={"archived": True}))

    placed = await script_api.post("/api/v1/orders", json=LIMIT)

    assert refused(placed, 409, "CONFLICT")["details"]["reason"] == "archived"
    assert world.broker.calls["place_order"] == 0


async def test_a_scripts_key_cannot_issue_keys(script_api: httpx.AsyncClient) -> None:
    refused(await script_api.post("/api/v1/keys", json={}), 403, "FORBIDDEN")


async def test_keys_list_which_strategy_each_is_bound_to(
    trader_api: httpx.AsyncClient, script_api: httpx.AsyncClient, momentum: str
) -> None:
    plain = body(await trader_api.post("/api/v1/keys", json={}), 201)

    keys = body(await trader_api.get("/api/v1/keys"))

    assert plain["strategy_id"] is None
    assert [k["strategy_id"] for k in keys] == [None, momentum, None]
    assert all("key" not in k for k in keys)


async def test_a_key_cannot_be_bound_to_a_strategy_the_caller_cannot_see(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    outsider, _ = await add_trader(world.services, "outsider", OTHER_ACCOUNT)
    theirs = await world.services.strategies.create_strategy(outsider, OTHER_ACCOUNT, "theirs")

    for strategy_id in (theirs.strategy_id, "01JNOSUCH00000000000000000"):
        issued = await trader_api.post("/api/v1/keys", json={"strategy_id": strategy_id})
        refused(issued, 404, "NOT_FOUND")
    assert len(world.store.keys) == 2  # the two traders' own keys


async def test_a_key_cannot_be_bound_to_an_archived_strategy(
    trader_api: httpx.AsyncClient, momentum: str
) -> None:
    body(await trader_api.patch(f"/api/v1/strategies/{momentum}", json={"archived": True}))

    issued = await trader_api.post("/api/v1/keys", json={"strategy_id": momentum})

    assert refused(issued, 409, "CONFLICT")["details"]["reason"] == "archived"


@pytest.mark.parametrize("payload", [{"strategy_id": 5}, {"strategy_id": ""}, {"x": 1}])
async def test_a_bad_key_body_is_invalid_input(
    trader_api: httpx.AsyncClient, payload: dict[str, Any]
) -> None:
    refused(await trader_api.post("/api/v1/keys", json=payload), 422, "INVALID_INPUT")


async def test_issuing_a_key_needs_credentials(anonymous_api: httpx.AsyncClient) -> None:
    refused(await anonymous_api.post("/api/v1/keys", json={}), 401, "UNAUTHENTICATED")
