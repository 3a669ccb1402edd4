"""Webhook delivery to a real receiver: signed, at least once, retried, then disabled.

The receiver checks each signature with the standardwebhooks package, not with our code. The
service's clock is the tests' fake: retries come due when the test moves it, never by waiting.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.integration.events.conftest import (
    Receiver,
    Stack,
    build_stack,
    database_url,
    free_port,
    serving,
)
from tests.unit.answers import LIMIT
from tests.unit.conftest import ACCOUNT, log_in

pytestmark = pytest.mark.asyncio
HOOKS = "/api/v1/webhooks"


@pytest_asyncio.fixture(params=["sqlite", "postgresql"])
async def demo(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stack]:
    """The stack with the demo's sender: receivers on this machine are allowed."""
    url = await database_url(request.param, tmp_path)
    built = await build_stack(url, tmp_path, webhook_max_response_bytes=1024)
    yield built
    await built.services.close()


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    hooks = Receiver()
    async with serving(hooks.app()) as base:
        yield hooks, f"{base}/hook"


async def register(stack: Stack, url: str, types: list[str] | None = None) -> dict[str, Any]:
    async with stack.client() as client:
        body = {"url": url, "event_types": types or ["order.*"]}
        response = await client.post(HOOKS, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def place(stack: Stack, key: str | None = None, **overrides: Any) -> str:
    async with stack.client(key) as client:
        response = await client.post("/api/v1/orders", json={**LIMIT, **overrides})
    assert response.status_code == 201, response.text
    order_id: str = response.json()["order_id"]
    return order_id


async def deliveries(stack: Stack, webhook_id: str) -> list[dict[str, Any]]:
    async with stack.client() as client:
        page = (await client.get(f"{HOOKS}/{webhook_id}/deliveries")).json()
    items: list[dict[str, Any]] = page["items"]
    return items


async def webhook_events(stack: Stack, webhook_id: str) -> list[dict[str, Any]]:
    async with stack.client() as client:
        page = (await client.get(f"{HOOKS}/{webhook_id}/events")).json()
    items: list[dict[str, Any]] = page["items"]
    return items


async def run_worker_pass(stack: Stack) -> list[str]:
    await stack.services.dispatcher.enqueue()
    return [outcome.value for outcome in (await stack.services.dispatcher.send_due()).outcomes]


def verified(secret: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """Check the signature as the reference library computes it; return the parsed body."""
    stamp = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
    expected = Webhook(secret).sign(headers["webhook-id"], stamp, body.decode())
    assert headers["webhook-signature"] == expected
    parsed: dict[str, Any] = json.loads(body)
    return parsed


async def test_every_event_reaches_the_receiver_signed_in_order(
    demo: Stack, receiver: tuple[Receiver, str]
) -> None:
    hooks, url = receiver
    created = await register(demo, url)
    order_id = await place(demo)
    outcomes = await run_worker_pass(demo)

    assert outcomes
    assert set(outcomes) == {"succeeded"}
    bodies = [verified(created["secret"], headers, body) for headers, body in hooks.received]
    sequences = [body["data"]["sequence"] for body in bodies]
    assert sequences == sorted(sequences)
    assert {body["data"]["order_id"] for body in bodies} == {order_id}
    assert [h["webhook-id"] for h, _ in hooks.received] == [f"msg_{s}" for s in sequences]
    assert bodies[0]["type"] == "order.requested"
    assert set(bodies[0]) == {"type", "timestamp", "data"}
    assert all(
        item["status"] == "succeeded" for item in await deliveries(demo, created["webhook_id"])
    )


async def test_a_webhook_gets_only_its_types_and_only_its_owners_events(
    demo: Stack, receiver: tuple[Receiver, str]
) -> None:
    hooks, url = receiver
    await register(demo, url, ["order.accepted"])
    await place(demo)
    await place(demo, demo.outsider_key, account_id="PAPER2")
    await run_worker_pass(demo)
    types = [json.loads(body)["type"] for _, body in hooks.received]
    accounts = {json.loads(body)["data"]["account_id"] for _, body in hooks.received}
    assert types == ["order.accepted"]
    assert accounts == {"PAPER1"}


async def test_events_before_the_webhook_existed_are_not_sent(
    demo: Stack, receiver: tuple[Receiver, str]
) -> None:
    hooks, url = receiver
    await place(demo)
    await register(demo, url)
    assert await run_worker_pass(demo) == []
    assert hooks.received == []


async def test_a_failing_receiver_is_retried_with_the_same_id_after_a_backoff(
    demo: Stack, receiver: tuple[Receiver, str]
) -> None:
    hooks, url = receiver
    created = await register(demo, url, ["order.requested"])
    await place(demo)
    hooks.answers = [500]
    assert await run_worker_pass(demo) == ["retrying"]
    [failed] = await deliveries(demo, created["webhook_id"])
    assert failed["last_status_code"] == 500
    assert len(failed["last_error"]) < 500  # the receiver's 100 kB body is not kept
    pause = datetime.fromisoformat(failed["next_attempt_at"]) - demo.clock.now()
    assert timedelta(seconds=2.5) <= pause <= timedelta(seconds=5)

    assert await run_worker_pass(demo) == []  # not due yet
    demo.clock.advance(5)
    assert await run_worker_pass(demo) == ["succeeded"]
    ids = [headers["webhook-id"] for headers, _ in hooks.received]
    assert len(ids) == 2
    assert ids[0] == ids[1]
    [settled] = await deliveries(demo, created["webhook_id"])
    assert settled["attempts"] == 2
    assert settled["status"] == "succeeded"


async def test_after_a_day_of_failures_the_endpoint_is_disabled_and_nothing_is_lost(
    demo: Stack, receiver: tuple[Receiver, str]
) -> None:
    hooks, url = receiver
    created = await register(demo, url, ["order.requested"])
    await place(demo)
    hooks.answers = [503] * 1000
    for _ in range(40):  # backoff doubles to an hour: a day holds a few dozen attempts
        await run_worker_pass(demo)
        demo.clock.advance(3600)
    async with demo.client() as client:
        endpoint = (await client.get(f"{HOOKS}/{created['webhook_id']}")).json()
    [given_up] = await deliveries(demo, created["webhook_id"])
    assert given_up["status"] == "failed"
    assert endpoint["enabled"] is False
    assert "503" in endpoint["disabled_reason"]
    [disabled] = await webhook_events(demo, created["webhook_id"])
    assert disabled["type"] == "webhook.disabled"
    assert disabled["reason"] == endpoint["disabled_reason"]
    assert disabled["occurred_at"] == endpoint["disabled_at"]

    await log_in(demo.services, demo.trader, ACCOUNT)  # the day's session has expired
    await place(demo)  # while disabled: not sent, but not lost either
    assert await run_worker_pass(demo) == []
    hooks.answers = []
    retry = f"{HOOKS}/{created['webhook_id']}/deliveries/{given_up['delivery_id']}/retry"
    async with demo.client() as client:
        assert (await client.post(retry)).status_code == 202
    assert await run_worker_pass(demo) == ["succeeded"]  # the receiver is back: enabled
    assert await run_worker_pass(demo) == ["succeeded"]  # and the event it missed follows
    async with demo.client() as client:
        assert (await client.get(f"{HOOKS}/{created['webhook_id']}")).json()["enabled"] is True
    enabled, disabled_again = await webhook_events(demo, created["webhook_id"])  # newest first
    assert (enabled["type"], enabled["reason"]) == ("webhook.enabled", None)
    assert disabled_again == disabled


async def test_an_unreachable_receiver_is_a_recorded_failure_not_an_error(demo: Stack) -> None:
    created = await register(demo, f"http://127.0.0.1:{free_port()}/hook", ["order.requested"])
    await place(demo)
    assert await run_worker_pass(demo) == ["retrying"]
    [failed] = await deliveries(demo, created["webhook_id"])
    assert failed["last_status_code"] is None
    assert "unreachable" in failed["last_error"]


async def test_a_redirect_is_a_failure_and_is_not_followed(demo: Stack) -> None:
    followed: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        followed.append(scope["path"])
        location = [(b"location", b"http://169.254.169.254/latest/meta-data")]
        await send({"type": "http.response.start", "status": 307, "headers": location})
        await send({"type": "http.response.body", "body": b""})

    async with serving(app) as base:
        created = await register(demo, f"{base}/hook", ["order.requested"])
        await place(demo)
        assert await run_worker_pass(demo) == ["retrying"]
    [failed] = await deliveries(demo, created["webhook_id"])
    assert failed["last_status_code"] == 307
    assert followed == ["/hook"]


async def test_a_slow_receiver_times_out_without_holding_the_others(
    tmp_path: Path, receiver: tuple[Receiver, str]
) -> None:
    hooks, url = receiver

    async def stalling(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await asyncio.sleep(30)

    stack = await build_stack(
        await database_url("sqlite", tmp_path), tmp_path, webhook_timeout_seconds=0.5
    )
    try:
        async with serving(stalling) as slow:
            await register(stack, f"{slow}/hook", ["order.requested"])
            await register(stack, url, ["order.requested"])
            await place(stack)
            started = asyncio.get_running_loop().time()
            outcomes = await run_worker_pass(stack)
            took = asyncio.get_running_loop().time() - started
    finally:
        await stack.services.close()
    assert sorted(outcomes) == ["retrying", "succeeded"]
    assert len(hooks.received) == 1
    assert took < 5


async def test_a_slow_receivers_pass_ends_before_its_claims_lapse(demo: Stack) -> None:
    calls: list[str] = []

    async def slow(request: Request) -> Response:
        calls.append(request.headers["webhook-id"])
        demo.clock.advance(demo.services.settings.webhook_timeout_seconds * 2)  # answers late
        return Response(status_code=204)

    async with serving(Starlette(routes=[Route("/hook", slow, methods=["POST"])])) as base:
        created = await register(demo, f"{base}/hook", ["order.requested"])
        for _ in range(3):
            await place(demo)
        assert await run_worker_pass(demo) == ["succeeded"]  # then its time was up
        left = [d for d in await deliveries(demo, created["webhook_id"]) if d["attempts"] == 0]
        assert [d["status"] for d in left] == ["pending", "pending"]
        assert await run_worker_pass(demo) == ["succeeded"]  # handed back, due at once
        assert await run_worker_pass(demo) == ["succeeded"]
    assert calls == sorted(set(calls), key=lambda m: int(m.removeprefix("msg_")))
    assert len(calls) == 3


async def test_an_idle_worker_sleeps_rather_than_waking_itself(
    demo: Stack, receiver: tuple[Receiver, str]
) -> None:
    from order_service.entrypoints.workers.webhooks import WebhookWorker

    _, url = receiver
    await register(demo, url)
    worker = WebhookWorker(demo.services)
    for _ in range(5):  # the commits before it, and a listener's first connection, wake it
        try:
            await asyncio.wait_for(worker.run_once(), 0.3)
        except TimeoutError:
            break
    with pytest.raises(TimeoutError):  # idle now: its own passes commit nothing to wake it
        await asyncio.wait_for(worker.run_once(), 0.3)
    await place(demo)
    await asyncio.wait_for(worker.run_once(), 2)  # a commit wakes it at once
