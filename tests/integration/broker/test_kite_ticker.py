"""``KiteOrderStream`` against a local ticker the test scripts: frames, drops, refusals."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import socket
from collections.abc import AsyncIterator
from decimal import Decimal
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import pytest_asyncio
import structlog
from prometheus_client import REGISTRY
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from order_service.adapters.broker import ticker as ticker_adapter
from order_service.adapters.broker.ticker import KiteOrderStream
from order_service.domain.ids import AccountId
from order_service.errors import AuthenticationError, BrokerUnavailable, ConfigurationError
from order_service.services.ports import BrokerSession, OrderUpdate

pytestmark = pytest.mark.asyncio
TOKEN = "secret-access-token-0123456789"
SESSION = BrokerSession(AccountId("AB1234"), "kite-key", TOKEN)
WAIT = 5.0


def order(**fields: Any) -> str:
    """An order frame as Kite sends it (numbers as JSON numbers, the checksum blank)."""
    data = {
        "user_id": "AB1234",
        "order_id": "250302000000001",
        "status": "COMPLETE",
        "tag": "OS01JABCDEFGHJKMNPQ",
        "quantity": 10,
        "filled_quantity": 10,
        "pending_quantity": 0,
        "cancelled_quantity": 0,
        "price": 0,
        "average_price": 1450.05,
        "order_timestamp": "2026-03-02 10:00:01",
        "exchange_update_timestamp": "2026-03-02 10:00:01",
        "checksum": "",
        **fields,
    }
    return json.dumps({"type": "order", "data": data})


class LocalTicker:
    """A ticker server: sends ``frames`` to each connection, then closes with ``close_code``."""

    def __init__(self) -> None:
        self.root = ""
        self.refuse_with: HTTPStatus | None = None
        self.frames: list[str | bytes] = []
        self.close_code: int | None = None  # None: keep the connection open
        self.requests: list[Request] = []
        self.closed_by_client = asyncio.Event()

    def check(self, connection: ServerConnection, request: Request) -> Response | None:
        self.requests.append(request)
        if self.refuse_with is not None:
            return connection.respond(self.refuse_with, "refused\n")
        return None

    async def handle(self, websocket: ServerConnection) -> None:
        for frame in self.frames:
            await websocket.send(frame)
        if self.close_code is not None:
            await websocket.close(self.close_code)
            return
        await websocket.wait_closed()
        self.closed_by_client.set()

    def stream(self) -> KiteOrderStream:
        return KiteOrderStream(self.root, open_timeout=WAIT)


@pytest_asyncio.fixture
async def ticker() -> AsyncIterator[LocalTicker]:
    local = LocalTicker()
    server: Server
    async with serve(
        local.handle, "127.0.0.1", 0, process_request=local.check, ping_interval=None
    ) as server:
        port = server.sockets[0].getsockname()[1] if server.sockets else 0
        local.root = f"ws://127.0.0.1:{port}"
        yield local


async def first(ticker: LocalTicker, count: int = 1) -> list[OrderUpdate]:
    received: list[OrderUpdate] = []
    async with ticker.stream().connect(SESSION) as updates:
        async with asyncio.timeout(WAIT):
            async for update in updates:
                received.append(update)
                if len(received) == count:
                    break
    return received


def expired_sessions() -> float:
    return REGISTRY.get_sample_value("order_service_broker_session_expired_total") or 0.0


async def test_an_order_frame_becomes_the_order_books_report_with_exact_prices(
    ticker: LocalTicker,
) -> None:
    ticker.frames = [order()]

    (update,) = await first(ticker)

    report = update.report
    assert report is not None
    assert (report.broker_order_id, report.raw_status, report.tag) == (
        "250302000000001",
        "COMPLETE",
        "OS01JABCDEFGHJKMNPQ",
    )
    assert (report.filled_quantity, report.average_price, report.price) == (
        10,
        Decimal("1450.05"),
        None,
    )
    assert report.reported_at is not None
    assert report.reported_at.utcoffset() is not None
    assert (update.user_id, update.problem) == ("AB1234", None)


async def test_the_handshake_carries_the_key_the_token_and_the_kite_version(
    ticker: LocalTicker,
) -> None:
    ticker.frames = [order()]

    await first(ticker)

    (request,) = ticker.requests
    query = parse_qs(urlsplit(request.path).query)
    assert query == {"api_key": ["kite-key"], "access_token": [TOKEN]}
    assert request.headers["X-Kite-Version"] == "3"


async def test_ticks_heartbeats_errors_and_messages_carry_no_update(ticker: LocalTicker) -> None:
    ticker.frames = [
        b"\x00",
        b"\x00\x01\x00\x08" + bytes(8),
        json.dumps({"type": "error", "data": "Invalid message."}),
        json.dumps({"type": "message", "data": "Markets open at 09:15"}),
        order(order_id="250302000000002"),
    ]

    with structlog.testing.capture_logs() as logs:
        (update,) = await first(ticker)

    assert update.report is not None
    assert update.report.broker_order_id == "250302000000002"
    (error,) = [log for log in logs if log["event"] == "the ticker reported an error"]
    assert (error["account"], error["error"]) == ("AB1234", "Invalid message.")


MALFORMED = {
    "not JSON": "{not json",
    "not an object": "[1, 2]",
    "an order frame without data": json.dumps({"type": "order"}),
    "an empty order": json.dumps({"type": "order", "data": {}}),
    "an order that is a list": json.dumps({"type": "order", "data": [1]}),
    "a NaN literal": order().replace('"average_price": 1450.05', '"average_price": NaN'),
    "an Infinity literal": order().replace('"average_price": 1450.05', '"average_price": Infinity'),
    "a NaN string": order(average_price="NaN"),
    "an infinite string": order(price="Infinity"),
    "a price that is no number": order(price="abc"),
    "a price that is a boolean": order(price=True),
    "a price too large to keep": order(price=1e300),
    "a negative price": order(price=-1),
    "a negative quantity": order(quantity=-5),
    "more filled than ordered": order(filled_quantity=11),
    "no order id": order(order_id=None),
    "no status": order(status=None),
}


@pytest.mark.parametrize("frame", MALFORMED.values(), ids=MALFORMED.keys())
async def test_a_malformed_frame_is_reported_unreadable_and_the_stream_goes_on(
    ticker: LocalTicker, frame: str
) -> None:
    ticker.frames = [frame, order(order_id="250302000000003")]

    bad, good = await first(ticker, count=2)

    assert bad.report is None
    assert bad.problem
    assert good.report is not None
    assert good.report.broker_order_id == "250302000000003"


async def test_a_refused_handshake_is_an_expired_session_and_the_token_is_not_told(
    ticker: LocalTicker,
) -> None:
    ticker.refuse_with = HTTPStatus.FORBIDDEN
    expired = expired_sessions()

    with pytest.raises(AuthenticationError) as refused:
        await first(ticker)

    assert refused.value.details["session_state"] == "login_required"
    assert TOKEN not in str(refused.value.to_dict())
    assert TOKEN not in repr(refused.value.__cause__)
    assert expired_sessions() == expired + 1


async def test_a_ticker_in_trouble_is_unavailable_not_a_refused_session(
    ticker: LocalTicker,
) -> None:
    ticker.refuse_with = HTTPStatus.SERVICE_UNAVAILABLE
    expired = expired_sessions()

    with pytest.raises(BrokerUnavailable) as unavailable:
        await first(ticker)

    assert unavailable.value.details["status"] == 503
    assert expired_sessions() == expired


async def test_a_ticker_that_is_not_listening_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: the connection is refused
        stream = KiteOrderStream(f"ws://127.0.0.1:{port}", open_timeout=WAIT)
        with pytest.raises(BrokerUnavailable):
            await stream.connect(SESSION).__aenter__()


@pytest.mark.parametrize("code", [1000, 1011])
async def test_a_dropped_connection_ends_the_stream_as_unavailable(
    ticker: LocalTicker, code: int
) -> None:
    ticker.frames = [order()]
    ticker.close_code = code
    received: list[OrderUpdate] = []

    async def read_all() -> None:
        async with ticker.stream().connect(SESSION) as updates:
            async for update in updates:
                received.append(update)

    with pytest.raises(BrokerUnavailable) as dropped:
        await read_all()

    assert len(received) == 1
    assert dropped.value.details["close_code"] == code


async def test_leaving_the_stream_closes_the_connection(ticker: LocalTicker) -> None:
    ticker.frames = [order()]

    await first(ticker)

    await asyncio.wait_for(ticker.closed_by_client.wait(), WAIT)


async def test_the_token_in_the_handshake_never_reaches_the_logs(
    ticker: LocalTicker, caplog: pytest.LogCaptureFixture
) -> None:
    ticker.frames = [order()]
    caplog.set_level(logging.DEBUG)

    await first(ticker)

    server = [r for r in caplog.records if r.name.startswith("websockets.server")]
    ours = [r for r in caplog.records if r not in server]
    assert any(TOKEN in r.getMessage() for r in server)  # DEBUG on: a request line shows it
    assert not any(TOKEN in r.getMessage() for r in ours)


async def test_a_ticker_root_that_is_no_websocket_url_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        KiteOrderStream("https://ws.kite.trade", open_timeout=WAIT)


async def test_the_keepalive_pings_without_moving_the_random_modules_state(
    ticker: LocalTicker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ticker_adapter, "PING_INTERVAL_SECONDS", 0.02)
    pings: list[bytes] = []
    ping = ClientConnection.ping

    async def counted(self: ClientConnection, data: bytes | None = None) -> Any:
        pings.append(data or b"")
        return await ping(self, data)

    monkeypatch.setattr(ClientConnection, "ping", counted)
    state = random.getstate()

    async with ticker.stream().connect(SESSION):
        for _ in range(200):
            if len(pings) >= 3:
                break
            await asyncio.sleep(0.01)

    assert len(pings) >= 3  # pinged, and every pong came back in time
    assert all(len(payload) == 4 for payload in pings)
    assert random.getstate() == state  # property tests beside a ticker see no change
