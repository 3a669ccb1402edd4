"""Order updates: the postback payload, who receives it, and delivery with retries."""

from __future__ import annotations

import asyncio
import hashlib
from decimal import Decimal

import httpx
import orjson
import pytest

from paper_broker.engine import Exchange
from paper_broker.orders import OrderListener
from paper_broker.postbacks import Postbacks
from paper_broker.sessions import User
from paper_broker.updates import OrderFeed, app_id, checksum, update_payload
from paper_broker.validation import parse_place

POSTBACK_FIELDS = {
    "user_id", "unfilled_quantity", "app_id", "checksum", "placed_by", "order_id",
    "exchange_order_id", "parent_order_id", "status", "status_message", "status_message_raw",
    "order_timestamp", "exchange_update_timestamp", "exchange_timestamp", "variety", "exchange",
    "tradingsymbol", "instrument_token", "order_type", "transaction_type", "validity", "product",
    "quantity", "disclosed_quantity", "price", "trigger_price", "average_price",
    "filled_quantity", "pending_quantity", "cancelled_quantity", "market_protection", "meta",
    "tag", "guid",
}  # fmt: skip
USER = User("U1", "key1", "secret1", Decimal(10**6), "http://cb", postback_url="http://hook")
SILENT = User("U1", "key1", "secret1", Decimal(10**6), "http://cb")


def place(exchange: Exchange, quantity: str = "1") -> str:
    form = {
        "exchange": "NSE", "tradingsymbol": "INFY", "transaction_type": "BUY",
        "quantity": quantity, "product": "MIS", "order_type": "MARKET", "market_protection": "-1",
    }  # fmt: skip
    (order_id,) = exchange.place("U1", parse_place(form, "regular", exchange.catalogue))
    return order_id


@pytest.fixture
def recipient() -> User:
    """The user whose updates the feed publishes."""
    return USER


@pytest.fixture
def feed() -> OrderFeed:
    return OrderFeed(Postbacks(delays=()))


@pytest.fixture
def listener(feed: OrderFeed, recipient: User) -> OrderListener:
    """The exchange of these tests publishes its order updates to `feed`."""
    return feed.publisher({recipient.user_id: recipient})


def test_the_checksum_is_sha256_of_id_timestamp_and_secret() -> None:
    expected = hashlib.sha256(b"2203030003089322022-03-03 09:24:25secret").hexdigest()

    assert checksum("220303000308932", "2022-03-03 09:24:25", "secret") == expected
    assert isinstance(app_id("paper"), int)
    assert app_id("paper") == app_id("paper") != app_id("other")


def test_the_payload_has_every_postback_field(exchange: Exchange) -> None:
    order = exchange.registry.orders[place(exchange)]

    payload = update_payload(order, USER, "COMPLETE")

    assert set(payload) == POSTBACK_FIELDS
    assert payload["status"] == "COMPLETE"
    assert payload["unfilled_quantity"] == 0
    assert payload["checksum"] == checksum(order.order_id, payload["order_timestamp"], "secret1")


def test_a_postback_url_receives_each_event_and_sockets_a_blank_checksum(
    exchange: Exchange, feed: OrderFeed
) -> None:
    frames: list[str] = []
    feed.subscribe("U1", frames.append)

    order_id = place(exchange, quantity="1500")

    queued = [feed.postbacks.queue.get_nowait() for _ in range(feed.postbacks.queue.qsize())]
    assert [url for url, _ in queued] == ["http://hook"]
    body = queued[0][1]
    assert orjson.loads(body)["status"] == "UPDATE"
    (frame,) = frames
    message = orjson.loads(frame)
    assert message["type"] == "order"
    assert message["data"]["checksum"] == ""
    assert message["data"]["order_id"] == order_id
    feed.unsubscribe("U1", frames.append)
    assert feed.connections == 0


@pytest.mark.parametrize("recipient", [SILENT])
def test_nobody_listening_builds_nothing(exchange: Exchange, feed: OrderFeed) -> None:
    place(exchange)

    assert feed.postbacks.state()["queued"] == 0


def test_a_full_queue_drops_and_counts() -> None:
    postbacks = Postbacks()
    for _ in range(postbacks.queue.maxsize + 2):
        postbacks.enqueue("http://hook", b"{}")

    assert postbacks.state()["dropped"] == 2
    postbacks.clear()
    assert postbacks.state() == dict.fromkeys(
        ("queued", "delivered", "retried", "failed", "dropped", "pending"), 0
    )


async def _deliver(postbacks: Postbacks, replies: list[int | None]) -> list[bytes]:
    """Run the sender against a fake network answering `replies` (None: unreachable)."""
    seen: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        status = replies.pop(0)
        if status is None:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(status)

    task = asyncio.create_task(postbacks.run(httpx.MockTransport(answer)))
    await asyncio.wait_for(postbacks.queue.join(), timeout=5)
    task.cancel()
    return seen


@pytest.mark.asyncio
async def test_a_failing_receiver_is_retried_until_it_answers() -> None:
    postbacks = Postbacks(delays=(0.0, 0.0, 0.0))
    postbacks.enqueue("http://hook/", b'{"a":1}')

    seen = await _deliver(postbacks, [None, 500, 200])

    assert seen == [b'{"a":1}'] * 3
    assert postbacks.state() == {
        "queued": 1, "delivered": 1, "retried": 2, "failed": 0, "dropped": 0, "pending": 0,
    }  # fmt: skip


@pytest.mark.asyncio
async def test_a_dead_receiver_fails_after_the_retries() -> None:
    postbacks = Postbacks(delays=(0.0, 0.0))
    postbacks.enqueue("not a url", b"{}")
    postbacks.enqueue("http://hook/", b"{}")

    await _deliver(postbacks, [None, None, None])

    assert postbacks.counts["failed"] == 2
    assert postbacks.counts["delivered"] == 0
