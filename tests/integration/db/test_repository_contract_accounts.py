"""The repository contract, the rest: accounts, users and keys, pending logins, the unit of work.

Each test runs on the fake, SQLite and PostgreSQL (``contract.py`` says why and how).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import pytest

from order_service.domain.account import (
    EVERY_ACCOUNT,
    Account,
    AccountScope,
    ApiKeyInfo,
    Principal,
    Role,
    SessionState,
    Strategy,
    UserInfo,
)
from order_service.domain.ids import AccountId, ApiKeyId, StrategyId, UserId
from order_service.domain.login import LoginState
from order_service.domain.order import Order
from order_service.domain.status import OrderTrigger
from order_service.errors import Conflict, NotFound, StaleWrite
from order_service.services.ports import OrderQuery
from tests.integration.db.conftest import Seed, build_account, build_order
from tests.integration.db.contract import AT, UowFactory, read, write

ALICE = UserId("01JALICE000000000000000000")
BOB = UserId("01JBOB00000000000000000000")
NOBODY = UserId("01JNOBODY00000000000000000")
FIRST_KEY, SECOND_KEY = (
    ApiKeyId("01JKEY0000000000000000001A"),
    ApiKeyId("01JKEY0000000000000000002B"),
)

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("seed")]


@pytest.fixture
def uow_factory(any_uow_factory: UowFactory) -> UowFactory:
    return any_uow_factory


async def get_account(uow_factory: UowFactory, account_id: AccountId) -> Account | None:
    account: Account | None = await read(uow_factory, lambda uow: uow.accounts.get(account_id))
    return account


async def get_user(uow_factory: UowFactory, user_id: UserId) -> Principal | None:
    principal: Principal | None = await read(uow_factory, lambda uow: uow.users.get(user_id))
    return principal


async def add_user(uow_factory: UowFactory, principal: Principal) -> None:
    await write(uow_factory, lambda uow: uow.users.add(principal, AT))


# Accounts


async def test_an_account_comes_back_equal_and_keeps_each_saved_session(
    uow_factory: UowFactory,
) -> None:
    account = build_account(
        account_id=AccountId("ZZ0001"), session_state=SessionState.LOGIN_REQUIRED, access_token=None
    )
    await write(uow_factory, lambda uow: uow.accounts.add(account))
    assert await get_account(uow_factory, account.account_id) == account

    account.start_session("fresh-token", AT)
    await write(uow_factory, lambda uow: uow.accounts.save(account))
    assert await get_account(uow_factory, account.account_id) == account

    account.remove(AT)
    await write(uow_factory, lambda uow: uow.accounts.save(account))
    assert await get_account(uow_factory, account.account_id) == account
    assert await get_account(uow_factory, AccountId("ZZ0000")) is None


async def test_an_expired_token_is_cleared_and_only_that_token(
    uow_factory: UowFactory, seed: Seed
) -> None:
    token = build_account().access_token
    assert token is not None
    await write(uow_factory, lambda uow: uow.accounts.require_login(seed.account_a, "older-token"))
    assert await get_account(uow_factory, seed.account_a) == build_account()

    await write(uow_factory, lambda uow: uow.accounts.require_login(seed.account_a, token))

    cleared = await get_account(uow_factory, seed.account_a)
    assert cleared is not None
    assert (cleared.session_state, cleared.access_token) == (SessionState.LOGIN_REQUIRED, None)


async def test_a_login_racing_an_expiry_of_the_old_token_stands(
    uow_factory: UowFactory, seed: Seed
) -> None:
    old = build_account().access_token
    assert old is not None
    relogged = build_account()
    relogged.start_session("the-new-token", AT)

    async def log_in_again() -> None:
        await write(uow_factory, lambda uow: uow.accounts.save(relogged))

    expiry = uow_factory()
    async with expiry:
        await expiry.accounts.require_login(seed.account_a, old)  # reads the old token
        login = asyncio.create_task(log_in_again())
        # Where the expiry holds no lock yet (its write waits for commit), the login commits
        # now; where it does, the login waits for this commit and overwrites it.
        await asyncio.wait({login}, timeout=0.5)
        # StaleWrite: the login committed between the expiry's read and its write.
        with contextlib.suppress(StaleWrite):
            await expiry.commit()
    await login

    assert await get_account(uow_factory, seed.account_a) == relogged


async def test_a_hold_is_kept_until_released_and_only_its_own_release_lifts_it(
    uow_factory: UowFactory, seed: Seed
) -> None:
    later = AT + timedelta(seconds=5)

    async def held() -> object:
        account = await get_account(uow_factory, seed.account_a)
        assert account is not None
        return account.reconcile_since

    await write(uow_factory, lambda uow: uow.accounts.require_reconciliation(seed.account_a, AT))
    await write(uow_factory, lambda uow: uow.accounts.require_reconciliation(seed.account_a, later))
    assert await held() == AT  # the first hold stands

    await write(uow_factory, lambda uow: uow.accounts.mark_reconciled(seed.account_a, later))
    assert await held() == AT  # a release of another hold changes nothing

    await write(uow_factory, lambda uow: uow.accounts.mark_reconciled(seed.account_a, AT))
    assert await held() is None
    other = await get_account(uow_factory, seed.account_b)
    assert other is not None
    assert other.reconcile_since is None


async def test_a_second_account_with_one_id_is_a_conflict(
    uow_factory: UowFactory, seed: Seed
) -> None:
    impostor = build_account(name="Impostor", api_key="other-key")

    with pytest.raises(Conflict):
        await write(uow_factory, lambda uow: uow.accounts.add(impostor))

    assert await get_account(uow_factory, seed.account_a) == build_account()


async def test_saving_an_unknown_account_is_not_found(uow_factory: UowFactory) -> None:
    unknown = build_account(account_id=AccountId("ZZ0000"))

    with pytest.raises(NotFound):
        await write(uow_factory, lambda uow: uow.accounts.save(unknown))

    assert await get_account(uow_factory, unknown.account_id) is None


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (None, ["AA0001", "AB1234", "BB0002", "CC0003", "CD5678"]),
        ({"CC0003", "AA0001"}, ["AA0001", "CC0003"]),
        (set(), []),
    ],
)
async def test_accounts_are_listed_in_scope_by_id(
    uow_factory: UowFactory, scope: set[str] | None, expected: list[str]
) -> None:
    added = [build_account(account_id=AccountId(i)) for i in ("CC0003", "AA0001", "BB0002")]
    await write(uow_factory, *(lambda uow, a=account: uow.accounts.add(a) for account in added))
    ids = None if scope is None else frozenset(AccountId(i) for i in scope)

    found: list[Account] = await read(uow_factory, lambda uow: uow.accounts.list(AccountScope(ids)))

    assert [account.account_id for account in found] == expected


# Users, grants and keys


async def test_a_user_comes_back_with_its_roles_and_the_accounts_granted_with_it(
    uow_factory: UowFactory, seed: Seed
) -> None:
    alice = Principal(
        ALICE, "Alice", frozenset({Role.TRADER, Role.ADMIN}), frozenset({seed.account_a})
    )
    await add_user(uow_factory, alice)

    assert await get_user(uow_factory, ALICE) == alice
    assert await get_user(uow_factory, NOBODY) is None
    with pytest.raises(Conflict):
        await add_user(uow_factory, Principal(ALICE, "Alice again"))


async def test_grants_are_added_once_and_revoked_once(uow_factory: UowFactory, seed: Seed) -> None:
    await add_user(uow_factory, Principal(ALICE, "Alice", frozenset({Role.TRADER})))
    await write(
        uow_factory,
        lambda uow: uow.users.grant(ALICE, seed.account_a),
        lambda uow: uow.users.grant(ALICE, seed.account_b),
        lambda uow: uow.users.grant(ALICE, seed.account_a),  # granting twice is harmless
    )
    alice = await get_user(uow_factory, ALICE)
    assert alice is not None
    assert alice.account_ids == {seed.account_a, seed.account_b}

    async with uow_factory() as uow:
        assert await uow.users.has_grant(ALICE, seed.account_a)
        assert await uow.users.revoke_grant(ALICE, seed.account_a)
        await uow.commit()
    async with uow_factory() as uow:
        assert not await uow.users.has_grant(ALICE, seed.account_a)
        assert await uow.users.revoke_grant(ALICE, seed.account_a) is False
        assert not await uow.users.has_grant(BOB, seed.account_b)
    alice = await get_user(uow_factory, ALICE)
    assert alice is not None
    assert alice.account_ids == {seed.account_b}


async def test_revoking_the_other_grants_to_an_account_keeps_the_keepers_and_other_accounts(
    uow_factory: UowFactory, seed: Seed
) -> None:
    both = frozenset({seed.account_a, seed.account_b})
    await add_user(uow_factory, Principal(ALICE, "Alice", account_ids=frozenset({seed.account_a})))
    await add_user(uow_factory, Principal(BOB, "Bob", account_ids=both))

    await write(uow_factory, lambda uow: uow.users.revoke_other_grants(seed.account_a, ALICE))

    alice, bob = await get_user(uow_factory, ALICE), await get_user(uow_factory, BOB)
    assert alice is not None
    assert bob is not None
    assert alice.account_ids == {seed.account_a}
    assert bob.account_ids == {seed.account_b}


async def test_a_grant_of_an_unknown_account_is_a_conflict(uow_factory: UowFactory) -> None:
    await add_user(uow_factory, Principal(ALICE, "Alice", frozenset({Role.TRADER})))

    with pytest.raises(Conflict):
        await write(uow_factory, lambda uow: uow.users.grant(ALICE, AccountId("ZZ0000")))

    assert await get_user(uow_factory, ALICE) == Principal(ALICE, "Alice", frozenset({Role.TRADER}))


async def test_a_key_finds_its_user_until_its_owner_revokes_it(
    uow_factory: UowFactory, seed: Seed
) -> None:
    alice = Principal(ALICE, "Alice", frozenset({Role.TRADER}), frozenset({seed.account_b}))
    await add_user(uow_factory, alice)
    await add_user(uow_factory, Principal(BOB, "Bob"))
    await write(
        uow_factory,
        lambda uow: uow.users.add_api_key(ALICE, SECOND_KEY, "b" * 64, AT + timedelta(1)),
        lambda uow: uow.users.add_api_key(ALICE, FIRST_KEY, "a" * 64, AT),
    )
    async with uow_factory() as uow:
        assert await uow.users.by_api_key_hash("a" * 64) == alice
        assert await uow.users.by_api_key_hash("c" * 64) is None
        assert await uow.users.api_keys(ALICE) == [
            ApiKeyInfo(FIRST_KEY, ALICE, AT),
            ApiKeyInfo(SECOND_KEY, ALICE, AT + timedelta(1)),
        ]  # oldest first, revoked ones included
        assert await uow.users.api_keys(BOB) == []
        assert await uow.users.revoke_api_key(BOB, FIRST_KEY, AT) is False  # not Bob's key
        assert await uow.users.revoke_api_key(ALICE, FIRST_KEY, AT)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.users.revoke_api_key(ALICE, FIRST_KEY, AT) is False  # no longer live
        assert await uow.users.by_api_key_hash("a" * 64) is None
        assert await uow.users.by_api_key_hash("b" * 64) == alice
        first, _ = await uow.users.api_keys(ALICE)
    assert first.revoked_at == AT


async def test_users_are_listed_oldest_first_with_their_roles_and_no_grant(
    uow_factory: UowFactory, seed: Seed
) -> None:
    granted = frozenset({seed.account_b})
    alice = Principal(ALICE, "Alice", frozenset({Role.TRADER, Role.ADMIN}), granted)
    await write(uow_factory, lambda uow: uow.users.add(alice, AT + timedelta(1)))
    await write(uow_factory, lambda uow: uow.users.add(Principal(BOB, "Bob"), AT))
    listed = await read(uow_factory, lambda uow: uow.users.list_users())
    ours = [user for user in listed if user.user_id in (ALICE, BOB)]
    assert ours == [
        UserInfo(BOB, "Bob", frozenset(), AT),
        UserInfo(ALICE, "Alice", frozenset({Role.TRADER, Role.ADMIN}), AT + timedelta(1)),
    ]


async def test_a_key_needs_a_known_user_and_a_hash_of_its_own(uow_factory: UowFactory) -> None:
    await add_user(uow_factory, Principal(ALICE, "Alice"))
    await write(uow_factory, lambda uow: uow.users.add_api_key(ALICE, FIRST_KEY, "a" * 64, AT))

    with pytest.raises(Conflict):
        await write(uow_factory, lambda uow: uow.users.add_api_key(ALICE, SECOND_KEY, "a" * 64, AT))
    with pytest.raises(Conflict):
        await write(
            uow_factory, lambda uow: uow.users.add_api_key(NOBODY, SECOND_KEY, "b" * 64, AT)
        )

    assert [
        key.key_id for key in await read(uow_factory, lambda uow: uow.users.api_keys(ALICE))
    ] == [FIRST_KEY]
    assert await read(uow_factory, lambda uow: uow.users.api_keys(NOBODY)) == []


# Pending logins


async def add_login(uow_factory: UowFactory, state: LoginState) -> None:
    await write(uow_factory, lambda uow: uow.login_states.add(state))


async def _spend(uow_factory: UowFactory, state: LoginState) -> bool:
    try:
        await write(uow_factory, lambda uow: uow.login_states.spend(state, Spent()))
    except Spent:
        return False
    return True


class Spent(Exception):
    """The refusal a second spend of one state raises."""


async def test_a_login_state_round_trips_and_is_spent_once(
    uow_factory: UowFactory, seed: Seed
) -> None:
    state = LoginState.issue("one", seed.account_a, ALICE, AT)
    await add_login(uow_factory, state)
    assert await read(uow_factory, lambda uow: uow.login_states.get(state.state_hash)) == state

    outcomes = await asyncio.gather(*(_spend(uow_factory, state) for _ in range(4)))

    assert sorted(outcomes) == [False, False, False, True]
    assert not await _spend(uow_factory, state)
    assert await read(uow_factory, lambda uow: uow.login_states.get(state.state_hash)) is None


async def test_a_login_needs_a_known_account(uow_factory: UowFactory) -> None:
    state = LoginState.issue("one", AccountId("ZZ0000"), ALICE, AT)

    with pytest.raises(Conflict):
        await add_login(uow_factory, state)

    assert await read(uow_factory, lambda uow: uow.login_states.get(state.state_hash)) is None


async def test_a_new_login_supersedes_the_users_pending_one_and_sweeps_expired_ones(
    uow_factory: UowFactory, seed: Seed
) -> None:
    stale = LoginState.issue("stale", seed.account_b, BOB, AT - timedelta(minutes=20))
    first = LoginState.issue("first", seed.account_a, ALICE, AT)
    elsewhere = LoginState.issue("elsewhere", seed.account_b, ALICE, AT)
    other_user = LoginState.issue("other-user", seed.account_a, BOB, AT)
    second = LoginState.issue("second", seed.account_a, ALICE, AT + timedelta(minutes=5))
    for state in (stale, first, elsewhere, other_user, second):
        await add_login(uow_factory, state)

    async with uow_factory() as uow:
        for gone in (stale, first):  # expired, and replaced by Alice's second login
            assert await uow.login_states.get(gone.state_hash) is None
        for kept in (elsewhere, other_user, second):  # other accounts and users keep theirs
            assert await uow.login_states.get(kept.state_hash) == kept


# The unit of work


async def test_what_is_not_committed_is_not_kept(uow_factory: UowFactory) -> None:
    kept, dropped, abandoned = build_order(), build_order(), build_order()
    async with uow_factory() as uow:
        await uow.orders.add(dropped)
        await uow.accounts.add(build_account(account_id=AccountId("ZZ0001")))
        await uow.rollback()
        await uow.orders.add(kept)
        await uow.commit()
    async with uow_factory() as uow:
        await uow.orders.add(abandoned)
        await uow.users.add(Principal(ALICE, "Alice"), AT)

    found: list[Order] = await read(
        uow_factory, lambda uow: uow.orders.list(OrderQuery(EVERY_ACCOUNT))
    )

    assert [order.order_id for order in found] == [kept.order_id]
    assert await get_account(uow_factory, AccountId("ZZ0001")) is None
    assert await get_user(uow_factory, ALICE) is None


async def test_a_unit_of_work_reads_its_own_writes(uow_factory: UowFactory, seed: Seed) -> None:
    account = build_account(account_id=AccountId("ZZ0001"))
    strategy = Strategy(StrategyId("ZZ0001-default"), account.account_id, "default", True, AT)
    order = build_order(account_id=account.account_id)
    async with uow_factory() as uow:
        await uow.accounts.add(account)
        await uow.strategies.add(strategy)
        await uow.orders.add(order)
        await uow.users.add(Principal(ALICE, "Alice"), AT)
        await uow.users.grant(ALICE, account.account_id)
        await uow.users.add_api_key(ALICE, FIRST_KEY, "a" * 64, AT)

        assert await uow.accounts.get(account.account_id) == account
        assert await uow.strategies.get_default(account.account_id) == strategy
        assert await uow.orders.get(order.order_id) == order
        order.move(OrderTrigger.SUBMIT, AT)
        await uow.orders.save(order)
        assert await uow.orders.get(order.order_id) == order
        assert [event.name for event in await uow.orders.events(order.order_id)] == [
            "OrderSubmitted"
        ]
        query = OrderQuery(AccountScope(frozenset({account.account_id})))
        assert [found.order_id for found in await uow.orders.list(query)] == [order.order_id]
        alice = Principal(ALICE, "Alice", account_ids=frozenset({account.account_id}))
        assert await uow.users.by_api_key_hash("a" * 64) == alice


async def test_strategies_are_found_by_id_and_the_default_by_account(
    uow_factory: UowFactory, seed: Seed
) -> None:
    async with uow_factory() as uow:
        momentum = await uow.strategies.get(seed.momentum_a)
        default = await uow.strategies.get_default(seed.account_b)
        assert await uow.strategies.get(StrategyId("nope")) is None
        assert await uow.strategies.get_default(AccountId("ZZ0000")) is None

    assert momentum is not None
    assert (momentum.account_id, momentum.name, momentum.is_default) == (
        seed.account_a,
        "momentum",
        False,
    )
    assert default is not None
    assert (default.strategy_id, default.is_default) == (seed.default_b, True)


@pytest.mark.parametrize(
    ("account_id", "name", "is_default"),
    [
        ("AB1234", "another-default", True),  # a second default
        ("AB1234", "momentum", False),  # a name the account already uses
        ("ZZ0000", "default", True),  # an unknown account
    ],
)
async def test_a_strategy_that_breaks_a_rule_of_its_account_is_a_conflict(
    uow_factory: UowFactory, account_id: str, name: str, is_default: bool
) -> None:
    strategy = Strategy(StrategyId("S-new"), AccountId(account_id), name, is_default, AT)

    with pytest.raises(Conflict):
        await write(uow_factory, lambda uow: uow.strategies.add(strategy))

    assert await read(uow_factory, lambda uow: uow.strategies.get(strategy.strategy_id)) is None
