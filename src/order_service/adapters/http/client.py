"""The one outgoing HTTP client: every call to a peer goes through ``PeerClient``.

| What happens                           | What the caller gets                                   |
|----------------------------------------|--------------------------------------------------------|
| a 2xx answer                           | ``PeerReply`` (status, the body up to ``max_body``)   |
| any other status (3xx too: redirects   | ``UpstreamServiceError``: ``details.status``, a        |
| are never followed)                    | bounded excerpt of the body                            |
| connect error, timeout, reset          | ``ServiceUnavailableError``: ``details.host``          |
| the circuit of that peer is open       | ``ServiceUnavailableError`` at once, nothing sent      |
| anything else                          | logged with the host, and re-raised                    |

Each call has its own timeout. Bodies are read in chunks and never beyond ``max_body`` bytes.
A circuit per peer key opens after ``failures`` calls in a row failed to get any answer, and
lets one call through again after ``cooldown`` seconds: one dead receiver costs nothing to
the others.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from order_service.errors import ServiceUnavailableError, UpstreamServiceError
from order_service.observability.logging import get_logger

log = get_logger(__name__)
EXCERPT_CHARS = 200
POOLS_KEPT = 1000  # connection pools of the receivers used most recently


@dataclass(frozen=True, slots=True)
class PeerReply:
    status: int
    body: bytes


@dataclass(frozen=True, slots=True)
class CircuitPolicy:
    failures: int
    cooldown: float


@dataclass(slots=True)
class _Circuit:
    failures: int = 0
    open_until: float = 0.0


class PeerClient:
    def __init__(
        self,
        service: str,
        circuit: CircuitPolicy,
        *,
        max_body: int,
        transport: httpx.AsyncBaseTransport | None = None,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._service = service
        self._policy = circuit
        self._max_body = max_body
        self._now = now
        self._transport = transport
        self._circuits: dict[str, _Circuit] = {}
        # A connection pool per peer key: a connection opened (and its TLS name checked) for
        # one receiver never carries another's request, even when both share an address.
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._closing: set[asyncio.Future[None]] = set()

    async def post(
        self,
        key: str,
        request: httpx.Request,
        seconds: float,
    ) -> PeerReply:
        """Send ``request`` under the circuit ``key``; see the module's table for failures."""
        circuit = self._circuits.setdefault(key, _Circuit())
        self._check(circuit, request.url.host)
        request.extensions["timeout"] = httpx.Timeout(seconds).as_dict()
        try:
            reply = await self._exchange(self._client_for(key), request)
        except ServiceUnavailableError:
            self._failed(circuit)
            raise
        circuit.failures = 0
        if not 200 <= reply.status < 300:
            raise self._status_error(request.url.host, reply)
        return reply

    def build(
        self,
        key: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        sni_hostname: str | None,
    ) -> httpx.Request:
        client = self._client_for(key)
        # Raw bytes only: a compressed answer could expand far beyond the cap while decoded.
        sent = {**headers, "accept-encoding": "identity"}
        request = client.build_request("POST", url, headers=sent, content=body)
        if sni_hostname is not None:
            request.extensions["sni_hostname"] = sni_hostname
        return request

    async def close(self) -> None:
        clients, self._clients = self._clients, {}
        for client in clients.values():
            await client.aclose()
        await asyncio.gather(*self._closing)

    def _client_for(self, key: str) -> httpx.AsyncClient:
        client = self._clients.pop(key, None)
        if client is None:
            client = httpx.AsyncClient(
                follow_redirects=False, transport=self._transport, trust_env=False
            )
        self._clients[key] = client  # the most recently used last
        if len(self._clients) > POOLS_KEPT:  # a deleted receiver's pool is let go in time
            oldest = next(iter(self._clients))
            closing = asyncio.ensure_future(self._clients.pop(oldest).aclose())
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)
        return client

    async def _exchange(self, client: httpx.AsyncClient, request: httpx.Request) -> PeerReply:
        host = request.url.host
        try:
            response = await client.send(request, stream=True)
            try:
                return PeerReply(response.status_code, await self._capped_body(response))
            finally:
                await response.aclose()
        except (httpx.TimeoutException, httpx.NetworkError, httpx.ProtocolError) as exc:
            raise ServiceUnavailableError(
                f"{self._service} at {host} is unreachable: {type(exc).__name__}",
                details={"service": self._service, "host": host},
            ) from exc
        except httpx.HTTPError as exc:  # not a failure of the peer: ours; let it crash
            log.error(
                "peer call failed unexpectedly",
                service=self._service,
                host=host,
                error=type(exc).__name__,
            )
            raise

    async def _capped_body(self, response: httpx.Response) -> bytes:
        body = bytearray()
        async for chunk in response.aiter_raw():
            body += chunk[: self._max_body - len(body)]
            if len(body) >= self._max_body:
                break  # the rest is never read; closing the response drops the connection
        return bytes(body)

    def _check(self, circuit: _Circuit, host: str) -> None:
        remaining = circuit.open_until - self._now()
        if remaining > 0:
            raise ServiceUnavailableError(
                f"{self._service} at {host} is failing; not called for {remaining:.0f} s",
                details={
                    "service": self._service,
                    "host": host,
                    "circuit": "open",
                    "retry_after_seconds": remaining,
                },
            )

    def _failed(self, circuit: _Circuit) -> None:
        circuit.failures += 1
        if circuit.failures >= self._policy.failures:
            circuit.open_until = self._now() + self._policy.cooldown
            circuit.failures = 0

    def _status_error(self, host: str, reply: PeerReply) -> UpstreamServiceError:
        excerpt = reply.body[:EXCERPT_CHARS].decode("utf-8", "replace")
        return UpstreamServiceError(
            f"{self._service} at {host} answered HTTP {reply.status}",
            details={
                "service": self._service,
                "host": host,
                "status": reply.status,
                "body": excerpt,
            },
        )
