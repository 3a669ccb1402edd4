"""Running the paper broker: in a background thread (tests, demo) or in the foreground (CLI)."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import replace
from importlib.util import find_spec

import uvicorn

from .app import create_app
from .config import PaperBrokerConfig
from .errors import ConfigError

START_TIMEOUT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 10.0
KEEP_ALIVE_SECONDS = 75


def _uvicorn_config(config: PaperBrokerConfig, log_level: str = "warning") -> uvicorn.Config:
    return uvicorn.Config(
        create_app(config),
        host=config.host,
        port=config.port,
        http="httptools" if find_spec("httptools") else "h11",
        loop="uvloop" if find_spec("uvloop") else "asyncio",
        access_log=False,
        log_level=log_level,
        timeout_graceful_shutdown=1,
        # Idle connections stay open longer than a client's pool keeps them (requests and httpx
        # reuse them): a server closing one as the SDK sends an order on it leaves the order's
        # outcome unknown. uvicorn's default is 5 s.
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        # The ticker's clients keep their connections alive (Kite's SDK pings every 2.5 s);
        # the server pings nobody, so it never draws on the random module's shared state.
        ws_ping_interval=None,
    )


class PaperBrokerServer:
    """A paper broker on a daemon thread; `start()` returns once it accepts connections."""

    def __init__(self, config: PaperBrokerConfig) -> None:
        self.config = config
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("the paper broker is not running")
        return self._url

    def start(self) -> str:
        """Bind (port 0 picks a free port), serve in the background, return the base URL."""
        if self._url is not None:
            return self._url
        sock = _bind(self.config.host, self.config.port)
        port: int = sock.getsockname()[1]
        try:
            self._server = uvicorn.Server(_uvicorn_config(replace(self.config, port=port)))
        except ConfigError:
            # A configuration refused at start (a bad replay file) must not leak the socket.
            sock.close()
            raise
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name="paper-broker"
        )
        self._thread.start()
        self._wait_until_started()
        self._url = f"http://{_connectable(self.config.host)}:{port}"
        return self._url

    def _wait_until_started(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while self._server is not None and not self._server.started:
            if self._thread is None or not self._thread.is_alive():
                raise RuntimeError("the paper broker failed to start")
            if time.monotonic() > deadline:
                raise TimeoutError("the paper broker did not start in time")
            time.sleep(0.01)

    def stop(self) -> None:
        """Ask uvicorn to shut down (which saves the state file) and wait for it."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_SECONDS)
        self._server = self._thread = self._url = None


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _connectable(host: str) -> str:
    """The address a client should dial for a server bound to `host`."""
    if host in {"0.0.0.0", ""}:  # noqa: S104 - mapping a wildcard bind, not binding one
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def serve(config: PaperBrokerConfig) -> None:
    """Serve in the foreground until interrupted."""
    uvicorn.Server(_uvicorn_config(config, log_level="info")).run()
