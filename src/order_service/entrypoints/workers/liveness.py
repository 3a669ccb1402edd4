"""This process's heartbeat: a background task of every process (API and worker) while it runs.

The first beat happens before the process starts its work, so it is never taken for dead
while it places orders; a refused beat after that is logged and retried at the next interval
(the heartbeat expires only after several). On a clean exit the process leaves at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from order_service.errors import ServiceUnavailableError
from order_service.observability.logging import get_logger
from order_service.services.liveness import Heartbeat, Liveness

log = get_logger(__name__)


@asynccontextmanager
async def heartbeating(liveness: Liveness) -> AsyncIterator[None]:
    """Keep ``liveness`` beating for the block (nothing to do for a process alone)."""
    if not isinstance(liveness, Heartbeat):
        yield
        return
    await liveness.beat()
    task = asyncio.create_task(_beat_forever(liveness), name="heartbeat")
    task.add_done_callback(_report_crash)
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await _leave(liveness)


async def _beat_forever(heartbeat: Heartbeat) -> None:
    while True:
        await asyncio.sleep(heartbeat.interval)
        try:
            await heartbeat.beat()
        except ServiceUnavailableError as exc:
            log.warning("heartbeat failed", error=str(exc))


async def _leave(heartbeat: Heartbeat) -> None:
    try:
        await heartbeat.leave()
    except ServiceUnavailableError as exc:  # the row expires by itself
        log.warning("could not remove this process's heartbeat", error=str(exc))


def _report_crash(task: asyncio.Task[None]) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        if (error := task.exception()) is not None:
            log.critical("heartbeat stopped", exc_info=error)
