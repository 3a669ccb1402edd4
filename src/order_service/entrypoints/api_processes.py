"""``serve --workers N``: N API processes sharing one listening socket (PostgreSQL only).

The parent checks the database, takes the address (``bind_api``), and runs uvicorn's process
supervisor, which starts N processes, each building its own services through ``api_app`` and
replacing one that dies. The background workers, when asked for, run once, in one more process
of their own (as ``order-service worker`` does), never inside the API processes: N copies
would each take their share of the accounts' leases and the heartbeats for nothing. On
SIGINT or SIGTERM the parent stops the API processes, then the worker process, and returns.

On SQLite this is refused: a SQLite file is for one process (its unit of work holds one
connection's writes, and its liveness assumes no other process).
"""

from __future__ import annotations

import multiprocessing
import os

import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors import Multiprocess

from order_service.bootstrap import bootstrap
from order_service.config import Settings, load_settings
from order_service.entrypoints.api.app import create_app
from order_service.entrypoints.server import (
    bind_api,
    database_answers,
    run,
    run_process,
    run_workers,
    tune_collector,
)
from order_service.errors import ConfigurationError
from order_service.observability.logging import configure_logging, get_logger

log = get_logger(__name__)
APP_FACTORY = "order_service.entrypoints.api_processes:api_app"
WORKER_STOP_SECONDS = 30.0  # the supervisor's own stop waits for each worker's current pass


def refuse_sqlite(settings: Settings, processes: int) -> None:
    if processes > 1 and not settings.uses_postgres:
        raise ConfigurationError(
            f"serve --workers {processes} needs PostgreSQL: a SQLite database is for one "
            "process (set ORDER_SERVICE_DATABASE_URL to a postgresql+asyncpg:// URL, or serve "
            "one process)"
        )


def serve_processes(settings: Settings, processes: int, *, with_workers: bool) -> None:
    """Serve the API from ``processes`` processes until SIGINT/SIGTERM (see the module)."""
    refuse_sqlite(settings, processes)
    run(_check_database(settings))
    api_socket = bind_api(settings)
    # The processes load their settings from the environment: the command line's too.
    os.environ.update(ORDER_SERVICE_HOST=settings.host, ORDER_SERVICE_PORT=str(settings.port))
    config = uvicorn.Config(
        APP_FACTORY,
        factory=True,
        workers=processes,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        http="auto",
        timeout_keep_alive=settings.http_keep_alive_seconds,
        lifespan="on",
    )
    supervisor = Multiprocess(config, sockets=[api_socket])  # from here it owns the signals
    workers = _start_workers() if with_workers else None
    log.info("serving the API", host=settings.host, port=settings.port, processes=processes)
    try:
        supervisor.run()
    finally:
        if workers is not None:
            _stop(workers)
        api_socket.close()


def api_app() -> FastAPI:
    """One API process's app (uvicorn calls this in each process it starts)."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_json)
    tune_collector()
    return create_app(bootstrap(settings))


async def _check_database(settings: Settings) -> None:
    services = bootstrap(settings)
    try:
        await database_answers(services)
    finally:
        await services.close()


def _start_workers() -> multiprocessing.process.BaseProcess:
    process = multiprocessing.get_context("spawn").Process(
        target=_worker_process, name="order-service-workers"
    )
    process.start()
    return process


def _worker_process() -> None:
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_json)
    run_process(run_workers(bootstrap(settings)))


def _stop(process: multiprocessing.process.BaseProcess) -> None:
    process.terminate()  # SIGTERM: the workers stop as `order-service worker` does
    process.join(WORKER_STOP_SECONDS)
    if process.is_alive():
        log.warning("the worker process did not stop in time: killed", pid=process.pid)
        process.kill()
        process.join()
