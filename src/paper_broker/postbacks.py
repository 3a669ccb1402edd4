"""Delivering postbacks: a background queue that POSTs each payload, retrying with backoff.

Placement only appends to the queue; one task delivers in order, so a slow or dead receiver
delays later postbacks but never a client's request. A payload that still fails after the
retries is counted as failed and dropped; a full queue drops new payloads (counted too).
"""

from __future__ import annotations

import asyncio
import logging

import httpx

RETRY_DELAYS = (0.5, 1.0, 2.0)
TIMEOUT_SECONDS = 5.0
CAPACITY = 10_000
HEADERS = {"content-type": "application/json", "user-agent": "paper-broker-postback"}
COUNTS = ("queued", "delivered", "retried", "failed", "dropped")

logger = logging.getLogger("paper_broker.postbacks")


class Postbacks:
    """The postback queue and its delivery counts."""

    def __init__(
        self, delays: tuple[float, ...] = RETRY_DELAYS, timeout: float = TIMEOUT_SECONDS
    ) -> None:
        self.delays = delays
        self.timeout = timeout
        self.queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(maxsize=CAPACITY)
        self.counts = dict.fromkeys(COUNTS, 0)

    def enqueue(self, url: str, body: bytes) -> None:
        try:
            self.queue.put_nowait((url, body))
        except asyncio.QueueFull:
            self.counts["dropped"] += 1
            return
        self.counts["queued"] += 1

    def clear(self) -> None:
        """Forget pending payloads and counts (the admin reset)."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.counts = dict.fromkeys(COUNTS, 0)

    def state(self) -> dict[str, int]:
        return {**self.counts, "pending": self.queue.qsize()}

    async def run(self, transport: httpx.AsyncBaseTransport | None = None) -> None:
        """Deliver until cancelled (`transport` lets tests stand in for the network)."""
        async with httpx.AsyncClient(timeout=self.timeout, transport=transport) as client:
            while True:
                url, body = await self.queue.get()
                try:
                    await self._deliver(client, url, body)
                except Exception:
                    # Supervised edge: a bug in one delivery must not stop the queue.
                    logger.exception("postback to %s crashed", url)
                    self.counts["failed"] += 1
                finally:
                    self.queue.task_done()

    async def _deliver(self, client: httpx.AsyncClient, url: str, body: bytes) -> None:
        for attempt, delay in enumerate((0.0, *self.delays)):
            if attempt:
                self.counts["retried"] += 1
                await asyncio.sleep(delay)
            if await _post(client, url, body):
                self.counts["delivered"] += 1
                return
        self.counts["failed"] += 1
        logger.warning("postback to %s failed after %d attempts", url, len(self.delays) + 1)


async def _post(client: httpx.AsyncClient, url: str, body: bytes) -> bool:
    try:
        reply = await client.post(url, content=body, headers=HEADERS)
    except (httpx.HTTPError, httpx.InvalidURL):
        return False
    return reply.is_success
