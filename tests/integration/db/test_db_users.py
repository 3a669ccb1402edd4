"""Users, API keys and grants resolve to Principals; revoked keys resolve to nobody."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from order_service.adapters.db.tables import api_keys
from order_service.adapters.db.unit_of_work import SqlUnitOfWork
from order_service.domain.account import Principal, Role
from order_service.domain.ids import AccountId, ApiKeyId, UserId, new_ulid
from order_service.errors import Conflict

if TYPE_CHECKING:
    from conftest import Seed

UowFactory = Callable[[], SqlUnitOfWork]
AT = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
ALICE = UserId("01JALICE000000000000000000")
KEY_HASH = "a" * 64


async def _add_user(uow_factory: UowFactory, principal: Principal) -> None:
    async with uow_factory() as uow:
        await uow.users.add(principal, AT)
        await uow.commit()


async def _add_key(uow_factory: UowFactory, user_id: UserId, key_hash: str) -> None:
    async with uow_factory() as uow:
        await uow.users.add_api_key(user_id, ApiKeyId(new_ulid()), key_hash, AT)
        await uow.commit()


async def _by_key(uow_factory: UowFactory, key_hash: str) -> Principal | None:
    async with uow_factory() as uow:
        return await uow.users.by_api_key_hash(key_hash)


@pytest.mark.asyncio
async def test_a_user_comes_back_with_roles_and_granted_accounts(
    uow_factory: UowFactory, seed: Seed
) -> None:
    alice = Principal(
        ALICE, "Alice", frozenset({Role.TRADER, Role.ADMIN}), frozenset({seed.account_a})
    )
    await _add_user(uow_factory, alice)

    async with uow_factory() as uow:
        assert await uow.users.get(ALICE) == alice
        assert await uow.users.get(UserId("01JNOBODY00000000000000000")) is None


@pytest.mark.asyncio
async def test_a_user_without_grants_has_no_accounts(uow_factory: UowFactory) -> None:
    await _add_user(uow_factory, Principal(ALICE, "Alice", frozenset({Role.TRADER})))

    async with uow_factory() as uow:
        principal = await uow.users.get(ALICE)

    assert principal is not None
    assert principal.account_ids == frozenset()


@pytest.mark.asyncio
async def test_grants_add_accounts_and_granting_twice_is_harmless(
    uow_factory: UowFactory, seed: Seed
) -> None:
    await _add_user(uow_factory, Principal(ALICE, "Alice", frozenset({Role.TRADER})))

    async with uow_factory() as uow:
        await uow.users.grant(ALICE, seed.account_a)
        await uow.users.grant(ALICE, seed.account_b)
        await uow.users.grant(ALICE, seed.account_a)
        await uow.commit()

    async with uow_factory() as uow:
        principal = await uow.users.get(ALICE)
    assert principal is not None
    assert principal.account_ids == {seed.account_a, seed.account_b}


@pytest.mark.asyncio
async def test_a_grant_to_an_unknown_account_is_a_conflict(uow_factory: UowFactory) -> None:
    await _add_user(uow_factory, Principal(ALICE, "Alice", frozenset({Role.TRADER})))

    async with uow_factory() as uow:

        async def grant_and_commit() -> None:
            await uow.users.grant(ALICE, AccountId("ZZ0000"))
            await uow.commit()

        with pytest.raises(Conflict):
            await grant_and_commit()


@pytest.mark.asyncio
async def test_an_api_key_hash_resolves_to_its_user(uow_factory: UowFactory, seed: Seed) -> None:
    alice = Principal(ALICE, "Alice", frozenset({Role.TRADER}), frozenset({seed.account_b}))
    await _add_user(uow_factory, alice)
    await _add_key(uow_factory, ALICE, KEY_HASH)
    await _add_key(uow_factory, ALICE, "b" * 64)

    assert await _by_key(uow_factory, KEY_HASH) == alice
    assert await _by_key(uow_factory, "b" * 64) == alice
    assert await _by_key(uow_factory, "c" * 64) is None


@pytest.mark.asyncio
async def test_a_revoked_key_authenticates_nobody(
    uow_factory: UowFactory, engine: AsyncEngine
) -> None:
    await _add_user(uow_factory, Principal(ALICE, "Alice", frozenset({Role.TRADER})))
    await _add_key(uow_factory, ALICE, KEY_HASH)
    assert await _by_key(uow_factory, KEY_HASH) is not None

    async with engine.begin() as connection:
        await connection.execute(
            update(api_keys).where(api_keys.c.key_hash == KEY_HASH).values(revoked_at=AT)
        )

    assert await _by_key(uow_factory, KEY_HASH) is None


@pytest.mark.asyncio
async def test_a_key_hash_is_unique(uow_factory: UowFactory) -> None:
    await _add_user(uow_factory, Principal(ALICE, "Alice", frozenset({Role.TRADER})))
    await _add_key(uow_factory, ALICE, KEY_HASH)

    with pytest.raises(Conflict):
        await _add_key(uow_factory, ALICE, KEY_HASH)


@pytest.mark.asyncio
async def test_a_key_for_an_unknown_user_is_a_conflict(uow_factory: UowFactory) -> None:
    with pytest.raises(Conflict):
        await _add_key(uow_factory, ALICE, KEY_HASH)


@pytest.mark.asyncio
async def test_keys_are_listed_and_revoked_by_their_owner_only(uow_factory: UowFactory) -> None:
    await _add_user(uow_factory, Principal(ALICE, "Alice", frozenset({Role.TRADER})))
    await _add_key(uow_factory, ALICE, KEY_HASH)
    async with uow_factory() as uow:
        (key,) = await uow.users.api_keys(ALICE)
        nobody = UserId("01JNOBODY00000000000000000")
        assert await uow.users.revoke_api_key(nobody, key.key_id, AT) is False
        assert await uow.users.revoke_api_key(ALICE, key.key_id, AT)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.users.revoke_api_key(ALICE, key.key_id, AT) is False
        (revoked,) = await uow.users.api_keys(ALICE)
    assert revoked.revoked_at == AT
    assert await _by_key(uow_factory, KEY_HASH) is None


@pytest.mark.asyncio
async def test_a_grant_is_removed_once(uow_factory: UowFactory, seed: Seed) -> None:
    await _add_user(uow_factory, Principal(ALICE, "Alice", account_ids=frozenset({seed.account_a})))
    async with uow_factory() as uow:
        assert await uow.users.has_grant(ALICE, seed.account_a)
        assert await uow.users.revoke_grant(ALICE, seed.account_a)
        await uow.commit()
    async with uow_factory() as uow:
        assert not await uow.users.has_grant(ALICE, seed.account_a)
        assert await uow.users.revoke_grant(ALICE, seed.account_a) is False


@pytest.mark.asyncio
async def test_other_grants_go_and_the_keepers_stays(uow_factory: UowFactory, seed: Seed) -> None:
    bob = UserId("01JBOB00000000000000000000")
    for user in (ALICE, bob):
        await _add_user(uow_factory, Principal(user, "u", account_ids=frozenset({seed.account_a})))
    async with uow_factory() as uow:
        await uow.users.revoke_other_grants(seed.account_a, keep=ALICE)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.users.has_grant(ALICE, seed.account_a)
        assert not await uow.users.has_grant(bob, seed.account_a)
