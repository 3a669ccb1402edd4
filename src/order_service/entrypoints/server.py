"""Running processes: the API (with or without workers) and the worker-only process.

Every process runs its main coroutine with ``run``: on uvloop where it is installed (uvicorn's
``standard`` extra brings it everywhere but Windows), on asyncio's own loop elsewhere. A
long-running process starts through ``run_process``, which first tunes the garbage collector.
"""

from __future__ import annotations

import asyncio
import gc
import signal
import socket
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import uvicorn

from order_service.bootstrap import Services
from order_service.config import Settings
from order_service.entrypoints.api.app import create_app
from order_service.entrypoints.workers.liveness import heartbeating
from order_service.entrypoints.workers.registry import build_supervisor
from order_service.errors import ConfigurationError, DatabaseError
from order_service.observability.logging import get_logger

log = get_logger(__name__)
T = TypeVar("T")
# Allocations between two collections of the youngest generation (CPython's default is 700).
# A pass over a large book allocates millions of short-lived objects; with the default the
# collector took about a quarter of a 10,000-order reconciliation, scanning the same
# survivors again and again.
YOUNGEST_GENERATION_THRESHOLD = 50_000


def run_process(main: Coroutine[Any, Any, T]) -> T:
    """Run a long-running process's ``main``: with the collector tuned, then as ``run``."""
    tune_collector()
    return run(main)


def tune_collector() -> None:
    """Move what exists at start (modules, settings, services) out of the collector's scans,
    and collect the youngest generation less often (``YOUNGEST_GENERATION_THRESHOLD``)."""
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNGEST_GENERATION_THRESHOLD, middle, oldest)


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` to completion on a new event loop (uvloop's when installed), then close it."""
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(main)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # Windows: asyncio's default loop (None) serves
        return None
    return uvloop.new_event_loop


def loop_name() -> str:
    """The running event loop's library: ``uvloop`` or ``asyncio``."""
    return type(asyncio.get_running_loop()).__module__.partition(".")[0]


def bind_api(settings: Settings) -> socket.socket:
    """Take the API's address now: a process that cannot serve stops before it changes anything."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        sock.close()
        raise ConfigurationError(
            f"cannot listen on {settings.host}:{settings.port} ({exc.strerror}): is another "
            "service or demo running there? choose another port with --port or ORDER_SERVICE_PORT"
        ) from exc
    return sock


async def database_answers(services: Services) -> None:
    """Refuse to start on a database that does not answer, or whose stored secrets the
    configured keys do not open: in one sentence, not a traceback."""
    if not await services.database_ready():
        raise DatabaseError(
            "the database does not answer: is it running, and is ORDER_SERVICE_DATABASE_URL right?"
        )
    await services.secrets.check()


async def serve_api(
    services: Services,
    settings: Settings,
    *,
    with_workers: bool,
    sockets: list[socket.socket] | None = None,
) -> None:
    """Serve the API until interrupted; the supervisor runs inside the app's lifespan.

    ``sockets``: the API's address already bound (``bind_api``); else uvicorn binds it.
    """
    await database_answers(services)
    supervisor = build_supervisor(services) if with_workers else None
    app = create_app(services, supervisor)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        http="auto",  # httptools where it is installed, else h11
        timeout_keep_alive=settings.http_keep_alive_seconds,
        # No `loop`: uvicorn reads it only in Server.run(); the caller's ``run`` picks the loop.
        lifespan="on",
    )
    log.info("serving the API", host=settings.host, port=settings.port, event_loop=loop_name())
    await uvicorn.Server(config).serve(sockets=sockets)


def stop_on_signals(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Set ``stop`` on SIGINT or SIGTERM: through the loop on Unix, a plain handler on Windows."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except NotImplementedError:  # Windows' event loops cannot watch signals
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.set))


async def run_workers(services: Services) -> None:
    """Run the supervised workers until SIGINT/SIGTERM."""
    await database_answers(services)
    supervisor = build_supervisor(services)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    stop_on_signals(loop, stop)
    try:
        async with heartbeating(services.liveness):
            await supervisor.start()
            log.info(
                "workers running",
                event_loop=loop_name(),
                instance=services.liveness.instance_id,
            )
            try:
                await stop.wait()
            finally:
                await supervisor.stop()
                log.info("workers stopped", workers=supervisor.status())
    finally:
        await services.close()
