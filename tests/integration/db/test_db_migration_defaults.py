"""Migration 0009 on a database holding data: existing accounts get their default portfolio."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from alembic import command
from sqlalchemy import Connection, insert, inspect

from order_service.adapters.db.crypto import SecretCipher
from order_service.adapters.db.engine import create_engine
from order_service.adapters.db.mapping import account_values, order_values
from order_service.adapters.db.migrate import alembic_config, downgrade, upgrade_async
from order_service.adapters.db.tables import accounts, orders, strategies
from order_service.adapters.db.unit_of_work import sql_uow_factory
from order_service.domain.account import Strategy
from order_service.domain.ids import StrategyId
from order_service.domain.order import OrderOrigin
from tests.integration.db.conftest import (
    ACCOUNT_A,
    ACCOUNT_B,
    NOW,
    SECRET_KEY,
    build_account,
    build_order,
)

pytestmark = pytest.mark.asyncio
DEFAULT_A = StrategyId("01JDEFAULTA000000000000000")


async def _run(url: str, work: object) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(work)  # type: ignore[arg-type]
    finally:
        await engine.dispose()


def _seed_at_0008(connection: Connection) -> None:
    """Account A with its default strategy and an order; account B with no strategy at all."""
    cipher = SecretCipher(SECRET_KEY)
    for account_id in (ACCOUNT_A, ACCOUNT_B):
        row = account_values(build_account(account_id=account_id), cipher, NOW)
        connection.execute(insert(accounts).values(row))
    connection.execute(
        insert(strategies).values(
            strategy_id=DEFAULT_A,
            account_id=ACCOUNT_A,
            name="default",
            is_default=True,
            created_at=NOW,
        )
    )
    values = {**order_values(build_order(strategy_id=DEFAULT_A)), "version": 0}
    # Only the columns the table has at 0008: `origin` (0009) and every later column are not there.
    present = {column["name"] for column in inspect(connection).get_columns("orders")}
    assert "origin" not in present
    connection.execute(insert(orders).values({k: v for k, v in values.items() if k in present}))


async def _migrate_to(url: str, revision: str) -> None:
    await asyncio.to_thread(command.upgrade, alembic_config(url), revision)


async def test_existing_accounts_get_a_default_portfolio_holding_their_default_strategy(
    engine_url: str,
) -> None:
    await _migrate_to(engine_url, "0008")
    await _run(engine_url, _seed_at_0008)

    await upgrade_async(engine_url)

    engine = create_engine(engine_url)
    factory = sql_uow_factory(engine, SecretCipher(SECRET_KEY))
    try:
        async with factory() as uow:
            portfolio_a = await uow.portfolios.get_default(ACCOUNT_A)
            default_b = await uow.strategies.get_default(ACCOUNT_B)
            portfolio_b = await uow.portfolios.get_default(ACCOUNT_B)
            (order,) = await uow.orders.list_unsettled(ACCOUNT_A)
    finally:
        await factory.close()
        await engine.dispose()
    assert portfolio_a is not None
    assert portfolio_a.strategy_ids == {DEFAULT_A}
    assert portfolio_a.is_default
    assert portfolio_a.owner_id is None
    assert default_b is not None
    assert default_b.is_default
    assert portfolio_b is not None
    assert portfolio_b.strategy_ids == {default_b.strategy_id}
    assert order.origin is OrderOrigin.MANUAL


async def test_downgrade_to_0008_removes_portfolios_and_keeps_every_strategy(
    migrated_url: str,
) -> None:
    engine = create_engine(migrated_url)
    factory = sql_uow_factory(engine, SecretCipher(SECRET_KEY))
    gone = Strategy(StrategyId("01JGONE0000000000000000000"), ACCOUNT_A, "swing", False, NOW)
    again = Strategy(StrategyId("01JAGAIN000000000000000000"), ACCOUNT_A, "swing", False, NOW)
    try:
        async with factory() as uow:
            await uow.accounts.add(build_account())
            await uow.strategies.add(replace(gone, deleted_at=NOW))
            await uow.strategies.add(again)  # the name is free: the other one is deleted
            await uow.commit()
    finally:
        await factory.close()
        await engine.dispose()

    await asyncio.to_thread(downgrade, migrated_url, "0008")

    def check(connection: Connection) -> None:
        schema = inspect(connection)
        assert "portfolios" not in schema.get_table_names()
        assert "portfolio_strategies" not in schema.get_table_names()
        assert "strategy_id" not in {c["name"] for c in schema.get_columns("api_keys")}
        assert "origin" not in {c["name"] for c in schema.get_columns("orders")}
        names = connection.execute(strategies.select().with_only_columns(strategies.c.name))
        assert sorted(names.scalars()) == ["deleted 01JGONE0000000000000000000", "swing"]

    await _run(migrated_url, check)
    await upgrade_async(migrated_url)  # and back up again
