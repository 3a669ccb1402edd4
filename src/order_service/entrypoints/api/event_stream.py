"""Server-Sent Events: the response that streams the order events to one client.

Each event is a frame ``id: <sequence>``, ``event: <type>``, ``data: <json>``; a comment frame
is sent at once (the subscription is in place) and then whenever the heartbeat interval passes
without an event. A client whose socket does not take a frame within the send timeout is
disconnected (a stuck reader holds no one up and nothing piles up for it), as is one that lags
by more than its queue holds; both resume with ``Last-Event-ID``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator

from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from order_service.domain.feed import FeedEvent
from order_service.entrypoints.api.event_schemas import FeedEventOut
from order_service.observability.metrics import EVENT_STREAM_CLIENTS, EVENT_STREAM_DISCONNECTS
from order_service.services.event_stream import StreamClosed

HEARTBEAT = b": heartbeat\n\n"
RENDERED_KEPT = 4096  # the newest events' frames (the live events all clients are sent)
_RENDERED: dict[int, tuple[FeedEvent, bytes]] = {}
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),  # proxies must not buffer the stream
]


def frame(event: FeedEvent) -> bytes:
    """Return the event's frame, rendered once for all the clients it is offered to."""
    cached = _RENDERED.get(id(event))
    if cached is not None and cached[0] is event:  # the very object, not a reused id
        return cached[1]
    data = FeedEventOut.of(event).model_dump_json()
    rendered = f"id: {event.sequence}\nevent: {event.type}\ndata: {data}\n\n".encode()
    _RENDERED[id(event)] = (event, rendered)
    while len(_RENDERED) > RENDERED_KEPT:
        del _RENDERED[next(iter(_RENDERED))]
    return rendered


async def frames(events: AsyncGenerator[FeedEvent | None]) -> AsyncGenerator[bytes]:
    """Render the followed events as frames; a lagging client's stream ends."""
    try:
        async with contextlib.aclosing(events) as followed:
            async for event in followed:
                yield HEARTBEAT if event is None else frame(event)
    except StreamClosed:
        EVENT_STREAM_DISCONNECTS.labels("lagging").inc()


class EventStreamResponse(Response):
    """An ASGI response that streams frames until the client leaves or is disconnected."""

    media_type = "text/event-stream"

    def __init__(self, body: AsyncGenerator[bytes], send_timeout: float) -> None:
        super().__init__(status_code=200)
        self._body = body
        self._send_timeout = send_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        EVENT_STREAM_CLIENTS.inc()
        streaming = asyncio.create_task(self._stream(send))
        watching = asyncio.create_task(_until_disconnected(receive))
        try:
            done, _ = await asyncio.wait({streaming, watching}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            EVENT_STREAM_CLIENTS.dec()
            for task in (streaming, watching):
                task.cancel()
            await asyncio.gather(streaming, watching, return_exceptions=True)
        if streaming in done and not streaming.cancelled():
            streaming.result()  # a bug in the stream is raised, not swallowed

    async def _stream(self, send: Send) -> None:
        async with contextlib.aclosing(self._body) as body:
            async for chunk in body:
                message: Message = {"type": "http.response.body", "body": chunk, "more_body": True}
                try:
                    async with asyncio.timeout(self._send_timeout):  # no task per frame
                        await send(message)
                except TimeoutError:
                    EVENT_STREAM_DISCONNECTS.labels("slow").inc()
                    return
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _until_disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        continue
