"""Portfolios over HTTP: the defaults, the caller's own, attaching strategies, every refusal.

Who sees a portfolio: its owner and admins; an account's default portfolio, everyone granted
the account. A portfolio shows only the strategies of accounts its reader may see.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from order_service.domain.account import Principal
from order_service.domain.ids import AccountId, StrategyId
from order_service.entrypoints.api.app import create_app
from tests.unit.answers import body, refused
from tests.unit.conftest import OTHER_ACCOUNT, World, add_trader, api_client, log_in

pytestmark = pytest.mark.asyncio
THIRD_ACCOUNT = AccountId("PAPER3")
NO_SUCH = "01JNOSUCH00000000000000000"


@pytest_asyncio.fixture
async def outsider_api(world: World) -> AsyncIterator[httpx.AsyncClient]:
    _, key = await add_trader(world.services, "outsider", OTHER_ACCOUNT)
    async with api_client(create_app(world.services), key) as client:
        yield client


async def portfolio(client: httpx.AsyncClient, name: str = "swing book") -> Any:
    return body(await client.post("/api/v1/portfolios", json={"name": name}), 201)


async def strategy(client: httpx.AsyncClient, name: str, account: str = "PAPER1") -> str:
    created = body(
        await client.post("/api/v1/strategies", json={"account_id": account, "name": name}), 201
    )
    strategy_id: str = created["strategy_id"]
    return strategy_id


def member(portfolio_id: str, strategy_id: str) -> str:
    return f"/api/v1/portfolios/{portfolio_id}/strategies/{strategy_id}"


async def test_each_account_has_a_default_portfolio_holding_its_default_strategy(
    trader_api: httpx.AsyncClient,
) -> None:
    (default_strategy,) = body(await trader_api.get("/api/v1/strategies"))
    (default,) = body(await trader_api.get("/api/v1/portfolios"))

    assert default["is_default"] is True
    assert default["account_id"] == "PAPER1"
    assert default["owner_id"] is None
    assert default["strategy_ids"] == [default_strategy["strategy_id"]]


async def test_a_portfolio_is_created_read_renamed_archived_and_deleted(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    created = await portfolio(trader_api, "  swing book ")
    path = f"/api/v1/portfolios/{created['portfolio_id']}"

    assert created["name"] == "swing book"
    assert created["owner_id"] == world.trader.user_id
    assert created["strategy_ids"] == []
    assert body(await trader_api.get(path)) == created
    assert body(await trader_api.patch(path, json={"name": "swings"}))["name"] == "swings"
    assert body(await trader_api.patch(path, json={"archived": True}))["archived"] is True
    assert body(await trader_api.patch(path, json={"archived": False}))["archived"] is False
    assert body(await trader_api.delete(path), 204) is None
    refused(await trader_api.get(path), 404, "NOT_FOUND")


async def test_strategies_of_several_accounts_are_attached_and_detached(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    await world.services.accounts.add_account(world.trader, THIRD_ACCOUNT, "paper", "secret")
    await log_in(world.services, world.trader, THIRD_ACCOUNT)
    first = await strategy(trader_api, "momentum")
    second = await strategy(trader_api, "carry", "PAPER3")
    portfolio_id = (await portfolio(trader_api))["portfolio_id"]

    body(await trader_api.put(member(portfolio_id, first)))
    again = body(await trader_api.put(member(portfolio_id, first)))  # no change
    both = body(await trader_api.put(member(portfolio_id, second)))

    assert again["strategy_ids"] == [first]
    assert both["strategy_ids"] == sorted([first, second])
    assert body(await trader_api.delete(member(portfolio_id, first)), 204) is None
    shown = body(await trader_api.get(f"/api/v1/portfolios/{portfolio_id}"))
    assert shown["strategy_ids"] == [second]
    refused(await trader_api.delete(member(portfolio_id, first)), 404, "NOT_FOUND")


async def test_a_strategy_in_an_account_the_owner_lost_is_no_longer_shown(
    world: World, trader_api: httpx.AsyncClient, admin: Principal
) -> None:
    await world.services.accounts.add_account(world.trader, THIRD_ACCOUNT, "paper", "secret")
    kept = await strategy(trader_api, "momentum")
    lost = await strategy(trader_api, "carry", "PAPER3")
    portfolio_id = (await portfolio(trader_api))["portfolio_id"]
    for strategy_id in (kept, lost):
        body(await trader_api.put(member(portfolio_id, strategy_id)))

    await world.services.accounts.revoke(admin, world.trader.user_id, THIRD_ACCOUNT)
    world.services.directory.forget_all()

    shown = body(await trader_api.get(f"/api/v1/portfolios/{portfolio_id}"))
    assert shown["strategy_ids"] == [kept]
    refused(await trader_api.put(member(portfolio_id, lost)), 404, "NOT_FOUND")


async def test_another_users_portfolio_does_not_exist_for_them(
    trader_api: httpx.AsyncClient, outsider_api: httpx.AsyncClient
) -> None:
    mine = (await portfolio(trader_api))["portfolio_id"]
    their_strategy = await strategy(outsider_api, "theirs", "PAPER2")
    path = f"/api/v1/portfolios/{mine}"

    refused(await outsider_api.get(path), 404, "NOT_FOUND")
    refused(await outsider_api.patch(path, json={"name": "taken"}), 404, "NOT_FOUND")
    refused(await outsider_api.delete(path), 404, "NOT_FOUND")
    refused(await outsider_api.put(member(mine, their_strategy)), 404, "NOT_FOUND")
    listed = body(await outsider_api.get("/api/v1/portfolios"))
    assert [p["account_id"] for p in listed] == ["PAPER2"]  # its own default only
    assert body(await trader_api.get(path))["strategy_ids"] == []


async def test_another_accounts_strategy_cannot_be_attached(
    trader_api: httpx.AsyncClient, outsider_api: httpx.AsyncClient
) -> None:
    theirs = await strategy(outsider_api, "theirs", "PAPER2")
    mine = (await portfolio(trader_api))["portfolio_id"]

    error = refused(await trader_api.put(member(mine, theirs)), 404, "NOT_FOUND")

    assert error["details"] == {"strategy_id": theirs}
    assert body(await trader_api.get(f"/api/v1/portfolios/{mine}"))["strategy_ids"] == []


async def test_ids_that_do_not_exist_are_not_found(trader_api: httpx.AsyncClient) -> None:
    mine = (await portfolio(trader_api))["portfolio_id"]
    own = await strategy(trader_api, "momentum")

    refused(await trader_api.get(f"/api/v1/portfolios/{NO_SUCH}"), 404, "NOT_FOUND")
    refused(await trader_api.patch(f"/api/v1/portfolios/{NO_SUCH}", json={}), 404, "NOT_FOUND")
    refused(await trader_api.delete(f"/api/v1/portfolios/{NO_SUCH}"), 404, "NOT_FOUND")
    refused(await trader_api.put(member(NO_SUCH, own)), 404, "NOT_FOUND")
    refused(await trader_api.put(member(mine, NO_SUCH)), 404, "NOT_FOUND")
    refused(await trader_api.delete(member(mine, NO_SUCH)), 404, "NOT_FOUND")
    refused(await trader_api.get(f"/api/v1/portfolios/{'x' * 65}"), 422, "INVALID_INPUT")


async def test_an_admin_sees_every_portfolio(
    world: World, trader_api: httpx.AsyncClient, admin: Principal
) -> None:
    mine = (await portfolio(trader_api))["portfolio_id"]
    key = await world.services.users.create_api_key(admin.user_id)
    async with api_client(create_app(world.services), key) as client:
        listed = body(await client.get("/api/v1/portfolios"))
        assert body(await client.get(f"/api/v1/portfolios/{mine}"))["portfolio_id"] == mine
    assert {p["portfolio_id"] for p in listed} >= {mine}
    assert {p["account_id"] for p in listed if p["is_default"]} == {"PAPER1"}


async def test_the_default_portfolio_cannot_be_changed_regrouped_or_deleted(
    trader_api: httpx.AsyncClient,
) -> None:
    (default,) = body(await trader_api.get("/api/v1/portfolios"))
    path = f"/api/v1/portfolios/{default['portfolio_id']}"
    other = await strategy(trader_api, "momentum")
    (held,) = default["strategy_ids"]

    for response in (
        await trader_api.patch(path, json={"name": "mine"}),
        await trader_api.patch(path, json={"archived": True}),
        await trader_api.delete(path),
        await trader_api.put(member(default["portfolio_id"], other)),
        await trader_api.delete(member(default["portfolio_id"], held)),
    ):
        assert refused(response, 409, "CONFLICT")["details"]["reason"] == "default"
    assert body(await trader_api.get(path)) == default


async def test_archived_strategies_and_portfolios_refuse_new_members(
    trader_api: httpx.AsyncClient,
) -> None:
    archived_strategy = await strategy(trader_api, "old")
    body(await trader_api.patch(f"/api/v1/strategies/{archived_strategy}", json={"archived": True}))
    live_strategy = await strategy(trader_api, "new")
    open_book = (await portfolio(trader_api, "open"))["portfolio_id"]
    closed_book = (await portfolio(trader_api, "closed"))["portfolio_id"]
    body(await trader_api.patch(f"/api/v1/portfolios/{closed_book}", json={"archived": True}))

    by_strategy = refused(
        await trader_api.put(member(open_book, archived_strategy)), 409, "CONFLICT"
    )
    by_portfolio = refused(
        await trader_api.put(member(closed_book, live_strategy)), 409, "CONFLICT"
    )

    assert by_strategy["details"]["reason"] == by_portfolio["details"]["reason"] == "archived"


async def test_a_deleted_strategy_leaves_every_portfolio(trader_api: httpx.AsyncClient) -> None:
    strategy_id = await strategy(trader_api, "momentum")
    portfolio_id = (await portfolio(trader_api))["portfolio_id"]
    body(await trader_api.put(member(portfolio_id, strategy_id)))

    body(await trader_api.delete(f"/api/v1/strategies/{strategy_id}"), 204)

    shown = body(await trader_api.get(f"/api/v1/portfolios/{portfolio_id}"))
    assert shown["strategy_ids"] == []


async def test_a_name_the_caller_uses_is_a_conflict_and_another_user_may_use_it(
    trader_api: httpx.AsyncClient, outsider_api: httpx.AsyncClient
) -> None:
    await portfolio(trader_api, "swing")
    taken = await trader_api.post("/api/v1/portfolios", json={"name": "swing"})
    assert refused(taken, 409, "CONFLICT")["details"]["reason"] == "name_taken"
    other = (await portfolio(trader_api, "carry"))["portfolio_id"]
    renamed = await trader_api.patch(f"/api/v1/portfolios/{other}", json={"name": "swing"})
    assert refused(renamed, 409, "CONFLICT")["details"]["reason"] == "name_taken"
    await portfolio(outsider_api, "swing")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "x" * 101}, "name"),
        ({"name": ""}, "name"),
        ({"name": 7}, "name"),
        ({"name": {"a": 1}}, "name"),
        ({"name": "line\nbreak"}, "name"),
        ({}, "name"),
        ({"name": "x", "owner_id": "someone"}, "owner_id"),
    ],
)
async def test_a_bad_portfolio_body_is_invalid_input(
    world: World, trader_api: httpx.AsyncClient, payload: dict[str, Any], field: str
) -> None:
    error = refused(await trader_api.post("/api/v1/portfolios", json=payload), 422, "INVALID_INPUT")

    assert error["details"]["field"] == field
    assert len(world.store.portfolios) == 1  # only PAPER1's default


async def test_a_scripts_key_reads_portfolios_but_changes_none(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    strategy_id = await strategy(trader_api, "momentum")
    portfolio_id = (await portfolio(trader_api))["portfolio_id"]
    key = await world.services.users.create_api_key(world.trader.user_id, StrategyId(strategy_id))
    path = f"/api/v1/portfolios/{portfolio_id}"
    async with api_client(create_app(world.services), key) as script:
        assert body(await script.get(path))["portfolio_id"] == portfolio_id
        for response in (
            await script.post("/api/v1/portfolios", json={"name": "mine"}),
            await script.patch(path, json={"name": "mine"}),
            await script.delete(path),
            await script.put(member(portfolio_id, strategy_id)),
            await script.delete(member(portfolio_id, strategy_id)),
        ):
            refused(response, 403, "FORBIDDEN")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/portfolios"),
        ("POST", "/api/v1/portfolios"),
        ("GET", "/api/v1/portfolios/P1"),
        ("PATCH", "/api/v1/portfolios/P1"),
        ("DELETE", "/api/v1/portfolios/P1"),
        ("PUT", "/api/v1/portfolios/P1/strategies/S1"),
        ("DELETE", "/api/v1/portfolios/P1/strategies/S1"),
    ],
)
async def test_portfolios_need_credentials(
    anonymous_api: httpx.AsyncClient, method: str, path: str
) -> None:
    refused(await anonymous_api.request(method, path), 401, "UNAUTHENTICATED")
