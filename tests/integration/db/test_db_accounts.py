"""Accounts keep their broker secrets encrypted at rest; strategies keep one default each."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from order_service.adapters.db.crypto import SecretCipher
from order_service.adapters.db.tables import accounts as accounts_table
from order_service.adapters.db.unit_of_work import SqlUnitOfWork, sql_uow_factory
from order_service.domain.account import Account, AccountScope, SessionState, Strategy
from order_service.domain.ids import AccountId, StrategyId
from order_service.errors import ConfigurationError, Conflict, NotFound

UowFactory = Callable[[], SqlUnitOfWork]
MakeAccount = Callable[..., Account]
AT = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)


async def _add(uow_factory: UowFactory, *accounts: Account) -> None:
    async with uow_factory() as uow:
        for account in accounts:
            await uow.accounts.add(account)
        await uow.commit()


async def _get(uow_factory: UowFactory, account_id: AccountId) -> Account | None:
    async with uow_factory() as uow:
        return await uow.accounts.get(account_id)


@pytest.mark.asyncio
async def test_an_account_comes_back_equal(
    uow_factory: UowFactory, make_account: MakeAccount
) -> None:
    account = make_account()
    await _add(uow_factory, account)

    assert await _get(uow_factory, account.account_id) == account


@pytest.mark.asyncio
async def test_secrets_are_encrypted_at_rest(
    uow_factory: UowFactory, make_account: MakeAccount, engine: AsyncEngine, cipher: SecretCipher
) -> None:
    account = make_account()
    await _add(uow_factory, account)

    async with engine.connect() as connection:
        row = (await connection.execute(select(accounts_table))).mappings().one()

    stored = " ".join(str(value) for value in row.values())
    assert account.api_secret not in stored
    assert account.access_token is not None
    assert account.access_token not in stored
    assert cipher.decrypt(row["api_secret_encrypted"]) == account.api_secret
    assert cipher.decrypt(row["access_token_encrypted"]) == account.access_token


@pytest.mark.asyncio
async def test_a_different_secret_key_cannot_read_the_accounts(
    uow_factory: UowFactory, make_account: MakeAccount, engine: AsyncEngine
) -> None:
    await _add(uow_factory, make_account())
    other_key = sql_uow_factory(engine, SecretCipher("another-secret"))
    try:
        with pytest.raises(ConfigurationError, match="wrong SECRET_KEY"):
            await _get(other_key, make_account().account_id)
    finally:
        await other_key.close()


@pytest.mark.asyncio
async def test_save_stores_a_new_session_and_a_lost_one(
    uow_factory: UowFactory, make_account: MakeAccount
) -> None:
    account = make_account(access_token=None, session_state=SessionState.LOGIN_REQUIRED)
    await _add(uow_factory, account)

    account.start_session("fresh-token", AT)
    async with uow_factory() as uow:
        await uow.accounts.save(account)
        await uow.commit()
    assert await _get(uow_factory, account.account_id) == account

    account.require_login()
    async with uow_factory() as uow:
        await uow.accounts.save(account)
        await uow.commit()
    stored = await _get(uow_factory, account.account_id)
    assert stored is not None
    assert (stored.access_token, stored.session_state) == (None, SessionState.LOGIN_REQUIRED)


@pytest.mark.asyncio
async def test_saving_an_unknown_account_is_not_found(
    uow_factory: UowFactory, make_account: MakeAccount
) -> None:
    async with uow_factory() as uow:

        async def save_and_commit() -> None:
            await uow.accounts.save(make_account())
            await uow.commit()

        with pytest.raises(NotFound):  # by the commit at the latest
            await save_and_commit()


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (None, ["AA0001", "BB0002", "CC0003"]),
        ({"CC0003", "AA0001"}, ["AA0001", "CC0003"]),
        (set(), []),
    ],
)
async def test_list_returns_the_accounts_in_scope_by_id(
    uow_factory: UowFactory,
    make_account: MakeAccount,
    scope: set[str] | None,
    expected: list[str],
) -> None:
    await _add(
        uow_factory,
        *(make_account(account_id=AccountId(i)) for i in ("CC0003", "AA0001", "BB0002")),
    )
    account_ids = None if scope is None else frozenset(AccountId(i) for i in scope)

    async with uow_factory() as uow:
        found = await uow.accounts.list(AccountScope(account_ids))

    assert [account.account_id for account in found] == expected


async def _add_strategies(uow_factory: UowFactory, *strategies: Strategy) -> None:
    async with uow_factory() as uow:
        for strategy in strategies:
            await uow.strategies.add(strategy)
        await uow.commit()


@pytest.mark.asyncio
async def test_strategies_are_found_by_id_and_the_default_by_account(
    uow_factory: UowFactory, make_account: MakeAccount
) -> None:
    account_id = make_account().account_id
    await _add(uow_factory, make_account())
    default = Strategy(StrategyId("S-default"), account_id, "default", True, AT)
    algo = Strategy(StrategyId("S-algo"), account_id, "algo", False, AT)
    await _add_strategies(uow_factory, default, algo)

    async with uow_factory() as uow:
        assert await uow.strategies.get(algo.strategy_id) == algo
        assert await uow.strategies.get_default(account_id) == default
        assert await uow.strategies.get(StrategyId("nope")) is None
        assert await uow.strategies.get_default(AccountId("ZZ0000")) is None


@pytest.mark.asyncio
@pytest.mark.parametrize(("name", "is_default"), [("another-default", True), ("default", False)])
async def test_a_second_default_or_a_repeated_name_is_a_conflict(
    uow_factory: UowFactory, make_account: MakeAccount, name: str, is_default: bool
) -> None:
    account_id = make_account().account_id
    await _add(uow_factory, make_account())
    await _add_strategies(uow_factory, Strategy(StrategyId("S1"), account_id, "default", True, AT))

    with pytest.raises(Conflict):
        await _add_strategies(
            uow_factory, Strategy(StrategyId("S2"), account_id, name, is_default, AT)
        )


@pytest.mark.asyncio
async def test_a_strategy_needs_an_existing_account(uow_factory: UowFactory) -> None:
    orphan = Strategy(StrategyId("S1"), AccountId("ZZ0000"), "default", True, AT)

    with pytest.raises(Conflict):
        await _add_strategies(uow_factory, orphan)
