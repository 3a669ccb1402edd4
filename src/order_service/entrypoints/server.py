"""Running processes: the API (with or without workers) and the worker-only process."""

from __future__ import annotations

import asyncio
import signal

import uvicorn

from order_service.bootstrap import Services
from order_service.config import Settings
from order_service.entrypoints.api.app import create_app
from order_service.entrypoints.workers.registry import build_supervisor


async def serve_api(services: Services, settings: Settings, *, with_workers: bool) -> None:
    """Serve the API until interrupted; the supervisor runs inside the app's lifespan."""
    supervisor = build_supervisor(services) if with_workers else None
    app = create_app(services, supervisor)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        http="httptools",
        loop="uvloop",
        lifespan="on",
    )
    await uvicorn.Server(config).serve()


async def run_workers(services: Services) -> None:
    """Run the supervised workers until SIGINT/SIGTERM."""
    supervisor = build_supervisor(services)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await supervisor.start()
    try:
        await stop.wait()
    finally:
        await supervisor.stop()
        await services.close()
