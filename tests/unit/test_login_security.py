"""Attacks on the login callback, account ids and keys, each tried through the API and refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from order_service.domain.account import Role, SessionState
from order_service.domain.ids import AccountId
from order_service.entrypoints.api.app import create_app
from tests.factories import ACCOUNT
from tests.unit.conftest import OTHER_ACCOUNT, World, add_trader, api_client, state_of

pytestmark = pytest.mark.asyncio
CALLBACK = "/api/v1/accounts/login/callback"


@pytest.fixture
def app(world: World) -> Any:
    return create_app(world.services)


@pytest_asyncio.fixture
async def anonymous(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(app) as client:
        yield client


as_user = api_client


@pytest_asyncio.fixture
async def owner(app: Any, world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with as_user(app, world.api_key) as client:
        yield client


@pytest_asyncio.fixture
async def attacker(app: Any, world: World) -> AsyncIterator[httpx.AsyncClient]:
    """A second trader with its own account PAPER2 and nothing of PAPER1."""
    _, key = await add_trader(world.services, "attacker", OTHER_ACCOUNT)
    async with as_user(app, key) as client:
        yield client


async def start_login(client: httpx.AsyncClient, account: str = ACCOUNT) -> str:
    reply = await client.get(f"/api/v1/accounts/{account}/login")
    assert reply.status_code == 302, reply.text
    return state_of(reply.headers["location"])


def owner_token(world: World) -> str:
    return world.store.accounts[ACCOUNT].access_token or ""


async def test_a_callback_without_a_state_cannot_hijack_an_account(
    world: World, anonymous: httpx.AsyncClient
) -> None:
    before = owner_token(world)
    calls = world.broker.calls["create_session"]

    for params in (
        {"request_token": "attackers-token", "account_id": ACCOUNT},
        {"request_token": "attackers-token", "state": "guessed"},
        {"request_token": "attackers-token", "state": "x" * 129},
    ):
        reply = await anonymous.get(CALLBACK, params=params)
        assert reply.status_code in (401, 422)
        assert reply.json()["error"]["code"] in ("UNAUTHENTICATED", "INVALID_INPUT")

    assert owner_token(world) == before
    assert world.broker.calls["create_session"] == calls  # no broker budget was spent


async def test_an_attacker_cannot_start_a_login_for_an_account_not_theirs(
    attacker: httpx.AsyncClient,
) -> None:
    reply = await attacker.get(f"/api/v1/accounts/{ACCOUNT}/login")
    assert reply.status_code == 404


async def test_a_session_of_another_kite_user_is_refused(
    world: World, owner: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    # The owner is lured into completing a login with the attacker's request token.
    world.broker.session_users["attackers-token"] = "ATTACKER"
    before = owner_token(world)
    state = await start_login(owner)

    reply = await anonymous.get(
        CALLBACK, params={"state": state, "request_token": "attackers-token"}
    )

    assert reply.status_code == 403
    assert reply.json()["error"]["code"] == "FORBIDDEN"
    assert owner_token(world) == before
    assert world.store.accounts[ACCOUNT].session_state is SessionState.ACTIVE


async def test_a_state_works_once_and_answers_without_secrets(
    world: World, owner: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    state = await start_login(owner)
    params = {"state": state, "request_token": "fresh"}

    first = await anonymous.get(CALLBACK, params=params)
    again = await anonymous.get(CALLBACK, params=params)

    assert first.status_code == 200
    until = world.store.accounts[ACCOUNT].token_expires_at
    assert until is not None
    assert first.json() == {
        "account_id": ACCOUNT,
        "session_state": "active",
        "token_expires_at": until.isoformat().replace("+00:00", "Z"),
    }
    assert owner_token(world) == "token-fresh"
    assert again.status_code == 401
    assert world.store.login_states == {}


async def test_a_state_expires_after_ten_minutes(
    world: World, owner: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    state = await start_login(owner)
    world.clock.advance(601)

    reply = await anonymous.get(CALLBACK, params={"state": state, "request_token": "late"})

    assert reply.status_code == 401
    assert owner_token(world) != "token-late"


async def test_a_new_login_supersedes_the_pending_one(
    owner: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    first = await start_login(owner)
    second = await start_login(owner)

    stale = await anonymous.get(CALLBACK, params={"state": first, "request_token": "a"})
    fresh = await anonymous.get(CALLBACK, params={"state": second, "request_token": "b"})

    assert (stale.status_code, fresh.status_code) == (401, 200)


async def test_a_state_dies_with_its_users_access(
    world: World, owner: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    state = await start_login(owner)
    admin = await world.services.users.create_user("admin", frozenset({Role.ADMIN}))
    await world.services.accounts.revoke(admin, world.trader.user_id, ACCOUNT)

    reply = await anonymous.get(CALLBACK, params={"state": state, "request_token": "x"})

    assert reply.status_code == 401
    assert owner_token(world) != "token-x"


async def test_a_cancelled_login_spends_its_state(
    world: World, owner: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    state = await start_login(owner)
    params = {"state": state, "request_token": "t", "status": "cancelled"}

    assert (await anonymous.get(CALLBACK, params=params)).status_code == 422
    assert world.store.login_states == {}


async def test_a_flood_of_bogus_callbacks_costs_no_broker_call(
    world: World, anonymous: httpx.AsyncClient
) -> None:
    calls = world.broker.calls["create_session"]
    for number in range(50):
        reply = await anonymous.get(CALLBACK, params={"state": f"s{number}", "request_token": "t"})
        assert reply.status_code == 401
    assert world.broker.calls["create_session"] == calls


async def test_an_existing_account_not_yours_answers_as_any_unseen_id(
    attacker: httpx.AsyncClient,
) -> None:
    taken = await attacker.post(
        "/api/v1/accounts", json={"account_id": ACCOUNT, "api_key": "k", "api_secret": "s"}
    )
    unseen = await attacker.get(f"/api/v1/accounts/{ACCOUNT}")

    assert (taken.status_code, unseen.status_code) == (404, 404)
    assert taken.json()["error"]["message"] == unseen.json()["error"]["message"]


async def test_a_removed_account_cannot_be_taken_over(
    world: World, owner: httpx.AsyncClient, attacker: httpx.AsyncClient
) -> None:
    assert (await owner.delete(f"/api/v1/accounts/{ACCOUNT}")).status_code == 204
    body = {"account_id": ACCOUNT, "api_key": "attacker-key", "api_secret": "attacker-secret"}

    takeover = await attacker.post("/api/v1/accounts", json=body)

    assert takeover.status_code == 404
    account = world.store.accounts[ACCOUNT]
    assert account.is_removed
    assert (account.api_key, account.api_secret) == ("paper", "paper-secret")
    swapped = await owner.post("/api/v1/accounts", json={**body, "api_key": "paper2"})
    assert swapped.status_code == 403  # a previous user may not swap the account's Kite app
    same = {**body, "api_key": "paper", "api_secret": "paper-secret"}
    assert (await owner.post("/api/v1/accounts", json=same)).status_code == 201
    assert world.store.accounts[ACCOUNT].api_key == "paper"


async def test_an_admin_restoring_with_new_credentials_leaves_no_squatter_behind(
    world: World, app: Any, attacker: httpx.AsyncClient
) -> None:
    # The attacker squats an id before its owner adds it, then removes it.
    body = {"account_id": "BOB123", "api_key": "squat", "api_secret": "squat"}
    assert (await attacker.post("/api/v1/accounts", json=body)).status_code == 201
    assert (await attacker.delete("/api/v1/accounts/BOB123")).status_code == 204
    admin = await world.services.users.create_user("admin", frozenset({Role.ADMIN}))
    bob, _ = await add_trader(world.services, "bob", AccountId("BOB9"))
    async with as_user(app, await world.services.users.create_api_key(admin.user_id)) as client:
        real = {**body, "api_key": "bobs-app", "api_secret": "bobs-secret"}
        assert (await client.post("/api/v1/accounts", json=real)).status_code == 201
        grant = await client.post("/api/v1/accounts/BOB123/users", json={"user_id": bob.user_id})
        assert grant.status_code == 204

    assert (await attacker.get("/api/v1/accounts/BOB123")).status_code == 404
    holders = {user for user, account in world.store.grants if account == "BOB123"}
    assert holders == {admin.user_id, bob.user_id}


async def test_only_an_admin_removes_a_users_access(
    world: World, app: Any, attacker: httpx.AsyncClient
) -> None:
    url = f"/api/v1/accounts/{OTHER_ACCOUNT}/users/{world.trader.user_id}"
    assert (await attacker.delete(url)).status_code == 403
    admin = await world.services.users.create_user("admin", frozenset({Role.ADMIN}))
    key = await world.services.users.create_api_key(admin.user_id)
    trader = as_user(app, world.api_key)
    assert (await trader.get(f"/api/v1/accounts/{ACCOUNT}")).status_code == 200  # now cached
    async with as_user(app, key) as admin_client:
        ours = f"/api/v1/accounts/{ACCOUNT}/users/{world.trader.user_id}"
        assert (await admin_client.delete(ours)).status_code == 204
        assert (await admin_client.delete(ours)).status_code == 404
    assert (world.trader.user_id, ACCOUNT) not in world.store.grants
    assert (await trader.get(f"/api/v1/accounts/{ACCOUNT}")).status_code == 404  # at once
    await trader.aclose()


async def test_a_user_lists_and_revokes_only_their_own_keys(
    world: World, app: Any, owner: httpx.AsyncClient, attacker: httpx.AsyncClient
) -> None:
    spare = await world.services.users.create_api_key(world.trader.user_id)
    keys = (await owner.get("/api/v1/keys")).json()
    assert len(keys) == 2
    assert all(set(k) == {"key_id", "created_at", "revoked_at", "strategy_id"} for k in keys)
    spare_id = keys[-1]["key_id"]

    async with as_user(app, spare) as before:  # cached by this process while it is live
        assert (await before.get("/api/v1/orders")).status_code == 200
    assert (await attacker.delete(f"/api/v1/keys/{spare_id}")).status_code == 404
    assert (await owner.delete(f"/api/v1/keys/{spare_id}")).status_code == 204
    assert (await owner.delete(f"/api/v1/keys/{spare_id}")).status_code == 404

    async with as_user(app, spare) as revoked:
        assert (await revoked.get("/api/v1/orders")).status_code == 401
    assert (await owner.get("/api/v1/keys")).json()[-1]["revoked_at"] is not None


async def test_readiness_tells_outsiders_nothing_but_ready(
    world: World, anonymous: httpx.AsyncClient, owner: httpx.AsyncClient, app: Any
) -> None:
    outsider = await anonymous.get("/ready")
    trader = await owner.get("/ready")
    admin = await world.services.users.create_user("admin", frozenset({Role.ADMIN}))
    async with as_user(app, await world.services.users.create_api_key(admin.user_id)) as client:
        detailed = await client.get("/ready")

    assert outsider.json() == {"ready": True}
    assert trader.json() == {"ready": True}
    assert detailed.json()["broker_sessions"] == {ACCOUNT: True}
