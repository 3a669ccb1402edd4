"""`order-service serve`, `worker` and `demo` run on uvloop (installed here, as on any Unix)."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from subprocess import Popen
from typing import IO

import httpx
import pytest

from order_service.adapters.db.migrate import upgrade
from tests.keep_alive import answer_on

CLI = Path(sys.executable).parent / "order-service"
# The line each command logs once it runs, and its argument list.
COMMANDS = [
    pytest.param(["serve"], "serving the API", id="serve"),
    pytest.param(["worker"], "workers running", id="worker"),
    pytest.param(["demo"], "serving the API", id="demo"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(directory: Path) -> dict[str, str]:
    database = f"sqlite+aiosqlite:///{directory}/loop.db"
    return {
        **os.environ,
        "ORDER_SERVICE_DATABASE_URL": database,
        "ORDER_SERVICE_VAR_DIR": str(directory / "var"),
        "ORDER_SERVICE_PORT": str(_free_port()),
        "ORDER_SERVICE_PAPER_BROKER_PORT": str(_free_port()),
        "ORDER_SERVICE_LOG_JSON": "true",
        "ORDER_SERVICE_LOG_LEVEL": "INFO",
    }


Events = queue.Queue[dict[str, object]]


def _events(stream: IO[str], into: Events) -> None:
    for line in stream:
        if line.startswith("{"):
            into.put(json.loads(line))


def _first(events: Events, name: str) -> dict[str, object]:
    while True:
        event = events.get(timeout=60)
        if event.get("event") == name:
            return event


@contextmanager
def _running(
    directory: Path,
    command: list[str],
    extra: dict[str, str] | None = None,
    *,
    default_database: bool = False,
) -> Iterator[tuple[Popen[str], Events]]:
    """Run ``order-service <command>`` on a migrated database; yield it and its log events.

    ``default_database``: name no database or folder, so the command picks (and migrates) its own.
    """
    env = {**_environment(directory), **(extra or {})}
    if default_database:
        del env["ORDER_SERVICE_DATABASE_URL"], env["ORDER_SERVICE_VAR_DIR"]
    else:
        upgrade(env["ORDER_SERVICE_DATABASE_URL"])
    process = subprocess.Popen(  # noqa: S603 - our own entry point, fixed arguments
        [str(CLI), *command],
        cwd=directory,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    events: Events = queue.Queue()
    reader = threading.Thread(target=_events, args=(process.stdout, events), daemon=True)
    reader.start()
    try:
        yield process, events
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
        reader.join(5)
        process.stdout.close()


@pytest.mark.parametrize(("command", "started"), COMMANDS)
def test_the_command_runs_on_uvloop(tmp_path: Path, command: list[str], started: str) -> None:
    with _running(tmp_path, command) as (process, events):
        assert _first(events, started)["event_loop"] == "uvloop"
        process.send_signal(signal.SIGINT)
        # Ctrl+C still stops it; uvicorn re-raises it after its graceful shutdown, so `serve`
        # and `demo` end as interrupted (130), as they did on asyncio's loop.
        assert process.wait(15) in {0, 130}


def _without(directory: Path, modules: list[str]) -> dict[str, str]:
    """An environment whose interpreters cannot import ``modules`` (as where no wheel exists)."""
    site = directory / "site"
    site.mkdir()
    blocked = "".join(f"sys.modules[{name!r}] = None\n" for name in modules)
    (site / "sitecustomize.py").write_text(f"import sys\n{blocked}")
    return {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}


def test_the_demo_serves_orders_without_uvloop_and_httptools(tmp_path: Path) -> None:
    # Where neither exists (Windows has no uvloop; a new Python may lack an httptools wheel):
    # asyncio's loop and uvicorn's h11 serve the same API.
    extra = _without(tmp_path, ["uvloop", "httptools"])
    with _running(tmp_path, ["demo"], extra) as (process, events):
        started = _first(events, "serving the API")
        assert started["event_loop"] == "asyncio"
        health = httpx.get(f"http://127.0.0.1:{started['port']}/health", timeout=10)
        assert health.status_code == 200
        process.send_signal(signal.SIGINT)
        assert process.wait(15) in {0, 130}


def test_a_worker_process_ends_its_passes_and_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    with _running(tmp_path, ["worker"]) as (process, events):
        _first(events, "workers running")
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
        workers = _first(events, "workers stopped")["workers"]
        assert isinstance(workers, dict)
        assert workers
        assert set(workers.values()) == {"stopped"}


def test_the_demo_takes_its_ports_and_folder_from_its_options(tmp_path: Path) -> None:
    port, broker_port, folder = _free_port(), _free_port(), tmp_path / "second"
    options = ["--port", str(port), "--broker-port", str(broker_port), "--var-dir", str(folder)]
    with _running(tmp_path, ["demo", *options], default_database=True) as (process, events):
        assert _first(events, "serving the API")["port"] == port
        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=10)
        broker = httpx.get(f"http://127.0.0.1:{broker_port}/_admin/state", timeout=10)
        process.send_signal(signal.SIGINT)
        process.wait(15)
    assert (health.status_code, broker.status_code) == (200, 200)
    # The database is the folder's own: a second demo beside a first shares nothing with it.
    assert {"demo-api-key", "order-service.db"} <= {p.name for p in folder.iterdir()}
    assert not (tmp_path / "var").exists()


def _connected(port: int) -> socket.socket:
    """A connection to the API once it listens (it logs that it serves just before binding)."""
    deadline = time.monotonic() + 20
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=10)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _idle_connection_after(tmp_path: Path, idle: float, extra: dict[str, str]) -> bytes:
    """Serve, answer one request, leave the connection idle ``idle`` s, then ask again on it."""
    with _running(tmp_path, ["serve"], extra) as (process, events):
        port = int(str(_first(events, "serving the API")["port"]))
        with _connected(port) as sock:
            assert answer_on(sock, "/health") == b"HTTP/1.1 200 OK"
            time.sleep(idle)
            try:
                return answer_on(sock, "/health")
            finally:
                process.send_signal(signal.SIGINT)


def test_an_idle_connection_outlives_a_clients_own_keep_alive(tmp_path: Path) -> None:
    # httpx drops an idle connection after 5 s (and so did uvicorn's own default): a server
    # that closed at the same moment made a request sent just then fail as a dropped connection.
    assert _idle_connection_after(tmp_path, 5.5, {}) == b"HTTP/1.1 200 OK"


def test_the_keep_alive_is_the_configured_one(tmp_path: Path) -> None:
    extra = {"ORDER_SERVICE_HTTP_KEEP_ALIVE_SECONDS": "1"}
    assert _idle_connection_after(tmp_path, 2.5, extra) == b""
