"""LocalUserDirectory: API keys and HS256 JWTs resolve to principals; anything doubtful fails."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import jwt
import pytest

from order_service.adapters.users.local import LocalUserDirectory, TokenRules
from order_service.config import Settings
from order_service.errors import AuthenticationRequired
from tests.factories import ACCOUNT, NOW
from tests.unit.conftest import World
from tests.unit.fakes import FakeUnitOfWork

pytestmark = pytest.mark.asyncio

OTHER_SECRET = "another-jwt-secret-0123456789abcdef0123"


def secret(settings: Settings) -> str:
    assert settings.jwt_secret is not None
    return settings.jwt_secret.get_secret_value()


def token(key: str, *, algorithm: str = "HS256", **claims: Any) -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def in_an_hour() -> datetime:
    """An hour after the FakeClock's fixed start: tests never read the wall clock."""
    return NOW + timedelta(hours=1)


async def test_an_api_key_resolves_to_its_user_and_accounts(world: World) -> None:
    principal = await world.services.directory.authenticate(world.api_key)
    assert principal.user_id == world.trader.user_id
    assert principal.account_ids == frozenset({ACCOUNT})


@pytest.mark.parametrize("credential", ["os_not-a-key-we-issued", "", "Bearer os_x"])
async def test_an_unknown_credential_is_refused(world: World, credential: str) -> None:
    with pytest.raises(AuthenticationRequired):
        await world.services.directory.authenticate(credential)


async def test_a_jwt_resolves_to_its_subject(world: World, settings: Settings) -> None:
    credential = token(secret(settings), sub=world.trader.user_id, exp=in_an_hour())
    principal = await world.services.directory.authenticate(credential)
    assert principal.user_id == world.trader.user_id
    assert principal.account_ids == frozenset({ACCOUNT})


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(
            lambda key, sub: token(key, sub=sub, exp=NOW - timedelta(minutes=5)),
            id="expired",
        ),
        pytest.param(lambda key, sub: token(OTHER_SECRET, sub=sub, exp=in_an_hour()), id="secret"),
        pytest.param(lambda key, sub: token(key, sub=sub), id="no-exp"),
        pytest.param(lambda key, sub: token(key, exp=in_an_hour()), id="no-sub"),
        pytest.param(
            lambda key, sub: token("", algorithm="none", sub=sub, exp=in_an_hour()), id="alg-none"
        ),
        pytest.param(
            lambda key, sub: token(key, sub="01NOSUCHUSER", exp=in_an_hour()), id="unknown-user"
        ),
        pytest.param(lambda key, sub: "not.a.jwt", id="garbage"),
    ],
)
async def test_a_doubtful_jwt_is_refused(world: World, settings: Settings, make: Any) -> None:
    credential = make(secret(settings), world.trader.user_id)
    with pytest.raises(AuthenticationRequired):
        await world.services.directory.authenticate(credential)


async def test_a_resolved_credential_is_cached_briefly(world: World) -> None:
    first = await world.services.directory.authenticate(world.api_key)
    world.store.keys.clear()  # revoked: takes effect once the cache entry expires
    assert await world.services.directory.authenticate(world.api_key) == first


async def test_jwts_are_refused_when_no_secret_is_configured(
    world: World, settings: Settings
) -> None:
    rules = TokenRules(None, timedelta(hours=24))
    directory = LocalUserDirectory(lambda: FakeUnitOfWork(world.store), rules, world.clock)
    credential = token(secret(settings), sub=world.trader.user_id, exp=in_an_hour())
    with pytest.raises(AuthenticationRequired, match="not configured"):
        await directory.authenticate(credential)
    assert (await directory.authenticate(world.api_key)).user_id == world.trader.user_id
