"""The SSE response: a client that stops reading is cut off; one that leaves ends its stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import pytest
from prometheus_client import REGISTRY

from order_service.entrypoints.api.event_stream import EventStreamResponse

pytestmark = pytest.mark.asyncio


def disconnects(reason: str) -> float:
    sample = "order_service_event_stream_disconnects_total"
    return REGISTRY.get_sample_value(sample, {"reason": reason}) or 0.0


class Frames:
    def __init__(self) -> None:
        self.closed = asyncio.Event()

    async def forever(self) -> AsyncGenerator[bytes]:
        try:
            while True:
                yield b": heartbeat\n\n"
                await asyncio.sleep(0)
        finally:
            self.closed.set()


async def never_disconnects() -> dict[str, Any]:
    await asyncio.Event().wait()
    return {"type": "http.disconnect"}


async def test_a_client_that_stops_reading_is_disconnected_after_the_send_timeout() -> None:
    frames = Frames()
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if len(sent) > 3:  # the socket's buffers are full: this write never completes
            await asyncio.Event().wait()

    before = disconnects("slow")
    response = EventStreamResponse(frames.forever(), send_timeout=0.05)
    await asyncio.wait_for(response({"type": "http"}, never_disconnects, send), 2)
    assert frames.closed.is_set()
    assert disconnects("slow") == before + 1
    assert sent[0]["type"] == "http.response.start"


async def test_a_client_that_leaves_ends_its_stream() -> None:
    frames = Frames()
    left = asyncio.Event()

    async def receive() -> dict[str, Any]:
        await left.wait()
        return {"type": "http.disconnect"}

    async def send(_: dict[str, Any]) -> None:
        await asyncio.sleep(0.001)

    response = EventStreamResponse(frames.forever(), send_timeout=5)
    running = asyncio.create_task(response({"type": "http"}, receive, send))
    await asyncio.sleep(0.02)
    left.set()
    await asyncio.wait_for(running, 2)
    assert frames.closed.is_set()
