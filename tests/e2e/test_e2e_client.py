"""The Python client against the running service and paper broker, as a program uses it."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from order_service.client import OrderServiceClient, errors
from order_service.client.types import FeedEvent, Order
from tests.e2e.harness import ServiceThread, inject_fault, wait_for

LIMIT: dict[str, Any] = {
    "account_id": "PAPER1",
    "exchange": "NSE",
    "tradingsymbol": "INFY",
    "transaction_type": "BUY",
    "quantity": 1,
    "product": "CNC",
    "order_type": "LIMIT",
}


class DropFirstStream(httpx.BaseTransport):
    """Real HTTP, except that the first event stream drops after its first event."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.streams: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path.endswith("/order-events/stream"):
            self.streams.append(request)
            if len(self.streams) == 1:
                response.stream = _BreakAfterOneEvent(response.stream)
        return response

    def close(self) -> None:
        self.inner.close()


class _BreakAfterOneEvent(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream) -> None:
        self.inner = inner

    def __iter__(self) -> Iterator[bytes]:
        buffered = b""
        for chunk in self.inner:
            buffered += chunk
            end = buffered.find(b"\n\n", buffered.find(b"id: "))
            if buffered.find(b"id: ") >= 0 and end >= 0:
                yield buffered[: end + 2]
                raise httpx.ReadError("connection reset mid-stream")
            if b"id: " not in buffered:
                yield buffered
                buffered = b""

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def slept() -> list[float]:
    return []


@pytest.fixture
def client(
    service: ServiceThread, admin: httpx.Client, slept: list[float]
) -> Iterator[OrderServiceClient]:
    admin.post("/prices", json={"NSE:INFY": "1500.00"}).raise_for_status()
    with OrderServiceClient(service.url, service.api_key, sleep=slept.append) as made:
        yield made


def _resting(client: OrderServiceClient, **extra: Any) -> Order:
    placed = client.place_order(**LIMIT, price=Decimal("1450.00"), **extra)
    assert placed.created
    order_id = placed.order["order_id"]
    wait_for(lambda: client.get_order(order_id)["status"] == "OPEN")
    return client.get_order(order_id)


def test_a_limit_order_is_placed_read_modified_and_cancelled(client: OrderServiceClient) -> None:
    order = _resting(client)
    assert order["price"] == Decimal("1450.00")
    assert isinstance(order["price"], Decimal)
    assert order["order_id"] in {o["order_id"] for o in client.list_orders(status="OPEN")["items"]}

    modified = client.modify_order(order["order_id"], price=Decimal("1460.05"))
    assert modified["price"] == Decimal("1460.05")
    assert modified["modification_count"] == 1

    cancelled = client.cancel_order(order["order_id"])
    assert cancelled["status"] == "CANCELLED"
    names = [event["name"] for event in client.order_events(order["order_id"])]
    assert names[-2:] == ["OrderCancelRequested", "OrderCancelled"]


def test_a_repeat_under_the_same_key_is_the_same_order(client: OrderServiceClient) -> None:
    first = client.place_order(**LIMIT, price="1440.00")
    again = client.place_order(**LIMIT, price="1440.00", idempotency_key=first.idempotency_key)
    assert first.created
    assert again.repeat
    assert again.order["order_id"] == first.order["order_id"]
    wait_for(lambda: client.get_order(first.order["order_id"])["status"] == "OPEN")
    client.cancel_order(first.order["order_id"])


def test_the_same_key_for_another_order_is_an_idempotency_conflict(
    client: OrderServiceClient,
) -> None:
    first = client.place_order(**LIMIT, price="1430.00")
    with pytest.raises(errors.IdempotencyConflict) as raised:
        client.place_order(**LIMIT, price="1431.00", idempotency_key=first.idempotency_key)
    assert raised.value.status == 409
    assert raised.value.request_id
    wait_for(lambda: client.get_order(first.order["order_id"])["status"] == "OPEN")
    client.cancel_order(first.order["order_id"])


def test_errors_are_raised_as_their_classes(client: OrderServiceClient) -> None:
    with pytest.raises(errors.NotFound):
        client.get_order("01JNOSUCHORDER0000000000000")
    with pytest.raises(errors.InvalidSymbol) as raised:
        client.place_order(**{**LIMIT, "tradingsymbol": "NOSUCHSYMBOL"}, price="10.00")
    assert isinstance(raised.value, errors.InvalidInput)
    assert raised.value.idempotency_key


def test_a_bad_key_is_unauthenticated(service: ServiceThread) -> None:
    with (
        OrderServiceClient(service.url, "not-a-key") as stranger,
        pytest.raises(errors.Unauthenticated),
    ):
        stranger.list_orders()


def test_a_rate_limited_placement_is_retried_under_its_key_and_placed_once(
    client: OrderServiceClient, admin: httpx.Client, slept: list[float]
) -> None:
    inject_fault(admin, "place_order", "http_429")
    placed = client.place_order(**LIMIT, price="1435.00")
    assert placed.created
    assert len(slept) == 1
    assert slept[0] >= 1  # the service's Retry-After
    same = [
        o
        for o in client.list_orders(account_id="PAPER1", limit=50)["items"]
        if o["client_order_id"] == placed.idempotency_key
    ]
    assert [o["order_id"] for o in same] == [placed.order["order_id"]]
    wait_for(lambda: client.get_order(placed.order["order_id"])["status"] == "OPEN")
    client.cancel_order(placed.order["order_id"])


def _latest_sequence(client: OrderServiceClient) -> int:
    after = 0
    while True:
        page = client.event_page(after=after, limit=1000)
        if not page["items"]:
            return after
        after = page["next"]


def test_the_event_iterator_follows_an_order_and_resumes_after_a_drop(
    service: ServiceThread, admin: httpx.Client
) -> None:
    admin.post("/prices", json={"NSE:INFY": "1500.00"}).raise_for_status()
    transport = DropFirstStream()
    with OrderServiceClient(
        service.url, service.api_key, transport=transport, sleep=lambda _: None
    ) as client:
        start = _latest_sequence(client)
        order = _resting(client)
        client.cancel_order(order["order_id"])
        stream = client.events(after=start, account_id="PAPER1", idle_timeout=5)
        seen: list[FeedEvent] = []
        for event in stream:
            seen.append(event)
            if event["order_id"] == order["order_id"] and event["name"] == "OrderCancelled":
                break
        stream.close()
    sequences = [event["sequence"] for event in seen]
    assert sequences == sorted(set(sequences))  # nothing repeated, in commit order
    assert sequences[0] > start
    assert stream.reconnects >= 1
    assert transport.streams[1].headers["Last-Event-ID"] == str(sequences[0])
    ours = [event["name"] for event in seen if event["order_id"] == order["order_id"]]
    assert ours[0] == "OrderRequested"
    assert ours[-2:] == ["OrderCancelRequested", "OrderCancelled"]
