"""Who may trade a scope: OWNERSHIP_CONFLICT for each origin its control mode refuses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
import pytest_asyncio

from order_service.domain.control import ControlMode
from order_service.domain.ids import StrategyId
from order_service.entrypoints.api.app import create_app
from tests.unit.answers import LIMIT, body, refused
from tests.unit.conftest import ACCOUNT, World, api_client

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def momentum(world: World) -> StrategyId:
    created = await world.services.strategies.create_strategy(world.trader, ACCOUNT, "momentum")
    return created.strategy_id


async def script_client(
    trader_api: httpx.AsyncClient, world: World, strategy_id: StrategyId
) -> httpx.AsyncClient:
    issued = body(await trader_api.post("/api/v1/keys", json={"strategy_id": strategy_id}), 201)
    return api_client(create_app(world.services), issued["key"])


@pytest_asyncio.fixture
async def script_api(
    trader_api: httpx.AsyncClient, world: World, momentum: StrategyId
) -> AsyncIterator[httpx.AsyncClient]:
    """The API as momentum's algorithm."""
    async with await script_client(trader_api, world, momentum) as client:
        yield client


def set_strategy_mode(world: World, strategy_id: StrategyId, mode: ControlMode) -> None:
    world.store.strategies[strategy_id] = replace(
        world.store.strategies[strategy_id], control_mode=mode
    )


def set_account_mode(world: World, mode: ControlMode) -> None:
    world.store.accounts[ACCOUNT].control_mode = mode


def conflict(response: httpx.Response, mode: str, origin: str) -> dict[str, Any]:
    error = refused(response, 409, "OWNERSHIP_CONFLICT")
    assert error["details"] == {"control_mode": mode, "origin": origin}
    return error


async def test_a_new_strategy_is_its_algorithms_and_the_account_its_peoples(
    trader_api: httpx.AsyncClient, script_api: httpx.AsyncClient
) -> None:
    scripted = body(await script_api.post("/api/v1/orders", json=LIMIT), 201)
    manual = body(await trader_api.post("/api/v1/orders", json=LIMIT), 201)

    assert (scripted["origin"], manual["origin"]) == ("script", "manual")


async def test_a_strategys_key_cannot_trade_a_manual_scope(
    world: World, script_api: httpx.AsyncClient, momentum: StrategyId
) -> None:
    set_strategy_mode(world, momentum, ControlMode.MANUAL)

    conflict(await script_api.post("/api/v1/orders", json=LIMIT), "manual", "script")
    forced = await script_api.post("/api/v1/orders", json={**LIMIT, "force": True})

    conflict(forced, "manual", "script")  # force is a person's, never a script's
    assert world.store.orders == {}
    assert world.broker.calls["place_order"] == 0


async def test_a_key_bound_to_the_default_strategy_follows_the_accounts_manual_mode(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    (default,) = [s for s in world.store.strategies.values() if s.is_default]

    async with await script_client(trader_api, world, default.strategy_id) as script_api:
        placed = await script_api.post("/api/v1/orders", json=LIMIT)

    conflict(placed, "manual", "script")
    assert world.store.orders == {}


async def test_a_person_trades_a_script_scope_only_with_force(
    world: World, trader_api: httpx.AsyncClient, momentum: StrategyId
) -> None:
    order = {**LIMIT, "strategy_id": momentum}

    conflict(await trader_api.post("/api/v1/orders", json=order), "script", "manual")
    assert world.store.orders == {}
    forced = body(await trader_api.post("/api/v1/orders", json={**order, "force": True}), 201)

    assert (forced["strategy_id"], forced["origin"]) == (momentum, "manual")
    assert world.broker.calls["place_order"] == 1


async def test_a_person_trades_an_account_handed_to_scripts_only_with_force(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    set_account_mode(world, ControlMode.SCRIPT)

    conflict(await trader_api.post("/api/v1/orders", json=LIMIT), "script", "manual")
    body(await trader_api.post("/api/v1/orders", json={**LIMIT, "force": True}), 201)


@pytest.mark.parametrize("force", [False, True])
async def test_nobody_trades_a_transitioning_scope(
    world: World,
    trader_api: httpx.AsyncClient,
    script_api: httpx.AsyncClient,
    momentum: StrategyId,
    force: bool,
) -> None:
    set_strategy_mode(world, momentum, ControlMode.TRANSITIONING)
    order = {**LIMIT, "strategy_id": momentum, "force": force}

    conflict(await script_api.post("/api/v1/orders", json=order), "transitioning", "script")
    conflict(await trader_api.post("/api/v1/orders", json=order), "transitioning", "manual")
    assert world.store.orders == {}


async def test_an_accounts_transition_stops_every_strategy_of_it(
    world: World, trader_api: httpx.AsyncClient, script_api: httpx.AsyncClient
) -> None:
    set_account_mode(world, ControlMode.TRANSITIONING)

    conflict(await script_api.post("/api/v1/orders", json=LIMIT), "transitioning", "script")
    forced = await trader_api.post("/api/v1/orders", json={**LIMIT, "force": True})

    conflict(forced, "transitioning", "manual")
    assert world.broker.calls["place_order"] == 0


async def test_a_modification_is_checked_as_a_placement_and_a_cancel_always_goes(
    world: World, trader_api: httpx.AsyncClient, momentum: StrategyId
) -> None:
    order = {**LIMIT, "strategy_id": momentum, "force": True}
    order_id = body(await trader_api.post("/api/v1/orders", json=order), 201)["order_id"]
    path = f"/api/v1/orders/{order_id}"

    conflict(await trader_api.patch(path, json={"quantity": 5}), "script", "manual")
    assert world.broker.calls["modify_order"] == 0
    modified = body(await trader_api.patch(path, json={"quantity": 5, "force": True}))
    set_strategy_mode(world, momentum, ControlMode.TRANSITIONING)
    stopped = await trader_api.patch(path, json={"quantity": 4, "force": True})
    cancelled = body(await trader_api.delete(path))

    assert modified["quantity"] == 5
    conflict(stopped, "transitioning", "manual")
    assert cancelled["status"] == "CANCELLED"
    assert world.broker.calls["modify_order"] == 1


@pytest.mark.parametrize("force", ["yes", 1, None])
async def test_force_must_be_a_boolean(
    world: World, trader_api: httpx.AsyncClient, force: object
) -> None:
    placed = await trader_api.post("/api/v1/orders", json={**LIMIT, "force": force})

    refused(placed, 422, "INVALID_INPUT")
    assert world.store.orders == {}
