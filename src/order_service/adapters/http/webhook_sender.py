"""Sends signed webhook requests through the peer client, to vetted addresses only."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from order_service.adapters.http.client import PeerClient
from order_service.adapters.http.safety import Target, UrlPolicy, vet
from order_service.services.ports import WebhookSender

SERVICE = "webhook receiver"
VETTED_FOR = 60.0  # seconds an approved URL's addresses are used before it is resolved again
VETTED_KEPT = 10_000


class HttpWebhookSender:
    """Each request goes to an address the URL check approved (no DNS rebinding), with the
    receiver's name as its Host and TLS server name. An approval is kept for ``VETTED_FOR``
    seconds, so a busy receiver's name is not resolved again for every delivery."""

    def __init__(
        self,
        client: PeerClient,
        policy: UrlPolicy,
        timeout: float,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._policy = policy
        self._timeout = timeout
        self._now = now
        self._vetted: dict[str, tuple[Target, float]] = {}

    async def check_url(self, url: str) -> None:
        await vet(url, self._policy)

    async def send(self, circuit: str, url: str, headers: Mapping[str, str], body: bytes) -> int:
        target = await self._target(url)
        sni = target.host if target.scheme == "https" else None
        request = self._client.build(
            circuit, target.pinned_url(), {**headers, "host": target.host_header}, body, sni
        )
        reply = await self._client.post(circuit, request, self._timeout)
        return reply.status

    async def close(self) -> None:
        await self._client.close()

    async def _target(self, url: str) -> Target:
        kept = self._vetted.get(url)
        if kept is not None and kept[1] > self._now():
            return kept[0]
        target = await vet(url, self._policy)
        if len(self._vetted) >= VETTED_KEPT:
            self._vetted.clear()
        self._vetted[url] = (target, self._now() + VETTED_FOR)
        return target


_implements_port: type[WebhookSender] = HttpWebhookSender
