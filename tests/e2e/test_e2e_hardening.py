"""The HTTP edge on a real server: a bug answers 500 once, and the connection stays usable."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
import structlog
import uvicorn

from order_service.adapters.broker.fake import FakeBroker
from order_service.bootstrap import bootstrap
from order_service.config import Settings
from order_service.domain.account import Principal
from order_service.entrypoints.api.app import create_app
from tests.unit.fakes import FakeClock, FakeStore, FakeUnitOfWork

pytestmark = pytest.mark.asyncio


class BuggyDirectory:
    """A user directory with a programming error: every lookup fails unexpectedly."""

    async def authenticate(self, credential: str) -> Principal:
        raise RuntimeError("a bug in the directory")


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
