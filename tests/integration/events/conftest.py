"""Events out on a real database (SQLite and PostgreSQL): the services, the app, a receiver."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from order_service.adapters.broker.fake import FakeBroker
from order_service.adapters.db.crypto import SecretCipher
from order_service.adapters.db.engine import create_engine
from order_service.adapters.db.migrate import upgrade_async
from order_service.adapters.db.unit_of_work import sql_uow_factory
from order_service.adapters.http.client import CircuitPolicy, PeerClient
from order_service.adapters.http.safety import UrlPolicy
from order_service.adapters.http.webhook_sender import HttpWebhookSender
from order_service.bootstrap import Services, bootstrap
from order_service.config import load_settings
from order_service.domain.account import Principal
from order_service.entrypoints.api.app import create_app
from order_service.services.ports import UnitOfWork
from tests.integration.db.conftest import postgres_url_or_skip, reset_postgres
from tests.unit.conftest import ACCOUNT, OTHER_ACCOUNT, add_trader, api_client
from tests.unit.fakes import FakeClock


def refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The answer's error (with its request id), once its status and code are these."""
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert error["request_id"]
    return error


@dataclass
class Stack:
    services: Services
    app: FastAPI
    clock: FakeClock
    broker: FakeBroker
    trader: Principal
    key: str
    outsider: Principal
    outsider_key: str

    def client(self, key: str | None = None) -> httpx.AsyncClient:
        return api_client(self.app, key if key is not None else self.key)

    @contextlib.asynccontextmanager
    async def uow(self) -> AsyncIterator[UnitOfWork]:
        """A unit of work on the stack's database, to seed what no route writes."""
        settings = self.services.settings
        engine = create_engine(settings.database_url)
        assert settings.secret_key is not None
        factory = sql_uow_factory(engine, SecretCipher(settings.secret_key.get_secret_value()))
        try:
            async with factory() as uow:
                yield uow
        finally:
            await factory.close()
            await engine.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def database_url(kind: str, tmp_path: Path) -> str:
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'events.db'}"
    else:
        url = postgres_url_or_skip()
        await reset_postgres(url)
    await upgrade_async(url)
    return url


def production_sender() -> HttpWebhookSender:
    """The sender production uses: https only, public addresses only."""
    client = PeerClient("webhook receiver", CircuitPolicy(5, 60.0), max_body=4096)
    return HttpWebhookSender(client, UrlPolicy(require_https=True, allow_private=False), 2.0)


async def build_stack(url: str, tmp_path: Path, **overrides: Any) -> Stack:
    sender = overrides.pop("webhook_sender", None)
    settings = load_settings(
        database_url=url,
        var_dir=str(tmp_path),
        jwt_secret="test-jwt-secret-0123456789abcdef0123",
        secret_key="test-secret-key",
        log_json=False,
        # The tests place the same unkeyed order again on purpose: no duplicate guard.
        **{"events_heartbeat_seconds": 0.2, "risk_duplicate_window_seconds": 0, **overrides},
    )
    clock = FakeClock()
    broker = FakeBroker(clock)
    services = bootstrap(settings, broker=broker, clock=clock, webhook_sender=sender)
    trader, key = await add_trader(services, "trader", ACCOUNT)
    outsider, outsider_key = await add_trader(services, "outsider", OTHER_ACCOUNT)
    app = create_app(services)
    return Stack(services, app, clock, broker, trader, key, outsider, outsider_key)


@pytest_asyncio.fixture(params=["sqlite", "postgresql"])
async def stack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stack]:
    url = await database_url(request.param, tmp_path)
    built = await build_stack(url, tmp_path, webhook_sender=production_sender())
    yield built
    await built.services.close()


@contextlib.asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """Serve ``app`` on a real socket of this machine for the block; yield its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@dataclass
class Receiver:
    """A webhook receiver: what it got, and what it answers (a status per call, in turn)."""

    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            self.received.append((dict(request.headers), await request.body()))
            self.arrived.set()
            status = self.answers.pop(0) if self.answers else 204
            return Response(b"x" * 100_000 if status >= 400 else b"", status_code=status)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])
