"""Stored secrets under a rotated key: named when no key opens them, re-encrypted all or none."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from order_service.adapters.db.crypto import SecretCipher
from order_service.adapters.db.tables import accounts, webhooks
from order_service.adapters.db.unit_of_work import SqlUnitOfWorkFactory, sql_uow_factory
from order_service.domain.account import Account
from order_service.domain.ids import UserId
from order_service.domain.webhook import WebhookEndpoint
from order_service.errors import ConfigurationError
from order_service.services.secrets import SecretService

MakeAccount = Callable[..., Account]
AT = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
OLD, NEW = "the key the secrets were stored under", "the key that replaces it"
HOOK = WebhookEndpoint("WH1", UserId("U1"), "https://example.test/hook", ("*",), "", "whsec", AT)


@asynccontextmanager
async def _factory(engine: AsyncEngine, key: str, *old: str) -> AsyncIterator[SqlUnitOfWorkFactory]:
    factory = sql_uow_factory(engine, SecretCipher(key, old))
    try:
        yield factory
    finally:
        await factory.close()


async def _store_under_old_key(engine: AsyncEngine, account: Account) -> None:
    async with _factory(engine, OLD) as factory, factory() as uow:
        await uow.accounts.add(account)
        await uow.webhooks.add(HOOK, 0)
        await uow.commit()


async def _tokens(engine: AsyncEngine) -> list[str | None]:
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                select(accounts.c.api_secret_encrypted, accounts.c.access_token_encrypted)
            )
        ).one()
        hook = (await connection.execute(select(webhooks.c.secret_encrypted))).scalar_one()
    return [row[0], row[1], hook]


@pytest.mark.asyncio
async def test_a_new_key_alone_names_every_secret_it_cannot_open(
    engine: AsyncEngine, make_account: MakeAccount
) -> None:
    account = make_account()
    await _store_under_old_key(engine, account)

    async with _factory(engine, NEW) as factory:
        with pytest.raises(ConfigurationError) as caught:
            await SecretService(factory).check()

    message = caught.value.message
    assert "does not decrypt 3 stored secret(s)" in message
    assert f"account {account.account_id}'s API secret" in message
    assert f"account {account.account_id}'s access token" in message
    assert "webhook WH1's signing secret" in message
    assert "ORDER_SERVICE_OLD_SECRET_KEYS" in message
    assert account.api_secret not in message
    assert "whsec" not in message


@pytest.mark.asyncio
async def test_rotation_moves_every_secret_to_the_new_key(
    engine: AsyncEngine, make_account: MakeAccount
) -> None:
    account = make_account()
    await _store_under_old_key(engine, account)
    before = await _tokens(engine)

    async with _factory(engine, NEW, OLD) as factory:
        await SecretService(factory).check()  # the old key, listed as old, still opens them
        assert await SecretService(factory).rotate() == 3

    after = await _tokens(engine)
    assert all(a != b for a, b in zip(after, before, strict=True))
    async with _factory(engine, NEW) as factory:
        await SecretService(factory).check()  # the old key is no longer needed
        async with factory() as uow:
            stored = await uow.accounts.get(account.account_id)
            hook = await uow.webhooks.get("WH1")
    assert stored is not None
    assert stored.api_secret == account.api_secret
    assert stored.access_token == account.access_token
    assert hook is not None
    assert hook.secret == "whsec"
    async with _factory(engine, OLD) as factory:
        with pytest.raises(ConfigurationError):
            await SecretService(factory).check()  # and no longer opens them


@pytest.mark.asyncio
async def test_rotation_writes_nothing_while_one_secret_opens_with_no_key(
    engine: AsyncEngine, make_account: MakeAccount
) -> None:
    await _store_under_old_key(engine, make_account())
    stranger = SecretCipher("a key nobody configured").encrypt("whsec")
    async with engine.begin() as connection:
        await connection.execute(update(webhooks).values(secret_encrypted=stranger))
    before = await _tokens(engine)

    async with _factory(engine, NEW, OLD) as factory:
        with pytest.raises(ConfigurationError, match=r"1 stored secret\(s\) \(webhook WH1's"):
            await SecretService(factory).rotate()

    assert await _tokens(engine) == before


def test_an_empty_old_key_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="must not be empty"):
        SecretCipher(NEW, [""])
