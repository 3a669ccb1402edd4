"""The client's event iterator: frames parsed, and a dropped stream resumed from the last id."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from order_service.client import errors
from order_service.client.sse import Frame, parse_frames
from tests.unit.client_fakes import Script, envelope


def _event(sequence: int, **data: Any) -> bytes:
    body = {
        "sequence": sequence,
        "type": "order.opened",
        "name": "OrderOpened",
        "account_id": "PAPER1",
        "order_id": "01JORDER",
        "status_before": "PENDING",
        "status_after": "OPEN",
        "occurred_at": "2026-01-05T09:15:00+05:30",
        "data": data,
    }
    return f"id: {sequence}\nevent: order.opened\ndata: {json.dumps(body)}\n\n".encode()


class Dropping(httpx.SyncByteStream):
    """Sends its chunks, then the connection drops (or, ``drop=False``, ends cleanly)."""

    def __init__(self, *chunks: bytes, drop: bool = True) -> None:
        self.chunks = chunks
        self.drop = drop

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        if self.drop:
            raise httpx.ReadError("connection reset")


def _stream(*chunks: bytes, drop: bool = True) -> httpx.Response:
    return httpx.Response(
        200,
        headers={"content-type": "text/event-stream"},
        stream=Dropping(*chunks, drop=drop),
    )


def test_frames_are_parsed_and_comments_skipped() -> None:
    lines = [": heartbeat", "", "id: 7", "event: order.filled", 'data: {"a":', "data: 1}", ""]
    assert list(parse_frames(lines)) == [Frame("7", "order.filled", '{"a":\n1}')]


def test_a_dropped_stream_resumes_from_the_last_id() -> None:
    script = Script(
        _stream(b": heartbeat\n\n", _event(4), _event(5, price="1450.00")[:40]),
        _stream(_event(5, price="1450.00"), _event(6)),
    )
    stream = script.client().events(after=3)
    seen = [next(stream), next(stream), next(stream)]
    stream.close()
    assert [e["sequence"] for e in seen] == [4, 5, 6]
    assert seen[1]["data"]["price"] == Decimal("1450.00")
    assert [r.headers["Last-Event-ID"] for r in script.requests] == ["3", "4"]
    assert stream.reconnects == 1
    assert stream.last_id == 6
    assert len(script.slept) == 1


def test_a_stream_the_server_ends_is_reconnected_too() -> None:
    script = Script(_stream(_event(1), drop=False), _stream(_event(2)))
    stream = script.client().events()
    assert [next(stream)["sequence"], next(stream)["sequence"]] == [1, 2]
    assert "Last-Event-ID" not in script.requests[0].headers
    assert script.requests[1].headers["Last-Event-ID"] == "1"


def test_the_filters_are_sent_on_every_connection() -> None:
    script = Script(_stream(drop=True), _stream(_event(9)))
    stream = script.client().events(order_id="01JORDER", types=["order.opened", "order.filled"])
    next(stream)
    for request in script.requests:
        assert request.url.params["order_id"] == "01JORDER"
        assert request.url.params["types"] == "order.opened,order.filled"
        assert "after" not in request.url.params


def test_a_stream_that_keeps_dropping_is_a_transport_error() -> None:
    script = Script(*[httpx.ConnectError("refused") for _ in range(3)])
    stream = script.client(retries=2).events(after=10)
    with pytest.raises(errors.TransportError):
        next(stream)
    assert len(script.requests) == 3
    assert all(r.headers["Last-Event-ID"] == "10" for r in script.requests)


def test_an_error_answer_is_raised_as_its_class() -> None:
    script = Script(envelope(401, "UNAUTHENTICATED"))
    with pytest.raises(errors.Unauthenticated):
        next(script.client().events())
    assert len(script.requests) == 1


def test_a_service_unavailable_answer_is_reconnected() -> None:
    script = Script(envelope(503, "SERVICE_UNAVAILABLE"), _stream(_event(1)))
    assert next(script.client().events())["sequence"] == 1
    assert len(script.requests) == 2


def test_an_event_with_nan_is_refused() -> None:
    frame = b'id: 1\ndata: {"sequence": 1, "data": {"price": NaN}}\n\n'
    script = Script(_stream(frame))
    with pytest.raises(errors.UnexpectedResponse):
        next(script.client().events())


def test_a_closed_stream_stops() -> None:
    script = Script(_stream(_event(1), _event(2)))
    with script.client().events() as stream:
        next(stream)
    with pytest.raises(StopIteration):
        next(stream)
    assert len(script.requests) == 1
