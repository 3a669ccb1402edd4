"""The live stream over a real socket: events in order, resumed by Last-Event-ID, heartbeats,
several processes on PostgreSQL, and clients that fall behind disconnected alone."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from order_service.adapters.broker.fake import FakeBroker
from order_service.bootstrap import bootstrap
from order_service.config import load_settings
from order_service.domain.account import EVERY_ACCOUNT
from order_service.domain.ids import UserId
from order_service.entrypoints.api.app import create_app
from order_service.services.event_stream import StreamClosed
from order_service.services.ports import FeedQuery
from tests.integration.events.conftest import (
    ACCOUNT,
    Stack,
    build_stack,
    database_url,
    serving,
)
from tests.unit.answers import LIMIT
from tests.unit.fakes import FakeClock

pytestmark = pytest.mark.asyncio
STREAM = "/api/v1/order-events/stream"


@dataclass
class Reader:
    """Reads a stream's frames as they come: events (id, type, data) and heartbeats."""

    events: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    heartbeats: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def read(self, response: httpx.Response) -> None:
        frame: dict[str, str] = {}
        async for line in response.aiter_lines():
            if line.startswith(":"):
                self.heartbeats += 1
            elif line:
                name, _, value = line.partition(": ")
                frame[name] = value
            elif frame:
                self.events.append((int(frame["id"]), frame["event"], json.loads(frame["data"])))
                frame = {}
            self.changed.set()

    async def until(self, count: int, within: float = 5.0) -> None:
        deadline = time.monotonic() + within
        while len(self.events) < count:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), deadline - time.monotonic())


@dataclass
class Streaming:
    reader: Reader
    task: asyncio.Task[None]

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


@contextlib.asynccontextmanager
async def stream(
    base: str, key: str, headers: dict[str, str] | None = None, **params: Any
) -> AsyncIterator[Streaming]:
    reader = Reader()
    auth = {"Authorization": f"Bearer {key}", **(headers or {})}

    async def run() -> None:
        async with (
            httpx.AsyncClient(base_url=base, headers=auth, timeout=60) as client,
            client.stream("GET", STREAM, params=params) as response,
        ):
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            await reader.read(response)

    streaming = Streaming(reader, asyncio.create_task(run()))
    try:
        while reader.heartbeats == 0:  # the first comment: the subscription is in place
            if streaming.task.done():
                streaming.task.result()
            await asyncio.sleep(0.01)
        yield streaming
    finally:
        await streaming.stop()


async def drained(events: AsyncIterator[object]) -> None:
    while True:
        await anext(events)


async def place(client: httpx.AsyncClient, **overrides: Any) -> str:
    response = await client.post("/api/v1/orders", json={**LIMIT, **overrides})
    assert response.status_code == 201, response.text
    order_id: str = response.json()["order_id"]
    return order_id


async def test_place_modify_cancel_reach_the_stream_in_order(stack: Stack) -> None:
    async with (
        serving(stack.app) as base,
        stack.client() as client,
        stream(base, stack.key) as live,
    ):
        order_id = await place(client)
        await stack.services.reconcile.sync_account(ACCOUNT)  # OPEN at the broker
        assert (
            await client.patch(f"/api/v1/orders/{order_id}", json={"price": "1521"})
        ).status_code == 200
        assert (await client.delete(f"/api/v1/orders/{order_id}")).status_code == 200
        expected = (await client.get("/api/v1/order-events", params={"limit": 1000})).json()
        await live.reader.until(len(expected["items"]))
    ids = [sequence for sequence, _, _ in live.reader.events]
    assert ids == [item["sequence"] for item in expected["items"]]
    types = [event_type for _, event_type, _ in live.reader.events]
    for earlier, later in [
        ("order.requested", "order.accepted"),
        ("order.accepted", "order.modify_requested"),
        ("order.modify_requested", "order.cancel_requested"),
        ("order.cancel_requested", "order.cancelled"),
    ]:
        assert types.index(earlier) < types.index(later)
    assert {data["order_id"] for _, _, data in live.reader.events} == {order_id}


async def test_a_reconnect_with_last_event_id_gets_exactly_the_missed_events(stack: Stack) -> None:
    async with serving(stack.app) as base, stack.client() as client:
        async with stream(base, stack.key) as first:
            await place(client)
            seen = len((await client.get("/api/v1/order-events")).json()["items"])
            await first.reader.until(seen)
        last_id = first.reader.events[-1][0]
        for _ in range(2):
            await place(client)  # while disconnected
        missed = (await client.get("/api/v1/order-events", params={"after": last_id})).json()
        resume = {"Last-Event-ID": str(last_id)}
        async with stream(base, stack.key, headers=resume) as second:
            await second.reader.until(len(missed["items"]))
            await asyncio.sleep(0.3)  # a heartbeat passes: nothing more comes
    assert len(first.reader.events) == seen
    assert [e[0] for e in second.reader.events] == [i["sequence"] for i in missed["items"]]
    assert second.reader.events[0][0] > last_id


async def test_after_resumes_like_last_event_id_and_filters_apply(stack: Stack) -> None:
    async with serving(stack.app) as base, stack.client() as client:
        first = await place(client)
        await place(client)
        params = {"after": 0, "order_id": first, "types": "order.accepted"}
        async with stream(base, stack.key, **params) as live:
            await live.reader.until(1)
            await asyncio.sleep(0.3)
    assert [(t, d["order_id"]) for _, t, d in live.reader.events] == [("order.accepted", first)]


async def test_another_users_events_never_reach_the_stream(stack: Stack) -> None:
    async with (
        serving(stack.app) as base,
        stack.client(stack.outsider_key) as outsider,
        stream(base, stack.key) as live,
    ):
        await place(outsider, account_id="PAPER2")
        await asyncio.sleep(0.5)
    assert live.reader.events == []


async def test_heartbeats_come_while_nothing_happens(stack: Stack) -> None:
    async with serving(stack.app) as base, stream(base, stack.key) as live:
        await asyncio.sleep(0.7)  # the heartbeat interval is 0.2 s here
    assert live.reader.heartbeats >= 3


async def test_a_lagging_client_is_disconnected_without_holding_the_others(
    tmp_path: Path,
) -> None:
    stack = await build_stack(await database_url("sqlite", tmp_path), tmp_path, events_queue_size=3)
    broadcaster = stack.services.broadcaster
    query = FeedQuery(scope=EVERY_ACCOUNT)
    try:
        lagging = broadcaster.follow(query)
        assert await anext(lagging) is None  # subscribed, then never read again
        async with (
            serving(stack.app) as base,
            stack.client() as client,
            stream(base, stack.key) as live,
        ):
            for _ in range(3):
                await place(client)
            total = len((await client.get("/api/v1/order-events")).json()["items"])
            await live.reader.until(total)
        with pytest.raises(StreamClosed):  # what it had queued, then the end
            await drained(lagging)
        await lagging.aclose()
    finally:
        await stack.services.close()
    assert total > 3


@pytest.mark.postgres
async def test_an_event_committed_by_another_process_reaches_the_stream_at_once(
    tmp_path: Path,
) -> None:
    url = await database_url("postgresql", tmp_path)
    writer = await build_stack(url, tmp_path / "a", events_heartbeat_seconds=30)
    (tmp_path / "b").mkdir()
    streamer = await build_stack_again(url, tmp_path / "b", writer.trader.user_id)
    try:
        async with (
            serving(streamer.app) as base,
            writer.client() as client,
            stream(base, streamer.key) as live,
        ):
            started = time.monotonic()
            response = await client.post("/api/v1/orders", json=LIMIT)
            assert response.status_code == 201
            await live.reader.until(1, within=5)
            took = time.monotonic() - started
    finally:
        await writer.services.close()
        await streamer.services.close()
    assert took < 1.0  # woken by NOTIFY, not by its 30 s idle read
    assert live.reader.events[0][1] == "order.requested"


async def build_stack_again(url: str, var: Path, user_id: UserId) -> Stack:
    """A second process's services on the same database, for the same user."""
    settings = load_settings(
        database_url=url,
        var_dir=str(var),
        jwt_secret="test-jwt-secret-0123456789abcdef0123",
        secret_key="test-secret-key",
        log_json=False,
        events_heartbeat_seconds=30,
    )
    clock = FakeClock()
    broker = FakeBroker(clock)
    services = bootstrap(settings, broker=broker, clock=clock)
    key = await services.users.create_api_key(user_id)
    trader = await services.users.get_user(user_id)
    return Stack(services, create_app(services), clock, broker, trader, key, trader, key)
