"""The ticker WebSocket at the host root, as `KiteTicker(root="ws://host:port")` dials it.

The SDK connects to `<root>?api_key=…&access_token=…`; a bad pair is refused at the handshake
(HTTP 403, as Kite does). Once open, the connection receives the user's order updates as
`{"type": "order", "data": …}` text frames and, for subscribed tokens, one binary frame of
packets a second in the mode asked for (`quote` by default), or a heartbeat byte when idle.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..broker import PaperBroker
from ..errors import TokenError
from ..ticks import HEARTBEAT, MODES, QUOTE, frame, packet
from .guard import commit

TICK_SECONDS = 1.0
MAX_TOKENS = 3000  # Kite's per-connection limit
POLICY_VIOLATION = 1008


async def ticker(websocket: WebSocket) -> None:
    broker: PaperBroker = websocket.app.state.broker
    params = websocket.query_params
    header = f"token {params.get('api_key', '')}:{params.get('access_token', '')}"
    try:
        session = broker.sessions.authenticate(header, broker.clock.timestamp())
    except TokenError:
        # Closing before accepting makes the server answer the handshake with 403.
        await websocket.close(code=POLICY_VIOLATION)
        return
    await websocket.accept()
    connection = Connection(websocket)
    feed = broker.feed
    feed.subscribe(session.user_id, connection.push)
    try:
        await connection.serve()
    finally:
        feed.unsubscribe(session.user_id, connection.push)


class Connection:
    """One ticker client: its subscriptions and the frames waiting to be sent."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.outbox: asyncio.Queue[str] = asyncio.Queue()
        self.modes: dict[int, str] = {}

    def push(self, text: str) -> None:
        self.outbox.put_nowait(text)

    async def serve(self) -> None:
        tasks = {asyncio.create_task(self._read()), asyncio.create_task(self._write())}
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                # A client that went away shows up as any of these while winding down.
                with contextlib.suppress(
                    asyncio.CancelledError, WebSocketDisconnect, RuntimeError, OSError
                ):
                    await task

    async def _read(self) -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                error = self.handle(await self.websocket.receive_text())
                if error is not None:
                    self.push(orjson.dumps({"type": "error", "data": error}).decode())

    def handle(self, text: str) -> str | None:
        """Apply a subscribe, unsubscribe or mode message; return an error text, if any."""
        try:
            message: Any = orjson.loads(text)
            action, value = message["a"], message["v"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return "Invalid message."
        if action == "subscribe" and _tokens(value):
            for token in value[: MAX_TOKENS - len(self.modes)]:
                self.modes.setdefault(token, QUOTE)
        elif action == "unsubscribe" and _tokens(value):
            for token in value:
                self.modes.pop(token, None)
        elif action == "mode" and _mode_message(value):
            for token in value[1]:
                if token in self.modes:
                    self.modes[token] = value[0]
        else:
            return "Invalid message."
        return None

    async def _write(self) -> None:
        loop = asyncio.get_running_loop()
        next_tick = loop.time() + TICK_SECONDS
        while True:
            try:
                text = await asyncio.wait_for(self.outbox.get(), max(0.0, next_tick - loop.time()))
            except TimeoutError:
                await self.websocket.send_bytes(self._ticks())
                next_tick = loop.time() + TICK_SECONDS
                continue
            await self.websocket.send_text(text)

    def _ticks(self) -> bytes:
        broker: PaperBroker = self.websocket.app.state.broker
        broker.exchange.sync()
        commit(self.websocket)
        second = broker.clock.second()
        packets = []
        for token, mode in self.modes.items():
            item = broker.catalogue.by_token(token)
            if item is not None:
                packets.append(packet(item, broker.market.walk(item, second), mode))
        return frame(packets) if packets else HEARTBEAT


def _tokens(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(token, int) and not isinstance(token, bool) for token in value
    )


def _mode_message(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and value[0] in MODES and _tokens(value[1])


ROUTES = [WebSocketRoute("/", ticker)]
