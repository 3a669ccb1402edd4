"""``order-service serve --workers N``: N API processes on PostgreSQL, refused on SQLite."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from order_service.adapters.db.engine import create_engine
from order_service.adapters.db.migrate import upgrade_async
from order_service.adapters.db.tables import service_instances
from order_service.entrypoints import cli
from order_service.errors import ConfigurationError
from tests.integration.cli.test_cli_errors import CLI, _free_port
from tests.integration.db.conftest import postgres_url_or_skip, reset_postgres

STARTUP_SECONDS = 90.0  # two cores shared by several suites: a cold start of 4 interpreters


def test_several_api_processes_are_refused_on_sqlite_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ORDER_SERVICE_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/one.db")
    monkeypatch.setenv("ORDER_SERVICE_VAR_DIR", str(tmp_path))
    refused = CliRunner().invoke(cli.app, ["serve", "--workers", "2", "--port", "9"])
    assert refused.exit_code == 1
    assert isinstance(refused.exception, ConfigurationError)
    assert "needs PostgreSQL" in refused.exception.message
    monkeypatch.setattr(sys, "argv", ["order-service", "serve", "--workers", "3"])
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    assert stopped.value.code == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("CONFIGURATION: serve --workers 3 needs PostgreSQL")
    assert list(tmp_path.iterdir()) == []  # no database made, no port taken


def test_serve_rejects_a_count_below_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDER_SERVICE_VAR_DIR", str(tmp_path))
    refused = CliRunner().invoke(cli.app, ["serve", "--workers", "0"])
    assert refused.exit_code == 2
    assert "--workers" in refused.output


def _live_instances(url: str) -> int:
    async def count() -> int:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                live = service_instances.c.expires_at > func.now()
                statement = select(func.count()).select_from(service_instances).where(live)
                return int((await connection.execute(statement)).scalar_one())
        finally:
            await engine.dispose()

    return asyncio.run(count())


def _children(pid: int) -> list[str]:
    """The command lines of the process's children (Linux's /proc)."""
    listed = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [Path(f"/proc/{child}/cmdline").read_text().replace("\0", " ") for child in listed]


@pytest.fixture
def postgres_database() -> Iterator[str]:
    url = postgres_url_or_skip()
    asyncio.run(reset_postgres(url))
    asyncio.run(upgrade_async(url))
    yield url
    asyncio.run(reset_postgres(url))


def _until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.skipif(sys.platform != "linux", reason="counts processes through /proc")
def test_two_api_processes_on_postgres_answer_and_stop_on_sigterm(
    tmp_path: Path, postgres_database: str
) -> None:
    port = _free_port()
    environment = {
        **os.environ,
        "ORDER_SERVICE_DATABASE_URL": postgres_database,
        "ORDER_SERVICE_VAR_DIR": str(tmp_path),
        "ORDER_SERVICE_LOG_JSON": "false",
    }
    serving = subprocess.Popen(  # noqa: S603 - our own entry point, fixed arguments
        [str(CLI), "serve", "--workers", "2", "--with-workers", "--port", str(port)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        assert _until(lambda: _answers(base), STARTUP_SECONDS), "the API never answered"
        # 2 API processes and 1 of background workers, each with its own heartbeat.
        assert _until(lambda: _live_instances(postgres_database) == 3, STARTUP_SECONDS)
        children = _children(serving.pid)
        assert sum("spawn_main" in command for command in children) == 3
        for _ in range(8):  # a new connection each: the kernel spreads them over the processes
            assert httpx.get(f"{base}/health", timeout=5).json() == {"status": "ok"}
        serving.send_signal(signal.SIGTERM)
        output, _ = serving.communicate(timeout=60)
    finally:
        if serving.poll() is None:
            serving.kill()
            serving.communicate()
    assert serving.returncode == 0, output
    assert "Traceback" not in output
    assert not _answers(base)
    assert _live_instances(postgres_database) == 0  # every process left cleanly
