"""The daily login from a browser: a one-time link, and a page (not JSON) at the callback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from order_service.domain.account import IST
from order_service.domain.login import LOGIN_STATE_LIFETIME
from order_service.entrypoints.api.app import create_app
from order_service.entrypoints.api.login_page import failed_page
from order_service.errors import ValidationError
from tests.factories import ACCOUNT
from tests.unit.conftest import OTHER_ACCOUNT, World, add_trader, api_client, state_of

CALLBACK = "/api/v1/accounts/login/callback"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture
def app(world: World) -> Any:
    return create_app(world.services)


@pytest_asyncio.fixture
async def owner(app: Any, world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(app, world.api_key) as client:
        yield client


@pytest_asyncio.fixture
async def browser(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """No bearer token: what a browser brings to the callback after Kite's redirect."""
    async with api_client(app) as client:
        client.headers.update(BROWSER)
        yield client


async def link(client: httpx.AsyncClient, account: str = ACCOUNT) -> dict[str, Any]:
    reply = await client.post(f"/api/v1/accounts/{account}/login-link")
    assert reply.status_code == 201, reply.text
    body: dict[str, Any] = reply.json()
    return body


@pytest.mark.asyncio
async def test_a_login_link_is_the_brokers_page_with_a_one_time_state_for_ten_minutes(
    world: World, owner: httpx.AsyncClient
) -> None:
    body = await link(owner)
    assert set(body) == {"login_url", "expires_at"}
    assert body["login_url"].startswith(world.broker.login_url("", {})[:20])
    assert state_of(body["login_url"])
    expires = datetime.fromisoformat(body["expires_at"])
    assert expires == world.clock.now() + LOGIN_STATE_LIFETIME


@pytest.mark.asyncio
async def test_the_link_logs_the_account_in_once_and_a_browser_sees_a_page(
    world: World, owner: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    state = state_of((await link(owner))["login_url"])
    page = await browser.get(CALLBACK, params={"state": state, "request_token": "token-1"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    until = world.store.accounts[ACCOUNT].token_expires_at
    assert until is not None
    assert f"{ACCOUNT} is logged in" in page.text
    assert until.astimezone(IST).strftime("%d %b %Y %H:%M IST") in page.text
    assert "<script" not in page.text  # and the API's policy would not run one

    again = await browser.get(CALLBACK, params={"state": state, "request_token": "token-2"})
    assert again.status_code == 401
    assert again.headers["content-type"].startswith("text/html")
    assert "UNAUTHENTICATED" in again.text
    assert "login-link" in again.text  # it says how to get a new one


@pytest.mark.asyncio
async def test_an_api_client_keeps_the_json_answer_with_the_sessions_end(
    world: World, owner: httpx.AsyncClient
) -> None:
    state = state_of((await link(owner))["login_url"])
    reply = await owner.get(CALLBACK, params={"state": state, "request_token": "token-1"})
    assert reply.status_code == 200
    body = reply.json()
    assert body["account_id"] == ACCOUNT
    assert body["session_state"] == "active"
    until = world.store.accounts[ACCOUNT].token_expires_at
    assert until is not None
    assert datetime.fromisoformat(body["token_expires_at"]) == until
    # The same moment, written as the accounts list writes it: in UTC.
    listed = (await owner.get(f"/api/v1/accounts/{ACCOUNT}")).json()
    assert body["token_expires_at"] == listed["token_expires_at"]
    assert body["token_expires_at"].endswith(("Z", "+00:00"))


@pytest.mark.asyncio
async def test_a_newer_link_replaces_the_older(
    owner: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    older = state_of((await link(owner))["login_url"])
    newer = state_of((await link(owner))["login_url"])
    stale = await browser.get(CALLBACK, params={"state": older, "request_token": "t"})
    assert stale.status_code == 401
    fresh = await browser.get(CALLBACK, params={"state": newer, "request_token": "t"})
    assert fresh.status_code == 200


@pytest.mark.asyncio
async def test_an_expired_link_is_refused(
    world: World, owner: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    calls = world.broker.calls["create_session"]
    state = state_of((await link(owner))["login_url"])
    world.clock.advance((LOGIN_STATE_LIFETIME + timedelta(seconds=1)).total_seconds())
    page = await browser.get(CALLBACK, params={"state": state, "request_token": "t"})
    assert page.status_code == 401
    assert world.broker.calls["create_session"] == calls  # no broker call for a dead link


@pytest.mark.asyncio
async def test_a_link_needs_the_callers_key_and_an_account_it_may_act_on(
    app: Any, world: World, browser: httpx.AsyncClient
) -> None:
    anonymous = await browser.post(f"/api/v1/accounts/{ACCOUNT}/login-link")
    assert anonymous.status_code == 401
    _, key = await add_trader(world.services, "attacker", OTHER_ACCOUNT)
    async with api_client(app, key) as attacker:
        stranger = await attacker.post(f"/api/v1/accounts/{ACCOUNT}/login-link")
        assert stranger.status_code == 404
        assert stranger.json()["error"]["code"] == "NOT_FOUND"
        own = await attacker.post(f"/api/v1/accounts/{OTHER_ACCOUNT}/login-link")
        assert own.status_code == 201


def test_the_page_escapes_what_it_shows() -> None:
    page = failed_page(ValidationError('<script>alert("x")</script>', field="request_token"))
    text = bytes(page.body).decode()
    assert "<script>" not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text
    assert page.status_code == 422
