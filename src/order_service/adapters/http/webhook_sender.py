"""Sends signed webhook requests through the peer client, to vetted addresses only."""

from __future__ import annotations

from collections.abc import Mapping

from order_service.adapters.http.client import PeerClient
from order_service.adapters.http.safety import UrlPolicy, vet
from order_service.services.ports import WebhookSender

SERVICE = "webhook receiver"


class HttpWebhookSender:
    """Each request goes to an address the URL check approved (no DNS rebinding), with the
    receiver's name as its Host and TLS server name."""

    def __init__(self, client: PeerClient, policy: UrlPolicy, timeout: float) -> None:
        self._client = client
        self._policy = policy
        self._timeout = timeout

    async def check_url(self, url: str) -> None:
        await vet(url, self._policy)

    async def send(self, circuit: str, url: str, headers: Mapping[str, str], body: bytes) -> int:
        target = await vet(url, self._policy)
        sni = target.host if target.scheme == "https" else None
        request = self._client.build(
            circuit, target.pinned_url(), {**headers, "host": target.host_header}, body, sni
        )
        reply = await self._client.post(circuit, request, self._timeout)
        return reply.status

    async def close(self) -> None:
        await self._client.close()


_implements_port: type[WebhookSender] = HttpWebhookSender
