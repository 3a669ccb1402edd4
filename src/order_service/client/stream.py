"""The order event stream as an iterator that reconnects from the last id it saw."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import httpx

from order_service.client.decoding import loads
from order_service.client.errors import RETRYABLE_CODES, TransportError, UnexpectedResponse
from order_service.client.sse import parse_frames
from order_service.client.transport import RetryPolicy, error_of
from order_service.client.types import FeedEvent

Connect = Callable[[dict[str, str], dict[str, Any]], AbstractContextManager[httpx.Response]]


class EventStream(Iterator[FeedEvent]):
    """Events of ``GET /api/v1/order-events/stream``, resumed with ``Last-Event-ID``.

    A dropped connection (reset, idle past the read timeout, the server ending the stream) is
    reconnected from ``last_id`` after a backoff, so no event is missed or repeated; failures
    in a row beyond the policy's retries raise ``TransportError``. An error answer (401, 422)
    is raised as its typed error. ``close()`` ends it.
    """

    def __init__(self, connect: Connect, params: dict[str, Any], policy: RetryPolicy) -> None:
        self._connect = connect
        self._params = params
        self._policy = policy
        self.last_id: int | None = params.get("after")
        self.reconnects = 0
        self._events: Iterator[FeedEvent] | None = None
        self._closed = False

    def __iter__(self) -> EventStream:
        return self

    def __next__(self) -> FeedEvent:
        failures = 0
        while not self._closed:
            if self._events is None:
                self._events = self._follow()
            try:
                event = next(self._events)
            except (httpx.TransportError, httpx.StreamError, StopIteration) as exc:
                self._events = None
                failures += 1
                if failures > self._policy.retries:
                    raise TransportError(f"the event stream keeps dropping: {exc!r}") from exc
                self._policy.sleep(self._policy.delay(failures - 1))
                self.reconnects += 1
                continue
            self.last_id = event["sequence"]
            return event
        raise StopIteration

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._closed = True
        if self._events is not None:
            self._events.close()  # type: ignore[attr-defined]
            self._events = None

    def _follow(self) -> Iterator[FeedEvent]:
        headers = {"Accept": "text/event-stream"}
        params = {k: v for k, v in self._params.items() if v is not None and k != "after"}
        if self.last_id is not None:
            headers["Last-Event-ID"] = str(self.last_id)
        with self._connect(headers, params) as response:
            if not response.is_success:
                response.read()
                error = error_of(response)
                if error.error_code in RETRYABLE_CODES:
                    raise httpx.ReadError(str(error))  # reconnect, as after a drop
                raise error
            for frame in parse_frames(response.iter_lines()):
                yield _event(frame.data)


def _event(data: str) -> FeedEvent:
    try:
        event = loads(data)
    except ValueError as exc:
        raise UnexpectedResponse(f"an event that is not JSON: {exc}") from exc
    if not isinstance(event, dict) or not isinstance(event.get("sequence"), int):
        raise UnexpectedResponse("an event without a sequence")
    return event  # type: ignore[return-value]
