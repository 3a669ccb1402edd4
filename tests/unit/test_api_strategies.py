"""Strategies over HTTP: each account's default, create, rename, archive, delete, every refusal."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import pytest_asyncio

from order_service.domain.account import Principal
from order_service.domain.ids import StrategyId
from order_service.domain.values import TransactionType
from order_service.entrypoints.api.app import create_app
from tests.factories import make_limit_request
from tests.unit.answers import LIMIT, body, refused
from tests.unit.conftest import ACCOUNT, OTHER_ACCOUNT, World, add_trader, api_client

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def outsider_api(world: World) -> Any:
    """Another trader's API, with its own account PAPER2 and no access to PAPER1."""
    _, key = await add_trader(world.services, "outsider", OTHER_ACCOUNT)
    async with api_client(create_app(world.services), key) as client:
        yield client


async def create(client: httpx.AsyncClient, name: str, account: str = "PAPER1") -> Any:
    response = await client.post("/api/v1/strategies", json={"account_id": account, "name": name})
    return body(response, 201)


async def script_api(world: World, strategy_id: str) -> httpx.AsyncClient:
    key = await world.services.users.create_api_key(world.trader.user_id, StrategyId(strategy_id))
    return api_client(create_app(world.services), key)


async def test_each_account_lists_its_default_strategy(trader_api: httpx.AsyncClient) -> None:
    (default,) = body(await trader_api.get("/api/v1/strategies"))

    assert default["account_id"] == "PAPER1"
    assert default["is_default"] is True
    assert default["name"] == "default"
    assert default["archived"] is False


async def test_a_strategy_is_created_listed_and_read(trader_api: httpx.AsyncClient) -> None:
    created = await create(trader_api, "  momentum  ")

    assert created["name"] == "momentum"  # trimmed
    assert created["is_default"] is False
    listed = body(await trader_api.get("/api/v1/strategies", params={"account_id": "PAPER1"}))
    assert [s["name"] for s in listed] == ["default", "momentum"]
    read = body(await trader_api.get(f"/api/v1/strategies/{created['strategy_id']}"))
    assert read == created


async def test_a_callers_list_holds_only_its_accounts_strategies(
    trader_api: httpx.AsyncClient, outsider_api: httpx.AsyncClient
) -> None:
    await create(outsider_api, "theirs", "PAPER2")

    assert {s["account_id"] for s in body(await trader_api.get("/api/v1/strategies"))} == {"PAPER1"}
    asked = await trader_api.get("/api/v1/strategies", params={"account_id": "PAPER2"})
    refused(asked, 404, "NOT_FOUND")


async def test_an_admin_sees_every_accounts_strategies(
    world: World, admin: Principal, outsider_api: httpx.AsyncClient
) -> None:
    key = await world.services.users.create_api_key(admin.user_id)
    async with api_client(create_app(world.services), key) as client:
        listed = body(await client.get("/api/v1/strategies"))
    assert {s["account_id"] for s in listed} == {"PAPER1", "PAPER2"}


async def test_another_users_strategy_does_not_exist_for_reading_or_changing(
    world: World, trader_api: httpx.AsyncClient, outsider_api: httpx.AsyncClient
) -> None:
    theirs = (await create(outsider_api, "theirs", "PAPER2"))["strategy_id"]
    path = f"/api/v1/strategies/{theirs}"

    refused(await trader_api.get(path), 404, "NOT_FOUND")
    refused(await trader_api.patch(path, json={"name": "mine"}), 404, "NOT_FOUND")
    refused(await trader_api.delete(path), 404, "NOT_FOUND")
    create_there = {"account_id": "PAPER2", "name": "sneaky"}
    refused(await trader_api.post("/api/v1/strategies", json=create_there), 404, "NOT_FOUND")
    assert world.store.strategies[StrategyId(theirs)].name == "theirs"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/strategies/01JNOSUCHSTRATEGY000000000"),
        ("PATCH", "/api/v1/strategies/01JNOSUCHSTRATEGY000000000"),
        ("DELETE", "/api/v1/strategies/01JNOSUCHSTRATEGY000000000"),
    ],
)
async def test_a_strategy_that_does_not_exist_is_not_found(
    trader_api: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await trader_api.request(
        method, path, json={"name": "x"} if method == "PATCH" else None
    )
    refused(response, 404, "NOT_FOUND")


async def test_an_unknown_account_is_not_found(trader_api: httpx.AsyncClient) -> None:
    body_ = {"account_id": "NOSUCH", "name": "x"}
    refused(await trader_api.post("/api/v1/strategies", json=body_), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"account_id": "PAPER1", "name": "x" * 101}, "name"),
        ({"account_id": "PAPER1", "name": ""}, "name"),
        ({"account_id": "PAPER1", "name": "   "}, "name"),
        ({"account_id": "PAPER1", "name": "tab\there"}, "name"),
        ({"account_id": "PAPER1", "name": 123}, "name"),
        ({"account_id": "PAPER1", "name": ["x"]}, "name"),
        ({"account_id": "PAPER1", "name": None}, "name"),
        ({"account_id": 1, "name": "x"}, "account_id"),
        ({"account_id": "PAPER1"}, "name"),
        ({"account_id": "PAPER1", "name": "x", "is_default": True}, "is_default"),
    ],
)
async def test_a_bad_strategy_body_is_invalid_input(
    world: World, trader_api: httpx.AsyncClient, payload: dict[str, Any], field: str
) -> None:
    error = refused(await trader_api.post("/api/v1/strategies", json=payload), 422, "INVALID_INPUT")

    assert error["details"]["field"] == field
    assert len(world.store.strategies) == 1  # only the default


async def test_a_name_the_account_uses_is_a_conflict(trader_api: httpx.AsyncClient) -> None:
    await create(trader_api, "momentum")
    taken = await trader_api.post(
        "/api/v1/strategies", json={"account_id": "PAPER1", "name": "momentum"}
    )
    assert refused(taken, 409, "CONFLICT")["details"]["reason"] == "name_taken"
    other = (await create(trader_api, "swing"))["strategy_id"]
    renamed = await trader_api.patch(f"/api/v1/strategies/{other}", json={"name": "momentum"})
    assert refused(renamed, 409, "CONFLICT")["details"]["reason"] == "name_taken"


async def test_a_strategy_is_renamed_archived_and_restored(trader_api: httpx.AsyncClient) -> None:
    path = f"/api/v1/strategies/{(await create(trader_api, 'momentum'))['strategy_id']}"

    renamed = body(await trader_api.patch(path, json={"name": "breakout"}))
    archived = body(await trader_api.patch(path, json={"archived": True}))
    restored = body(await trader_api.patch(path, json={"archived": False}))

    assert renamed["name"] == "breakout"
    assert archived["archived"] is True
    assert archived["archived_at"] is not None
    assert restored["archived"] is False
    assert restored["name"] == "breakout"


@pytest.mark.parametrize("payload", [{"archived": "yes"}, {"archived": 1}, {"name": 5}, {"x": 1}])
async def test_a_bad_patch_is_invalid_input(
    trader_api: httpx.AsyncClient, payload: dict[str, Any]
) -> None:
    path = f"/api/v1/strategies/{(await create(trader_api, 'momentum'))['strategy_id']}"
    refused(await trader_api.patch(path, json=payload), 422, "INVALID_INPUT")


async def test_the_default_strategy_cannot_be_archived_or_deleted(
    trader_api: httpx.AsyncClient,
) -> None:
    (default,) = body(await trader_api.get("/api/v1/strategies"))
    path = f"/api/v1/strategies/{default['strategy_id']}"

    archive = refused(await trader_api.patch(path, json={"archived": True}), 409, "CONFLICT")
    delete = refused(await trader_api.delete(path), 409, "CONFLICT")

    assert archive["details"]["reason"] == delete["details"]["reason"] == "default"
    assert "default strategy" in delete["message"]
    assert body(await trader_api.get(path))["archived"] is False


async def test_a_deleted_strategy_is_gone_and_its_name_free(trader_api: httpx.AsyncClient) -> None:
    path = f"/api/v1/strategies/{(await create(trader_api, 'momentum'))['strategy_id']}"

    assert body(await trader_api.delete(path), 204) is None

    refused(await trader_api.get(path), 404, "NOT_FOUND")
    refused(await trader_api.delete(path), 404, "NOT_FOUND")
    assert [s["name"] for s in body(await trader_api.get("/api/v1/strategies"))] == ["default"]
    await create(trader_api, "momentum")


async def test_a_strategy_with_an_open_order_cannot_be_deleted(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    strategy_id = (await create(trader_api, "momentum"))["strategy_id"]
    request = make_limit_request(strategy_id=StrategyId(strategy_id))
    placed = await world.services.orders.place_order(world.trader, request, None, force=True)
    assert not placed.order.is_terminal  # accepted, working at the broker

    error = refused(await trader_api.delete(f"/api/v1/strategies/{strategy_id}"), 409, "CONFLICT")

    assert error["details"]["reason"] == "open_orders"
    assert error["details"]["open_orders"] == 1


async def test_a_strategy_holding_a_position_cannot_be_deleted_until_it_is_flat(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    strategy_id = StrategyId((await create(trader_api, "momentum"))["strategy_id"])
    await filled(world, strategy_id, "BUY")
    path = f"/api/v1/strategies/{strategy_id}"

    error = refused(await trader_api.delete(path), 409, "CONFLICT")
    assert error["details"]["reason"] == "open_positions"
    assert error["details"]["open_positions"] == 1

    await filled(world, strategy_id, "SELL")
    assert body(await trader_api.delete(path), 204) is None


async def filled(world: World, strategy_id: StrategyId, side: str) -> None:
    request = make_limit_request(strategy_id=strategy_id, transaction_type=TransactionType(side))
    order = (await world.services.orders.place_order(world.trader, request, None, force=True)).order
    assert order.broker_order_id is not None
    world.broker.fill(order.broker_order_id)
    await world.services.reconcile.sync_account(ACCOUNT)
    await world.services.trades.sync_account(ACCOUNT)


async def test_an_archived_strategy_takes_no_new_orders(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    strategy_id = (await create(trader_api, "momentum"))["strategy_id"]
    body(await trader_api.patch(f"/api/v1/strategies/{strategy_id}", json={"archived": True}))

    placed = await trader_api.post("/api/v1/orders", json={**LIMIT, "strategy_id": strategy_id})

    error = refused(placed, 409, "CONFLICT")
    assert error["details"] == {"strategy_id": strategy_id, "reason": "archived"}
    assert world.store.orders == {}
    assert world.broker.calls["place_order"] == 0


async def test_an_order_naming_another_accounts_strategy_is_invalid_input(
    world: World, trader_api: httpx.AsyncClient, outsider_api: httpx.AsyncClient
) -> None:
    theirs = (await create(outsider_api, "theirs", "PAPER2"))["strategy_id"]

    placed = await trader_api.post("/api/v1/orders", json={**LIMIT, "strategy_id": theirs})

    error = refused(placed, 422, "INVALID_INPUT")
    assert error["details"]["field"] == "strategy_id"
    assert world.store.orders == {}


async def test_a_deleted_strategy_takes_no_new_orders(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    strategy_id = (await create(trader_api, "momentum"))["strategy_id"]
    body(await trader_api.delete(f"/api/v1/strategies/{strategy_id}"), 204)

    placed = await trader_api.post("/api/v1/orders", json={**LIMIT, "strategy_id": strategy_id})

    assert refused(placed, 422, "INVALID_INPUT")["details"]["field"] == "strategy_id"


async def test_a_scripts_key_reads_strategies_but_changes_none(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    strategy_id = (await create(trader_api, "momentum"))["strategy_id"]
    path = f"/api/v1/strategies/{strategy_id}"
    async with await script_api(world, strategy_id) as script:
        assert body(await script.get(path))["name"] == "momentum"
        new = {"account_id": "PAPER1", "name": "mine"}
        refused(await script.post("/api/v1/strategies", json=new), 403, "FORBIDDEN")
        refused(await script.patch(path, json={"archived": True}), 403, "FORBIDDEN")
        refused(await script.delete(path), 403, "FORBIDDEN")
    assert body(await trader_api.get(path))["archived"] is False


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/strategies"),
        ("POST", "/api/v1/strategies"),
        ("GET", "/api/v1/strategies/S1"),
        ("PATCH", "/api/v1/strategies/S1"),
        ("DELETE", "/api/v1/strategies/S1"),
    ],
)
async def test_strategies_need_credentials(
    anonymous_api: httpx.AsyncClient, method: str, path: str
) -> None:
    refused(await anonymous_api.request(method, path), 401, "UNAUTHENTICATED")


async def test_an_overlong_strategy_id_is_invalid_input(trader_api: httpx.AsyncClient) -> None:
    refused(await trader_api.get(f"/api/v1/strategies/{'x' * 65}"), 422, "INVALID_INPUT")


async def test_the_ownership_routes_document_their_refusals_in_openapi(
    anonymous_api: httpx.AsyncClient,
) -> None:
    paths = body(await anonymous_api.get("/openapi.json"))["paths"]

    expected = {
        "/api/v1/strategies": {"get", "post"},
        "/api/v1/strategies/{strategy_id}": {"get", "patch", "delete"},
        "/api/v1/portfolios": {"get", "post"},
        "/api/v1/portfolios/{portfolio_id}": {"get", "patch", "delete"},
        "/api/v1/portfolios/{portfolio_id}/strategies/{strategy_id}": {"put", "delete"},
        "/api/v1/keys": {"get", "post"},
    }
    for path, methods in expected.items():
        assert set(paths[path]) == methods, path
        for method in methods:
            assert {"401", "403", "404", "409", "422"} <= set(paths[path][method]["responses"])
    order_fields = body(await anonymous_api.get("/openapi.json"))["components"]["schemas"]
    assert "origin" in order_fields["OrderOut"]["properties"]
    assert "portfolio_id" in order_fields["PnlOut"]["properties"]
