"""``KiteOrderStream``: the OrderStream port on Kite's ticker WebSocket (KITE.md section 6.2).

The protocol is the SDK's: ``<root>?api_key=…&access_token=…`` with ``X-Kite-Version: 3``; text
frames ``{"type": "order", "data": {…}}`` carry order updates (the postback payload, with the
checksum left blank), ``{"type": "error", …}`` reports trouble, binary frames are ticks and
heartbeats (we subscribe to no instruments, so we ignore them). A refused handshake (403) means
the token is no good: ``AuthenticationError``, as a ``TokenException`` is.

It runs on ``websockets`` (asyncio), not on the SDK's ``KiteTicker``. ``KiteTicker`` is built on
Twisted's global reactor: ``connect()`` calls ``reactor.run()``, which blocks the caller or runs
on a thread of its own, outside our event loop, so every update would cross threads; the reactor
cannot be restarted in a process once stopped (``ReactorNotRestartable``), and ``stop()`` stops it
for every connection at once. A supervisor that restarts a crashed ticker worker with fresh state
therefore cannot host it cleanly. On ``websockets`` each connection is a task of our own loop: it
is cancelled, closed and reopened like any other, and its failures reach the worker as ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode, urlsplit

from structlog.stdlib import BoundLogger
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from order_service.adapters.broker.parsing import order_report
from order_service.domain.ids import AccountId
from order_service.errors import (
    AuthenticationError,
    BrokerUnavailable,
    ConfigurationError,
    DataFormatError,
    OrderServiceError,
)
from order_service.observability.logging import get_logger
from order_service.observability.metrics import BROKER_SESSION_EXPIRED
from order_service.services.ports import BrokerSession, OrderUpdate, OrderUpdates

# The handshake's request line carries the access token, and websockets logs it at DEBUG:
# its records go to a logger of ours that never passes DEBUG, whatever LOG_LEVEL says.
_WIRE_LOG = logging.getLogger("order_service.ticker.wire")
_WIRE_LOG.setLevel(logging.INFO)

KITE_VERSION = {"X-Kite-Version": "3"}
# The SDK's keep-alive (KITE.md 6.3): a ping every 2.5 s, dropped without a pong within 5 s.
PING_INTERVAL_SECONDS = 2.5
PING_TIMEOUT_SECONDS = 5.0
CLOSE_TIMEOUT_SECONDS = 2.0
KEEPALIVE_TIMEOUT = 1011  # the close code websockets uses when a ping goes unanswered
# An order frame is a few kilobytes; a full tick frame of 3,000 instruments is about 550 KB.
MAX_FRAME_BYTES = 1 << 20
_REFUSED_STATUSES = frozenset({401, 403})
_MAX_TEXT = 200


class KiteOrderStream:
    """Opens one ticker connection per call of ``connect``, for any account."""

    def __init__(self, root: str, open_timeout: float) -> None:
        if urlsplit(root).scheme not in {"ws", "wss"}:
            raise ConfigurationError("the ticker root must be a ws:// or wss:// URL")
        self._root = root.rstrip("/")
        self._open_timeout = open_timeout

    @asynccontextmanager
    async def connect(self, session: BrokerSession) -> AsyncIterator[OrderUpdates]:
        """Open ``session``'s ticker; yield its order updates; close it on the way out."""
        websocket = await self._open(session)
        updates = _updates(websocket, session.account_id)
        keepalive = asyncio.create_task(_keepalive(websocket), name="ticker-keepalive")
        try:
            yield updates
        finally:
            keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keepalive
            await updates.aclose()
            await websocket.close()

    async def _open(self, session: BrokerSession) -> ClientConnection:
        query = urlencode({"api_key": session.api_key, "access_token": session.access_token})
        try:
            return await connect(
                f"{self._root}/?{query}",
                additional_headers=KITE_VERSION,
                open_timeout=self._open_timeout,
                ping_interval=None,  # our own keep-alive: see _keepalive
                ping_timeout=None,
                close_timeout=CLOSE_TIMEOUT_SECONDS,
                max_size=MAX_FRAME_BYTES,
                logger=_WIRE_LOG,
            )
        except InvalidURI:
            # Its message holds the URL, token included: say what is wrong without it.
            raise ConfigurationError("the ticker URL is not valid") from None
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            raise _refusal(exc, session.account_id) from exc


async def _keepalive(websocket: ClientConnection) -> None:
    """Kite's keep-alive: a ping every interval; no pong within the timeout drops the line.

    websockets' own keep-alive draws its ping payloads from the random module's shared state;
    these come from ``os.urandom``, so a ticker never moves state other code relies on.
    """
    while True:
        await asyncio.sleep(PING_INTERVAL_SECONDS)
        try:
            pong = await websocket.ping(os.urandom(4))
            await asyncio.wait_for(pong, PING_TIMEOUT_SECONDS)
        except TimeoutError:
            await websocket.close(KEEPALIVE_TIMEOUT, "keepalive ping timeout")
            return
        except ConnectionClosed:
            return


def _refusal(exc: Exception, account_id: AccountId) -> OrderServiceError:
    """Translate a failed handshake: a refused token ends the session, the rest is transient."""
    status = exc.response.status_code if isinstance(exc, InvalidStatus) else None
    details: dict[str, Any] = {"account_id": account_id, "reason": type(exc).__name__}
    if status in _REFUSED_STATUSES:
        BROKER_SESSION_EXPIRED.inc()
        return AuthenticationError(
            f"the broker refused the ticker session of {account_id}; log in again",
            details={**details, "status": status, "session_state": "login_required"},
        )
    if status is not None:
        details["status"] = status
    return BrokerUnavailable("cannot open the broker's ticker", details=details)


async def _updates(
    websocket: ClientConnection, account_id: AccountId
) -> AsyncGenerator[OrderUpdate, None]:
    """Yield the order updates of the text frames until the connection ends (a drop)."""
    connection_log = get_logger(__name__).bind(account=account_id)
    try:
        async for message in websocket:
            if isinstance(message, str):  # binary frames: ticks and heartbeats
                update = read_frame(message, connection_log)
                if update is not None:
                    yield update
    except ConnectionClosed as exc:
        raise _dropped(websocket, account_id) from exc
    raise _dropped(websocket, account_id)  # closed cleanly by the broker: a drop all the same


def _dropped(websocket: ClientConnection, account_id: AccountId) -> BrokerUnavailable:
    return BrokerUnavailable(
        "the broker's ticker closed the connection",
        details={"account_id": account_id, "close_code": websocket.close_code},
    )


def read_frame(text: str, log: BoundLogger) -> OrderUpdate | None:
    """Return the order update a text frame carries; None for frames that carry none."""
    try:
        message = json.loads(text, parse_float=Decimal, parse_constant=_not_finite)
    except (ValueError, RecursionError) as exc:  # not JSON, NaN/Infinity, a huge integer
        return OrderUpdate(None, problem=f"not JSON: {str(exc)[:_MAX_TEXT]}")
    if not isinstance(message, dict):
        return OrderUpdate(None, problem="not a JSON object")
    kind = message.get("type")
    if kind == "error":
        log.warning("the ticker reported an error", error=_text(message))
        return None
    if kind != "order":
        return None  # "message" broadcasts, and whatever Kite adds later
    return _order_update(message.get("data"))


def _order_update(data: object) -> OrderUpdate:
    if not isinstance(data, dict) or not data:
        return OrderUpdate(None, problem="an order frame without an order")
    user_id = data.get("user_id")
    user = None if user_id is None else str(user_id)[:_MAX_TEXT]
    try:
        return OrderUpdate(order_report(data), user_id=user)
    except DataFormatError as exc:
        order_id, reason = exc.details.get("order_id"), exc.details.get("reason")
        return OrderUpdate(None, user_id=user, problem=f"order {order_id}: {reason}"[:_MAX_TEXT])


def _not_finite(name: str) -> Any:
    raise ValueError(f"{name} is not a finite number")


def _text(message: dict[str, Any]) -> str:
    return str(message.get("data"))[:_MAX_TEXT]
