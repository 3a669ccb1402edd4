"""The risk limits API: who may read and change them, strict validation, the audit trail."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from order_service.bootstrap import Services, bootstrap
from order_service.config import Settings
from order_service.domain.account import Principal
from order_service.entrypoints.api.app import create_app
from order_service.services.risk_limits import RISK_LIMITS_CHANGED
from tests.unit.answers import body, refused
from tests.unit.conftest import World, api_client
from tests.unit.fakes import FakeUnitOfWork

pytestmark = pytest.mark.asyncio

ACCOUNT_URL = "/api/v1/accounts/PAPER1/risk-limits"
OTHER_URL = "/api/v1/accounts/PAPER2/risk-limits"
UNSET = {
    "max_order_value": None, "max_quantity": None, "max_open_orders": None,
    "max_orders_per_day": None, "allowed_exchanges": None, "allowed_products": None,
    "max_gross_exposure": None, "max_daily_loss": None,
}  # fmt: skip


@pytest_asyncio.fixture
async def admin_api(world: World, admin: Principal) -> AsyncIterator[httpx.AsyncClient]:
    key = await world.services.users.create_api_key(admin.user_id)
    async with api_client(create_app(world.services), key) as client:
        yield client


async def test_limits_are_unset_until_an_admin_sets_them_and_each_change_is_recorded(
    trader_api: httpx.AsyncClient, admin_api: httpx.AsyncClient, world: World, admin: Principal
) -> None:
    assert body(await trader_api.get(ACCOUNT_URL)) == {
        "scope": "account", "scope_id": "PAPER1", "account_id": "PAPER1", **UNSET
    }  # fmt: skip
    limits = {"max_order_value": "500000.50", "allowed_exchanges": ["NSE", "BSE"]}

    answer = body(await admin_api.put(ACCOUNT_URL, json=limits))
    world.clock.advance(60)
    body(await admin_api.put(ACCOUNT_URL, json={"max_quantity": 10}))

    assert answer["max_order_value"] == "500000.50"
    assert answer["allowed_exchanges"] == ["BSE", "NSE"]
    assert body(await trader_api.get(ACCOUNT_URL))["max_quantity"] == 10
    changes = [e for e in world.store.account_events if e.name == RISK_LIMITS_CHANGED]
    assert [(e.data["by"], e.data["scope"]) for e in changes] == [(admin.user_id, "account")] * 2
    assert changes[1].occurred_at == world.clock.now()
    assert changes[1].data["previous"]["max_order_value"] == "500000.50"
    assert changes[1].data["limits"]["max_order_value"] is None


async def test_a_trader_may_read_its_limits_but_not_change_them(
    trader_api: httpx.AsyncClient, world: World
) -> None:
    refused(await trader_api.put(ACCOUNT_URL, json={"max_quantity": 10**6}), 403, "FORBIDDEN")
    assert not world.store.risk_limits


def owners_may_set(settings: Settings, world: World) -> Services:
    """The services of ``world`` configured to let an account's owner change its limits."""
    configured = settings.model_copy(update={"risk_owners_may_set_limits": True})
    return bootstrap(configured, uow_factory=lambda: FakeUnitOfWork(world.store),
                     broker=world.broker, clock=world.clock)  # fmt: skip


async def test_an_owner_may_change_them_when_configured(settings: Settings, world: World) -> None:
    async with api_client(create_app(owners_may_set(settings, world)), world.api_key) as owner:
        body(await owner.put(ACCOUNT_URL, json={"max_quantity": 10}))
        assert body(await owner.get(ACCOUNT_URL))["max_quantity"] == 10


@pytest.mark.usefixtures("outsider")
async def test_another_user_s_account_and_strategy_do_not_exist(
    trader_api: httpx.AsyncClient, admin_api: httpx.AsyncClient, world: World
) -> None:
    theirs = {"account_id": "PAPER2", "name": "theirs"}
    other = body(await admin_api.post("/api/v1/strategies", json=theirs), 201)
    strategy_url = f"/api/v1/strategies/{other['strategy_id']}/risk-limits"
    for url in (OTHER_URL, strategy_url, "/api/v1/strategies/NOSUCH/risk-limits"):
        refused(await trader_api.get(url), 404, "NOT_FOUND")
        refused(await trader_api.put(url, json={"max_quantity": 1}), 404, "NOT_FOUND")
    assert not world.store.risk_limits
    body(await admin_api.put(strategy_url, json={"max_quantity": 1}))  # an admin sees all


async def test_no_credentials_no_limits(anonymous_api: httpx.AsyncClient) -> None:
    refused(await anonymous_api.get(ACCOUNT_URL), 401, "UNAUTHENTICATED")
    refused(await anonymous_api.put(ACCOUNT_URL, json={}), 401, "UNAUTHENTICATED")


@pytest.mark.parametrize(
    "limits",
    [
        {"max_order_value": "-1"}, {"max_order_value": "NaN"}, {"max_order_value": "Infinity"},
        {"max_order_value": "1e400"}, {"max_order_value": True}, {"max_quantity": -1},
        {"max_quantity": "10"}, {"max_open_orders": 1.5}, {"allowed_exchanges": ["NYSE"]},
        {"allowed_products": ["cnc"]}, {"allowed_exchanges": "NSE"}, {"max_loss": "1"},
    ],
    ids=str,
)  # fmt: skip
async def test_limits_are_validated_strictly(
    admin_api: httpx.AsyncClient, world: World, limits: dict[str, object]
) -> None:
    refused(await admin_api.put(ACCOUNT_URL, json=limits), 422, "INVALID_INPUT")
    assert not world.store.risk_limits


async def test_a_script_key_may_not_change_limits_even_when_owners_may(
    settings: Settings, world: World, trader_api: httpx.AsyncClient
) -> None:
    bot = {"account_id": "PAPER1", "name": "bot"}
    strategy = body(await trader_api.post("/api/v1/strategies", json=bot), 201)
    user = await world.services.users.get_user(world.trader.user_id)
    key = await world.services.users.create_api_key(user.user_id, strategy["strategy_id"])
    async with api_client(create_app(owners_may_set(settings, world)), key) as script:
        url = f"/api/v1/strategies/{strategy['strategy_id']}/risk-limits"
        refused(await script.put(url, json={"max_quantity": 10**6}), 403, "FORBIDDEN")
