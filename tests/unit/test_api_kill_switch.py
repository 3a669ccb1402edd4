"""The kill switch through the API: what a halt stops, who may engage and release it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from order_service.bootstrap import bootstrap
from order_service.config import Settings
from order_service.domain.account import Principal
from order_service.domain.order import Order
from order_service.entrypoints.api.app import create_app
from order_service.services.kill_switch import REFRESH_SECONDS
from tests.factories import make_limit_request
from tests.unit.answers import LIMIT, body, refused
from tests.unit.conftest import ACCOUNT, OTHER_ACCOUNT, World, api_client
from tests.unit.fakes import FakeUnitOfWork

pytestmark = pytest.mark.asyncio

PATH = "/api/v1/kill-switch"


async def engage(client: httpx.AsyncClient, scope: dict[str, str]) -> httpx.Response:
    return await client.post(PATH, json=scope)


async def release(client: httpx.AsyncClient, scope: dict[str, str]) -> httpx.Response:
    return await client.request("DELETE", PATH, json=scope)


@pytest_asyncio.fixture
async def working(world: World) -> Order:
    """A LIMIT order resting OPEN at the broker."""
    placed = await world.services.orders.place_order(world.trader, make_limit_request(), None)
    await world.services.reconcile.sync_account(placed.order.account_id)
    return placed.order


async def client_for(world: World, principal: Principal) -> httpx.AsyncClient:
    key = await world.services.users.create_api_key(principal.user_id)
    return api_client(create_app(world.services), key)


@pytest_asyncio.fixture
async def admin_api(world: World, admin: Principal) -> AsyncIterator[httpx.AsyncClient]:
    async with await client_for(world, admin) as client:
        yield client


@pytest_asyncio.fixture
async def outsider_api(world: World, outsider: Principal) -> AsyncIterator[httpx.AsyncClient]:
    async with await client_for(world, outsider) as client:
        yield client


@pytest_asyncio.fixture
async def script_api(world: World) -> AsyncIterator[httpx.AsyncClient]:
    """The trader's script: a key bound to the account's default strategy."""
    strategies = await world.services.strategies.list_strategies(world.trader, ACCOUNT)
    strategy_id = strategies[0].strategy_id
    _, key = await world.services.users.issue_own_api_key(world.trader, strategy_id)
    async with api_client(create_app(world.services), key) as client:
        yield client


async def test_a_halted_account_places_nothing_and_sends_nothing(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    halt = body(await engage(trader_api, {"account_id": ACCOUNT}), 201)
    assert (halt["scope"], halt["key"], halt["by_admin"]) == ("account", ACCOUNT, False)
    assert halt["engaged_by"] == world.trader.user_id
    error = refused(await trader_api.post("/api/v1/orders", json=LIMIT), 403, "TRADING_HALTED")
    assert error["details"]["account_id"] == ACCOUNT
    assert world.broker.calls["place_order"] == 0
    assert world.store.orders == {}


async def test_a_repeat_of_a_placed_order_is_answered_with_it_while_halted(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    # A client retrying after a lost answer must learn its order exists, not that it failed.
    keyed = {"Idempotency-Key": "placed-before-the-halt"}
    placed = body(await trader_api.post("/api/v1/orders", json=LIMIT, headers=keyed), 201)
    body(await engage(trader_api, {"account_id": ACCOUNT}), 201)
    again = body(await trader_api.post("/api/v1/orders", json=LIMIT, headers=keyed), 200)
    assert again["order_id"] == placed["order_id"]
    new = {"Idempotency-Key": "after-the-halt"}
    refused(await trader_api.post("/api/v1/orders", json=LIMIT, headers=new), 403, "TRADING_HALTED")
    assert world.broker.calls["place_order"] == 1


async def test_a_halt_refuses_modifications_but_lets_cancels_through(
    world: World, trader_api: httpx.AsyncClient, working: Order
) -> None:
    body(await engage(trader_api, {"user_id": world.trader.user_id}), 201)
    url = f"/api/v1/orders/{working.order_id}"
    refused(await trader_api.patch(url, json={"price": "1500"}), 403, "TRADING_HALTED")
    assert world.broker.calls["modify_order"] == 0
    body(await trader_api.delete(url))
    assert world.broker.calls["cancel_order"] == 1


async def test_a_released_halt_lets_orders_through_again(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    body(await engage(trader_api, {"account_id": ACCOUNT}), 201)
    body(await release(trader_api, {"account_id": ACCOUNT}), 204)
    assert body(await trader_api.get(PATH)) == []
    body(await trader_api.post("/api/v1/orders", json=LIMIT), 201)
    assert world.broker.calls["place_order"] == 1
    refused(await release(trader_api, {"account_id": ACCOUNT}), 404, "NOT_FOUND")


async def test_an_admin_halt_on_everything_stops_every_trader_and_is_released_only_by_an_admin(
    world: World, admin_api: httpx.AsyncClient, trader_api: httpx.AsyncClient
) -> None:
    body(await engage(admin_api, {}), 201)
    refused(await trader_api.post("/api/v1/orders", json=LIMIT), 403, "TRADING_HALTED")
    assert [h["scope"] for h in body(await trader_api.get(PATH))] == ["everything"]
    refused(await release(trader_api, {}), 403, "FORBIDDEN")
    body(await release(admin_api, {}), 204)
    body(await trader_api.post("/api/v1/orders", json=LIMIT), 201)


async def test_a_trader_cannot_release_an_admin_halt_on_its_own_account(
    admin_api: httpx.AsyncClient, trader_api: httpx.AsyncClient
) -> None:
    body(await engage(admin_api, {"account_id": ACCOUNT}), 201)
    refused(await release(trader_api, {"account_id": ACCOUNT}), 403, "FORBIDDEN")
    assert len(body(await trader_api.get(PATH))) == 1


@pytest.mark.parametrize("scope", [{}, {"user_id": "someone-else"}])
async def test_a_trader_may_not_halt_everything_or_another_user(
    world: World, trader_api: httpx.AsyncClient, scope: dict[str, str]
) -> None:
    refused(await engage(trader_api, scope), 403, "FORBIDDEN")
    assert world.store.halts == {}


async def test_another_users_account_is_not_found_to_halt_or_release(
    world: World, trader_api: httpx.AsyncClient, outsider_api: httpx.AsyncClient
) -> None:
    refused(await engage(outsider_api, {"account_id": ACCOUNT}), 404, "NOT_FOUND")
    body(await engage(trader_api, {"account_id": ACCOUNT}), 201)
    refused(await release(outsider_api, {"account_id": ACCOUNT}), 404, "NOT_FOUND")
    assert body(await outsider_api.get(PATH)) == []  # another's halt is not shown
    body(
        await outsider_api.post("/api/v1/orders", json={**LIMIT, "account_id": OTHER_ACCOUNT}), 201
    )


async def test_a_script_may_halt_its_account_but_release_nothing(
    world: World, script_api: httpx.AsyncClient, trader_api: httpx.AsyncClient
) -> None:
    body(await engage(script_api, {"account_id": ACCOUNT}), 201)
    refused(await release(script_api, {"account_id": ACCOUNT}), 403, "FORBIDDEN")
    body(await release(trader_api, {"account_id": ACCOUNT}), 204)


@pytest.mark.parametrize(
    "scope", [{"account_id": ACCOUNT, "user_id": "trader"}, {"everything": True}]
)
async def test_a_scope_names_an_account_or_a_user_and_nothing_else(
    trader_api: httpx.AsyncClient, scope: dict[str, Any]
) -> None:
    refused(await engage(trader_api, scope), 422, "INVALID_INPUT")


async def test_another_process_sees_a_halt_once_its_view_is_half_a_second_old(
    world: World, settings: Settings, trader_api: httpx.AsyncClient
) -> None:
    other = bootstrap(
        settings,
        uow_factory=lambda: FakeUnitOfWork(world.store),
        broker=world.broker,
        clock=world.clock,
    )
    body(await trader_api.post("/api/v1/orders", json=LIMIT), 201)  # its view is read now
    async with api_client(create_app(other), world.api_key) as other_api:
        body(await engage(other_api, {"account_id": ACCOUNT}), 201)
        refused(await other_api.post("/api/v1/orders", json=LIMIT), 403, "TRADING_HALTED")
    world.clock.advance(REFRESH_SECONDS / 2)
    body(await trader_api.post("/api/v1/orders", json=LIMIT), 201)  # its view is still fresh
    world.clock.advance(REFRESH_SECONDS / 2)
    refused(await trader_api.post("/api/v1/orders", json=LIMIT), 403, "TRADING_HALTED")
    assert world.broker.calls["place_order"] == 2


def gauge(metrics: str, scope: str) -> float:
    line = f'order_service_kill_switch_engaged{{scope="{scope}"}} '
    return float(next(row for row in metrics.splitlines() if row.startswith(line)).split()[-1])


async def test_the_gauge_counts_the_halts_in_force_by_scope(
    admin_api: httpx.AsyncClient, trader_api: httpx.AsyncClient
) -> None:
    body(await engage(trader_api, {"account_id": ACCOUNT}), 201)
    body(await engage(admin_api, {}), 201)
    metrics = (await admin_api.get("/metrics")).text
    assert [gauge(metrics, s) for s in ("account", "user", "all")] == [1, 0, 1]
    body(await release(admin_api, {}), 204)
    metrics = (await admin_api.get("/metrics")).text
    assert [gauge(metrics, s) for s in ("account", "user", "all")] == [1, 0, 0]


# Flatten: the engage's own checks come first, so a refused flatten engages and cancels nothing.


def _flatten(scope: dict[str, str]) -> dict[str, Any]:
    return {**scope, "flatten": True}


def _untouched(world: World) -> None:
    assert world.store.halts == {}
    assert world.broker.calls["cancel_order"] == 0
    assert world.broker.calls["place_order"] == 1  # only the working order's placement


async def test_another_users_account_is_not_found_to_flatten(
    world: World, outsider_api: httpx.AsyncClient, working: Order
) -> None:
    refused(await outsider_api.post(PATH, json=_flatten({"account_id": ACCOUNT})), 404,
            "NOT_FOUND")  # fmt: skip
    _untouched(world)


@pytest.mark.parametrize("scope", [{}, {"user_id": "someone-else"}])
async def test_a_trader_may_not_flatten_everything_or_another_user(
    world: World, trader_api: httpx.AsyncClient, working: Order, scope: dict[str, str]
) -> None:
    refused(await trader_api.post(PATH, json=_flatten(scope)), 403, "FORBIDDEN")
    _untouched(world)


async def test_a_script_may_halt_its_account_but_not_flatten_it(
    world: World, script_api: httpx.AsyncClient, working: Order
) -> None:
    refused(await script_api.post(PATH, json=_flatten({"account_id": ACCOUNT})), 403,
            "FORBIDDEN")  # fmt: skip
    _untouched(world)


async def test_a_trader_flattens_its_own_account_cancelling_its_working_orders(
    world: World, trader_api: httpx.AsyncClient, working: Order
) -> None:
    engaged = body(await trader_api.post(PATH, json=_flatten({"account_id": ACCOUNT})), 201)

    assert engaged["flattened"]["cancels"] == [
        {"order_id": working.order_id, "status": "CANCELLED", "cancelled": True, "error_code": None}
    ]
    assert engaged["flattened"]["square_offs"] == []
    assert world.broker.calls["cancel_order"] == 1
    assert len(body(await trader_api.get(PATH))) == 1


async def test_an_admin_flattens_a_users_accounts(
    world: World, admin_api: httpx.AsyncClient, working: Order
) -> None:
    scope = {"user_id": world.trader.user_id}
    engaged = body(await admin_api.post(PATH, json=_flatten(scope)), 201)
    assert [c["order_id"] for c in engaged["flattened"]["cancels"]] == [working.order_id]


async def test_a_plain_engage_does_not_flatten(
    world: World, trader_api: httpx.AsyncClient, working: Order
) -> None:
    engaged = body(await trader_api.post(PATH, json={"account_id": ACCOUNT}), 201)
    assert engaged["flattened"] is None
    assert world.broker.calls["cancel_order"] == 0


async def test_a_release_does_not_take_flatten(trader_api: httpx.AsyncClient) -> None:
    body(await trader_api.post(PATH, json={"account_id": ACCOUNT}), 201)
    error = refused(
        await trader_api.request("DELETE", PATH, json=_flatten({"account_id": ACCOUNT})),
        422,
        "INVALID_INPUT",
    )
    assert error["details"]["field"] == "flatten"
