"""The edge on real servers: a bug answers 500 once on a usable connection; demo files private."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import structlog
import uvicorn

from order_service.adapters.broker.fake import FakeBroker
from order_service.bootstrap import bootstrap
from order_service.config import Settings
from order_service.domain.account import Principal
from order_service.entrypoints.api.app import create_app
from tests.e2e.harness import wait_for
from tests.unit.fakes import FakeClock, FakeStore, FakeUnitOfWork


class BuggyDirectory:
    """A user directory with a programming error: every lookup fails unexpectedly."""

    async def authenticate(self, credential: str) -> Principal:
        raise RuntimeError("a bug in the directory")

    def forget_all(self) -> None:
        """Nothing is remembered."""


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


class Connection:
    """One keep-alive HTTP/1.1 connection: requests on it fail if the server closed it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def get(self, path: str, token: str = "os_any") -> Reply:
        request = f"GET {path} HTTP/1.1\r\nHost: service\r\nAuthorization: Bearer {token}\r\n\r\n"
        self.writer.write(request.encode())
        await self.writer.drain()
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 10)
        status_line, *lines = head.decode("latin-1").split("\r\n")
        pairs = (line.split(": ", 1) for line in lines if line)
        headers = {name.lower(): value for name, value in pairs}
        body = await self.reader.readexactly(int(headers["content-length"]))
        return Reply(int(status_line.split()[1]), headers, body)


@pytest_asyncio.fixture
async def server(settings: Settings) -> AsyncIterator[str]:
    """The app on a real uvicorn server (same options as the service), around fakes."""
    store, clock = FakeStore(), FakeClock()
    services = bootstrap(
        settings,
        uow_factory=lambda: FakeUnitOfWork(store),
        broker=FakeBroker(clock),
        clock=clock,
        directory=BuggyDirectory(),
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(create_app(services), log_config=None, access_log=False)
    running = uvicorn.Server(config)
    serving = asyncio.create_task(running.serve(sockets=[sock]))
    for _ in range(1000):
        if running.started or serving.done():
            break
        await asyncio.sleep(0.01)
    assert running.started
    yield f"127.0.0.1:{sock.getsockname()[1]}"
    running.should_exit = True
    await serving


@pytest.mark.asyncio
async def test_a_bug_answers_500_once_and_keeps_the_connection(
    server: str, caplog: pytest.LogCaptureFixture
) -> None:
    host, port = server.split(":")
    connection = Connection(*await asyncio.open_connection(host, int(port)))
    with caplog.at_level(logging.WARNING), structlog.testing.capture_logs() as logs:
        failed = await connection.get("/api/v1/orders")
        after = await connection.get("/health")  # the same socket: it must still be open
    connection.writer.close()

    assert failed.status == 500
    error = json.loads(failed.body)["error"]
    assert error["code"] == "INTERNAL"
    assert error["request_id"] == failed.headers["x-request-id"]
    assert "connection" not in failed.headers  # no `connection: close`
    assert after.status == 200
    critical = [entry for entry in logs if entry["log_level"] == "critical"]
    assert len(critical) == 1, logs
    assert critical[0]["exc_info"] is True  # with the traceback
    assert critical[0]["path"] == "/api/v1/orders"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_the_demo_keeps_its_database_and_keys_private(tmp_path: Path) -> None:
    api_port = _free_port()
    env = {
        **os.environ,
        "ORDER_SERVICE_PORT": str(api_port),
        "ORDER_SERVICE_PAPER_BROKER_PORT": str(_free_port()),
        "ORDER_SERVICE_LOG_LEVEL": "WARNING",
    }
    cli = Path(sys.executable).parent / "order-service"
    process = subprocess.Popen(  # noqa: S603 - our own entry point, fixed arguments
        [str(cli), "demo"], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL
    )
    try:
        url = f"http://127.0.0.1:{api_port}"
        wait_for(lambda: _healthy(url) or process.poll() is not None, timeout=60)
        assert process.poll() is None
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(15)
    var = tmp_path / "var"
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    for name in ("order-service.db", "secret-key", "jwt-secret", "demo-api-key"):
        assert stat.S_IMODE((var / name).stat().st_mode) == 0o600, name
