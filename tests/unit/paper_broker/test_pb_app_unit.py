"""The ASGI app in-process: envelopes for errors, bugs and the loopback-only admin API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from paper_broker import PaperBrokerConfig, create_app


async def _broken(request: Request) -> Response:
    raise RuntimeError("a bug")


@pytest_asyncio.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(PaperBrokerConfig())
    app.router.routes.append(Route("/broken", _broken))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://paper") as client:
        yield client


@pytest.mark.asyncio
async def test_a_bug_is_a_general_exception_500_in_the_envelope(
    client: httpx.AsyncClient,
) -> None:
    reply = await client.get("/broken")

    assert reply.status_code == 500
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == {
        "status": "error",
        "message": "Something went wrong in the paper broker.",
        "data": None,
        "error_type": "GeneralException",
    }


@pytest.mark.asyncio
async def test_unknown_routes_are_404_route_not_found(client: httpx.AsyncClient) -> None:
    reply = await client.get("/alerts")

    assert reply.status_code == 404
    assert reply.json()["message"] == "Route not found"


@pytest.mark.asyncio
async def test_session_token_needs_all_fields(client: httpx.AsyncClient) -> None:
    reply = await client.post("/session/token", data={"api_key": "paper"})

    assert reply.status_code == 400
    assert reply.json()["message"] == "Invalid `request_token`."


@pytest.mark.asyncio
async def test_the_admin_api_refuses_other_hosts() -> None:
    transport = httpx.ASGITransport(
        app=create_app(PaperBrokerConfig()), client=("203.0.113.9", 4000)
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://paper") as client:
        reply = await client.get("/_admin/state")

    assert reply.status_code == 403
    assert reply.json()["error_type"] == "PermissionException"


@pytest.mark.asyncio
async def test_admin_clock_and_price_inputs_are_checked(client: httpx.AsyncClient) -> None:
    bad = [
        ("/_admin/clock", {"advance_seconds": "soon"}),
        ("/_admin/clock", {"set": "yesterday"}),
        ("/_admin/prices", {"NSE:INFY": "-3"}),
        ("/_admin/prices", {"NSE:INFY": "1e999"}),
        ("/_admin/prices", {"NSE:NOPE": "3"}),
        ("/_admin/users", {"funds": "1"}),
        ("/_admin/users", {"user_id": "X", "funds": "NaN"}),
        ("/_admin/clock", {"advance_seconds": 1e300}),
        ("/_admin/users", {"user_id": "PAPER1", "postback_url": "nowhere"}),
        ("/_admin/users", {"user_id": "X2", "postback_url": 5}),
        ("/_admin/users", {"user_id": "PAPER1", "funds": "5"}),
    ]
    for path, body in bad:
        reply = await client.post(path, json=body)
        assert reply.status_code == 400, path
        assert reply.json()["error_type"] == "InputException"
    moved = await client.post("/_admin/clock", json={"set": "2026-12-07T10:00:00+05:30"})
    assert moved.json()["data"]["now"] == "2026-12-07 10:00:00"


@pytest.mark.asyncio
async def test_state_can_be_saved_on_demand(tmp_path: Path) -> None:
    app = create_app(PaperBrokerConfig(state_file=tmp_path / "s.json"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://paper") as client:
        reply = await client.get("/_admin/state", params={"save": "1"})

    assert reply.status_code == 200
    assert (tmp_path / "s.json").exists()


@pytest.mark.asyncio
async def test_a_users_postback_url_can_be_set_and_cleared(client: httpx.AsyncClient) -> None:
    url = "http://127.0.0.1:9000/hook"

    added = await client.post("/_admin/users", json={"user_id": "PAPER1", "postback_url": url})
    cleared = await client.post("/_admin/users", json={"user_id": "PAPER1", "postback_url": None})
    state = (await client.get("/_admin/state")).json()["data"]

    assert added.json()["data"]["postback_url"] == url
    assert cleared.json()["data"]["postback_url"] is None
    assert state["users"][0]["postback_url"] is None
    assert state["postbacks"]["queued"] == 0
    assert state["ticker"] == {"connections": 0}


@pytest.mark.asyncio
async def test_a_reset_that_finds_the_replay_file_broken_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text("timestamp,instrument,price\n2099-01-01 09:15:00,NSE:INFY,1580\n")
    app = create_app(PaperBrokerConfig(price_replay=path))
    broker = app.state.broker
    path.write_text("timestamp,instrument,price\n2099-01-01 09:15:00,NSE:INFY,1580.01\n")

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://paper") as client:
        reply = await client.post("/_admin/reset")

    assert reply.status_code == 500
    assert reply.json()["error_type"] == "GeneralException"
    assert "line 2: the price 1580.01 is not a multiple" in reply.json()["message"]
    assert app.state.broker is broker
