"""Unit fixtures: the services built by bootstrap() around fakes of every port.

Async fixtures use ``pytest_asyncio.fixture``: pytest-asyncio runs in strict mode.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import pytest_asyncio

from order_service.adapters.broker.fake import FakeBroker
from order_service.bootstrap import Services, bootstrap
from order_service.config import Settings
from order_service.domain.account import Account, Principal, Role
from order_service.domain.ids import AccountId
from order_service.domain.order import Order
from order_service.domain.status import OrderStatus
from order_service.entrypoints.api.app import create_app
from tests.factories import ACCOUNT, OTHER_ACCOUNT, make_order
from tests.unit.fakes import FakeClock, FakeStore, FakeUnitOfWork

__all__ = ["ACCOUNT", "OTHER_ACCOUNT", "World", "eventually", "log_in"]


@dataclass
class World:
    services: Services
    store: FakeStore
    broker: FakeBroker
    clock: FakeClock
    trader: Principal
    api_key: str


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def broker(clock: FakeClock) -> FakeBroker:
    """The broker behind ``world``; override this fixture to put another double there."""
    return FakeBroker(clock)


@pytest_asyncio.fixture
async def world(
    settings: Settings, store: FakeStore, clock: FakeClock, broker: FakeBroker
) -> World:
    services = bootstrap(
        settings, uow_factory=lambda: FakeUnitOfWork(store), broker=broker, clock=clock
    )
    trader, key = await add_trader(services, "trader", ACCOUNT)
    return World(services, store, broker, clock, trader, key)


@pytest_asyncio.fixture
async def outsider(world: World) -> Principal:
    """A second trader with its own logged-in account PAPER2, and no access to PAPER1."""
    principal, _ = await add_trader(world.services, "outsider", OTHER_ACCOUNT)
    return principal


@pytest_asyncio.fixture
async def admin(world: World) -> Principal:
    return await world.services.users.create_user("admin", frozenset({Role.ADMIN}))


async def add_trader(services: Services, name: str, account_id: AccountId) -> tuple[Principal, str]:
    """Create a trader with an API key and a logged-in account; return it re-read with grants."""
    user = await services.users.create_user(name, frozenset({Role.TRADER}))
    key = await services.users.create_api_key(user.user_id)
    await services.accounts.add_account(user, account_id, "paper", "paper-secret")
    await log_in(services, user, account_id)
    return await services.users.get_user(user.user_id), key


def state_of(login_url: str) -> str:
    """The one-time state our login redirect hands to the broker."""
    return parse_qs(urlsplit(login_url).query)["state"][0]


async def log_in(
    services: Services, principal: Principal, account_id: AccountId, token: str = "request-token"
) -> Account:
    """Walk the broker login as the browser would: our redirect, then our callback."""
    url = (await services.logins.start(principal, account_id)).url
    return await services.logins.complete(state_of(url), token)


async def eventually(condition: Callable[[], bool]) -> None:
    """Let the event loop run until ``condition`` holds; fail after about two seconds."""
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the condition never held")


def api_client(app: Any, key: str | None = None) -> httpx.AsyncClient:
    """An HTTP client of the app in-process; with ``key``, as that key's user."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://service", headers=headers)


@pytest_asyncio.fixture
async def anonymous_api(world: World) -> AsyncIterator[httpx.AsyncClient]:
    """The API of ``world`` with no credentials (the broker, a browser, an outsider)."""
    async with api_client(create_app(world.services)) as client:
        yield client


@pytest_asyncio.fixture
async def trader_api(world: World) -> AsyncIterator[httpx.AsyncClient]:
    """The API of ``world`` as its trader."""
    async with api_client(create_app(world.services), world.api_key) as client:
        yield client


async def insert_order(world: World, status: OrderStatus) -> Order:
    """Store an order without a broker id, as a crashed process or a lost reply leaves it."""
    strategy = await FakeUnitOfWork(world.store).strategies.get_default(ACCOUNT)
    assert strategy is not None
    order = make_order(
        status=status,
        strategy_id=strategy.strategy_id,
        user_id=world.trader.user_id,
        created_at=world.clock.now(),
        updated_at=world.clock.now(),
    )
    async with FakeUnitOfWork(world.store) as uow:
        await uow.orders.add(order)
        await uow.commit()
    return order
