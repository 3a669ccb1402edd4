"""Accounts and users: adding, granting, logging in to the broker, issuing API keys."""

from __future__ import annotations

import pytest

from order_service.domain.account import Principal, Role, SessionState
from order_service.domain.ids import AccountId, UserId
from order_service.errors import (
    AuthenticationError,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from order_service.services.users import hash_api_key, is_api_key
from tests.factories import ACCOUNT
from tests.unit.conftest import OTHER_ACCOUNT, World, log_in

pytestmark = pytest.mark.asyncio

NO_USER = UserId("01NOSUCHUSER00000000000000")


async def test_an_added_account_gets_a_default_strategy_and_a_grant(world: World) -> None:
    account = await world.services.accounts.get_account(world.trader, ACCOUNT)
    assert account.session_state is SessionState.ACTIVE
    assert account.access_token == "token-request-token"
    defaults = [s for s in world.store.strategies.values() if s.account_id == ACCOUNT]
    assert [(s.name, s.is_default) for s in defaults] == [("default", True)]
    assert (world.trader.user_id, ACCOUNT) in world.store.grants
    (portfolio,) = world.store.portfolios.values()
    assert portfolio.default_for == ACCOUNT
    assert portfolio.strategy_ids == {defaults[0].strategy_id}


async def test_a_restored_account_keeps_its_defaults(world: World) -> None:
    before = (dict(world.store.strategies), dict(world.store.portfolios))
    await world.services.accounts.remove_account(world.trader, ACCOUNT)

    await world.services.accounts.add_account(world.trader, ACCOUNT, "paper", "paper-secret")

    assert (world.store.strategies, world.store.portfolios) == before


async def test_an_account_cannot_be_added_twice(world: World) -> None:
    with pytest.raises(Conflict):
        await world.services.accounts.add_account(world.trader, ACCOUNT, "k", "s")


async def test_an_admin_grants_access_to_an_account(
    world: World, outsider: Principal, admin: Principal
) -> None:
    await world.services.accounts.grant(admin, world.trader.user_id, OTHER_ACCOUNT)
    trader = await world.services.users.get_user(world.trader.user_id)
    assert trader.account_ids == {ACCOUNT, OTHER_ACCOUNT}
    account = await world.services.accounts.get_account(trader, OTHER_ACCOUNT)
    assert account.account_id == OTHER_ACCOUNT


async def test_only_an_admin_grants(world: World, outsider: Principal) -> None:
    with pytest.raises(PermissionDenied):
        await world.services.accounts.grant(world.trader, outsider.user_id, ACCOUNT)
    assert (outsider.user_id, ACCOUNT) not in world.store.grants


async def test_a_grant_needs_an_existing_user_and_account(world: World, admin: Principal) -> None:
    with pytest.raises(NotFound):
        await world.services.accounts.grant(admin, NO_USER, ACCOUNT)
    with pytest.raises(NotFound):
        await world.services.accounts.grant(admin, world.trader.user_id, AccountId("NOPE"))


async def test_a_login_starts_a_fresh_session(world: World) -> None:
    world.clock.advance(24 * 3600)
    account = await log_in(world.services, world.trader, ACCOUNT, "next-day")
    assert account.access_token == "token-next-day"
    assert account.has_live_session(world.clock.now())


async def test_a_user_defaults_to_trader_and_keys_are_stored_hashed(world: World) -> None:
    user = await world.services.users.create_user("plain", frozenset())
    assert user.roles == {Role.TRADER}
    key = await world.services.users.create_api_key(user.user_id)
    assert is_api_key(key)
    (row,) = [k for k in world.store.keys.values() if k.user_id == user.user_id]
    assert (row.key_hash, row.user_id) == (hash_api_key(key), user.user_id)
    assert key not in {row.key_hash, row.key_id}


async def test_unknown_users_are_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        await world.services.users.get_user(NO_USER)
    with pytest.raises(NotFound):
        await world.services.users.create_api_key(NO_USER)


async def test_a_refused_request_token_is_the_callers_error_not_an_expired_session(
    world: World,
) -> None:
    world.broker.fail_next("create_session", AuthenticationError())

    with pytest.raises(ValidationError) as refused:
        await log_in(world.services, world.trader, ACCOUNT, "used-token")

    assert refused.value.details["field"] == "request_token"
    account = await world.services.accounts.get_account(world.trader, ACCOUNT)
    assert account.session_state is SessionState.ACTIVE  # the earlier session is untouched


async def test_margins_come_from_the_broker_and_an_expired_session_is_recorded(
    world: World,
) -> None:
    segments = await world.services.accounts.margins(world.trader, ACCOUNT)
    assert [segment.segment for segment in segments] == ["equity"]
    world.broker.fail_next("margins", AuthenticationError())

    with pytest.raises(AuthenticationError):
        await world.services.accounts.margins(world.trader, ACCOUNT)

    account = await world.services.accounts.get_account(world.trader, ACCOUNT)
    assert account.session_state is SessionState.LOGIN_REQUIRED


async def test_removing_an_account_hides_it_and_adding_it_again_restores_it(world: World) -> None:
    await world.services.accounts.remove_account(world.trader, ACCOUNT)
    with pytest.raises(NotFound):
        await world.services.accounts.get_account(world.trader, ACCOUNT)
    assert await world.services.accounts.list_accounts(world.trader) == []

    restored = await world.services.accounts.add_account(
        world.trader, ACCOUNT, "paper", "paper-secret"
    )

    assert restored.api_key == "paper"
    assert not restored.is_removed
