"""Database fixtures: one empty, migrated database per test, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from order_service.adapters.db.crypto import SecretCipher
from order_service.adapters.db.engine import create_engine
from order_service.adapters.db.migrate import upgrade_async
from order_service.adapters.db.unit_of_work import SqlUnitOfWorkFactory, sql_uow_factory
from order_service.domain.account import Account, Strategy
from order_service.domain.ids import AccountId, StrategyId
from order_service.domain.order import Order
from order_service.services.ports import UnitOfWork
from tests import factories
from tests.factories import default_strategy_id
from tests.unit.fakes import FakeStore, FakeUnitOfWork

POSTGRES_ENV = "ORDER_SERVICE_TEST_POSTGRES_URL"
SECRET_KEY = "integration-test-secret"
# Microseconds, so every round trip shows that timestamps keep them.
NOW = datetime(2026, 1, 5, 9, 15, 30, 123456, tzinfo=UTC)
ACCOUNT_A = AccountId("AB1234")
ACCOUNT_B = AccountId("CD5678")

UowFactory = SqlUnitOfWorkFactory


def _momentum_strategy_id(account_id: AccountId) -> StrategyId:
    return StrategyId(f"{account_id}-momentum")


async def reset_postgres(url: str) -> None:
    """Leave the database with an empty public schema, as a fresh install has."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


def postgres_url_or_skip() -> str:
    """Return the configured PostgreSQL URL; skip the test when none is configured."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} not set")
    return url


@pytest_asyncio.fixture
async def postgres_url() -> str:
    """Return the URL of an empty PostgreSQL database (skip the test when none is configured)."""
    url = postgres_url_or_skip()
    await reset_postgres(url)
    return url


@pytest_asyncio.fixture(params=["sqlite", "postgresql"])
async def engine_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return the URL of an empty database."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'var' / 'orders.db'}"
    url = postgres_url_or_skip()
    await reset_postgres(url)
    return url


@pytest_asyncio.fixture
async def migrated_url(engine_url: str) -> str:
    await upgrade_async(engine_url)
    return engine_url


@pytest_asyncio.fixture
async def engine(migrated_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(migrated_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def cipher() -> SecretCipher:
    return SecretCipher(SECRET_KEY)


@pytest_asyncio.fixture
async def uow_factory(engine: AsyncEngine, cipher: SecretCipher) -> AsyncIterator[UowFactory]:
    factory = sql_uow_factory(engine, cipher)
    yield factory
    await factory.close()  # SQLite's own thread and connections, before the engine's


@pytest_asyncio.fixture(params=["fake", "sqlite", "postgresql"])
async def any_uow_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Callable[[], UnitOfWork]]:
    """Return units of work over an empty store: the unit tests' fake, or a migrated database.

    The repository contract runs on this: what holds for the fake holds for SQL.
    """
    if request.param == "fake":
        store = FakeStore()
        yield lambda: FakeUnitOfWork(store)
        return
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'contract.db'}"
    else:
        url = postgres_url_or_skip()
        await reset_postgres(url)
    await upgrade_async(url)
    engine = create_engine(url)
    factory = sql_uow_factory(engine, SecretCipher(SECRET_KEY))
    yield factory
    await factory.close()
    await engine.dispose()


@dataclass(frozen=True)
class Seed:
    """What the ``seed`` fixture stored: two accounts, each with a default and a second strategy."""

    account_a: AccountId
    account_b: AccountId
    default_a: StrategyId
    momentum_a: StrategyId
    default_b: StrategyId


def build_account(**overrides: Any) -> Account:
    """Return a logged-in account AB1234 created at this tier's ``NOW``."""
    return factories.make_active_account(
        **{"account_id": ACCOUNT_A, "created_at": NOW, **overrides}
    )


def build_order(**overrides: Any) -> Order:
    """Return a NEW order for AB1234 at this tier's ``NOW``; see ``tests.factories.make_order``."""
    values: dict[str, Any] = {"created_at": NOW, "updated_at": NOW}
    if "request" not in overrides:
        values["account_id"] = ACCOUNT_A
    return factories.make_order(**{**values, **overrides})


@pytest.fixture
def make_account() -> Callable[..., Account]:
    """Return the account factory: ``make_account(**overrides)``."""
    return build_account


@pytest.fixture
def make_order() -> Callable[..., Order]:
    """Return the order factory: ``make_order(**overrides)``, account AB1234 by default."""
    return build_order


@pytest_asyncio.fixture
async def seed(uow_factory: UowFactory) -> Seed:
    """Store two accounts, each with its default strategy and a second one."""
    async with uow_factory() as uow:
        for account_id in (ACCOUNT_A, ACCOUNT_B):
            await uow.accounts.add(build_account(account_id=account_id))
            for strategy_id, name, is_default in (
                (default_strategy_id(account_id), "default", True),
                (_momentum_strategy_id(account_id), "momentum", False),
            ):
                await uow.strategies.add(Strategy(strategy_id, account_id, name, is_default, NOW))
        await uow.commit()
    return Seed(
        ACCOUNT_A,
        ACCOUNT_B,
        default_strategy_id(ACCOUNT_A),
        _momentum_strategy_id(ACCOUNT_A),
        default_strategy_id(ACCOUNT_B),
    )


@pytest.fixture
def store(uow_factory: UowFactory) -> Callable[..., Awaitable[None]]:
    """Return ``store(*orders)``: add the orders in one committed unit of work."""

    async def store_orders(*orders: Order) -> None:
        async with uow_factory() as uow:
            for order in orders:
                await uow.orders.add(order)
            await uow.commit()

    return store_orders
