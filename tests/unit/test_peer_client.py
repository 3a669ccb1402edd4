"""The one outgoing HTTP client: failures translated at its boundary, bodies capped, circuits."""

from __future__ import annotations

import httpx
import pytest

from order_service.adapters.http.client import CircuitPolicy, PeerClient
from order_service.errors import ServiceUnavailableError, UpstreamServiceError

pytestmark = pytest.mark.asyncio
URL = "http://receiver.test/hook"


class Chunks(httpx.AsyncByteStream):
    """A body that arrives in chunks, as a socket delivers it."""

    def __init__(self, data: bytes, size: int = 65536) -> None:
        self._data = data
        self._size = size

    async def __aiter__(self):  # type: ignore[no-untyped-def]
        for start in range(0, len(self._data), self._size):
            yield self._data[start : start + self._size]


def answer(status: int, body: bytes = b"", **headers: str) -> httpx.Response:
    return httpx.Response(status, stream=Chunks(body), headers=headers)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def client_of(
    handler: httpx.MockTransport, clock: Clock | None = None, max_body: int = 1024
) -> PeerClient:
    policy = CircuitPolicy(failures=3, cooldown=30.0)
    return PeerClient(
        "receiver", policy, max_body=max_body, transport=handler, now=clock or Clock()
    )


async def post(client: PeerClient, key: str = "a", body: bytes = b"{}") -> int:
    request = client.build(key, URL, {"content-type": "application/json"}, body, None)
    return (await client.post(key, request, 1.0)).status


async def test_a_2xx_answer_is_returned() -> None:
    client = client_of(httpx.MockTransport(lambda _: answer(204)))
    assert await post(client) == 204
    await client.close()


async def test_an_error_status_is_an_upstream_error_with_a_bounded_excerpt() -> None:
    client = client_of(httpx.MockTransport(lambda _: answer(500, b"x" * 5000)))
    with pytest.raises(UpstreamServiceError) as caught:
        await post(client)
    assert caught.value.details["status"] == 500
    assert caught.value.details["host"] == "receiver.test"
    assert len(caught.value.details["body"]) == 200
    await client.close()


async def test_a_redirect_is_not_followed() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return answer(302, location="http://169.254.169.254/")

    client = client_of(httpx.MockTransport(handler))
    with pytest.raises(UpstreamServiceError) as caught:
        await post(client)
    assert caught.value.details["status"] == 302
    assert seen == [URL]
    await client.close()


async def test_a_huge_body_is_read_only_up_to_the_cap() -> None:
    def handler(_: httpx.Request) -> httpx.Response:
        return answer(200, b"y" * 10_000_000)

    client = client_of(httpx.MockTransport(handler), max_body=4096)
    request = client.build("a", URL, {}, b"{}", None)
    reply = await client.post("a", request, 1.0)
    assert len(reply.body) == 4096
    await client.close()


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("bad")],
)
async def test_an_unreachable_peer_is_unavailable_naming_its_host(failure: Exception) -> None:
    def handler(_: httpx.Request) -> httpx.Response:
        raise failure

    client = client_of(httpx.MockTransport(handler))
    with pytest.raises(ServiceUnavailableError) as caught:
        await post(client)
    assert caught.value.details["host"] == "receiver.test"
    await client.close()


async def test_an_unexpected_client_error_is_raised_as_it_is() -> None:
    def handler(_: httpx.Request) -> httpx.Response:
        raise httpx.DecodingError("garbled")

    client = client_of(httpx.MockTransport(handler))
    with pytest.raises(httpx.DecodingError):
        await post(client)
    await client.close()


async def test_a_dead_peer_opens_its_circuit_and_spares_the_others() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers["x-peer"])
        if request.headers["x-peer"] == "dead":
            raise httpx.ConnectError("refused")
        return answer(200)

    clock = Clock()
    client = client_of(httpx.MockTransport(handler), clock)

    async def send(key: str) -> int:
        request = client.build(key, URL, {"x-peer": key}, b"{}", None)
        return (await client.post(key, request, 1.0)).status

    for _ in range(3):
        with pytest.raises(ServiceUnavailableError):
            await send("dead")
    with pytest.raises(ServiceUnavailableError) as caught:
        await send("dead")
    assert caught.value.details["circuit"] == "open"
    assert calls.count("dead") == 3  # the open circuit sent nothing
    assert await send("alive") == 200
    clock.now += 31
    with pytest.raises(ServiceUnavailableError) as again:
        await send("dead")
    assert "circuit" not in again.value.details  # tried again after the cooldown
    await client.close()
