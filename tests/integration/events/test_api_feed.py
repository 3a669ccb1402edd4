"""GET /api/v1/order-events: the caller's events in commit order, and every refusal."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.events.conftest import Stack, refused
from tests.unit.answers import LIMIT

pytestmark = pytest.mark.asyncio
FEED = "/api/v1/order-events"


async def place(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/orders", json={**LIMIT, **overrides})
    assert response.status_code in (201, 202), response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_feed_returns_the_callers_events_in_order_with_a_cursor(stack: Stack) -> None:
    async with stack.client() as client:
        first = await place(client)
        second = await place(client)
        page = (await client.get(FEED)).json()
    sequences = [item["sequence"] for item in page["items"]]
    assert sequences == sorted(set(sequences))
    assert page["next"] == sequences[-1]
    orders = [item["order_id"] for item in page["items"]]
    assert orders.index(first["order_id"]) < orders.index(second["order_id"])
    assert {item["type"] for item in page["items"]} >= {"order.requested", "order.accepted"}
    assert all(item["account_id"] == "PAPER1" for item in page["items"])


async def test_passing_back_next_pages_through_every_event_once(stack: Stack) -> None:
    async with stack.client() as client:
        for _ in range(3):
            await place(client)
        everything = (await client.get(FEED, params={"limit": 1000})).json()["items"]
        seen: list[int] = []
        after = 0
        while True:
            page = (await client.get(FEED, params={"after": after, "limit": 2})).json()
            if not page["items"]:
                break
            seen += [item["sequence"] for item in page["items"]]
            after = page["next"]
    assert seen == [item["sequence"] for item in everything]


async def test_another_users_events_are_not_in_the_feed(stack: Stack) -> None:
    async with stack.client() as client:
        await place(client)
    async with stack.client(stack.outsider_key) as outsider:
        await place(outsider, account_id="PAPER2")
        items = (await outsider.get(FEED)).json()["items"]
    assert items
    assert {item["account_id"] for item in items} == {"PAPER2"}


async def test_filters_by_account_order_and_type(stack: Stack) -> None:
    async with stack.client() as client:
        first = await place(client)
        await place(client)
        by_order = (await client.get(FEED, params={"order_id": first["order_id"]})).json()
        by_type = (await client.get(FEED, params={"types": "order.accepted"})).json()
        by_account = (await client.get(FEED, params={"account_id": "PAPER1"})).json()
    assert {item["order_id"] for item in by_order["items"]} == {first["order_id"]}
    assert [item["type"] for item in by_type["items"]] == ["order.accepted"] * 2
    assert len(by_account["items"]) >= len(by_order["items"]) * 2


async def test_another_users_account_or_order_is_not_found(stack: Stack) -> None:
    async with stack.client(stack.outsider_key) as outsider:
        theirs = await place(outsider, account_id="PAPER2")
    async with stack.client() as client:
        for params in ({"account_id": "PAPER2"}, {"order_id": theirs["order_id"]}):
            refused(await client.get(FEED, params=params), 404, "NOT_FOUND")
            stream = await client.get(f"{FEED}/stream", params=params)
            refused(stream, 404, "NOT_FOUND")


@pytest.mark.parametrize("path", [FEED, f"{FEED}/stream"])
async def test_no_credentials_is_unauthenticated(stack: Stack, path: str) -> None:
    async with stack.client("") as anonymous:
        refused(await anonymous.get(path), 401, "UNAUTHENTICATED")
    async with stack.client("os_not-a-real-key") as forged:
        refused(await forged.get(path), 401, "UNAUTHENTICATED")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"after": "-1"}, "after"),
        ({"after": "abc"}, "after"),
        ({"after": "1.5"}, "after"),
        ({"after": str(2**64)}, "after"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"types": "order.teleported"}, "types"),
        ({"types": "order.accepted,bogus"}, "types"),
        ({"account_id": "A" * 65}, "account_id"),
    ],
)
async def test_bad_query_values_are_refused_with_422(
    stack: Stack, params: dict[str, str], field: str
) -> None:
    async with stack.client() as client:
        error = refused(await client.get(FEED, params=params), 422, "INVALID_INPUT")
        assert field in error["details"]["field"]
        if "limit" not in params:
            stream = await client.get(f"{FEED}/stream", params=params)
            assert field in refused(stream, 422, "INVALID_INPUT")["details"]["field"]


@pytest.mark.parametrize("value", [b"-3", b"abc", b"1e3", "٣".encode(), str(2**64).encode()])
async def test_a_bad_last_event_id_is_refused_with_422(stack: Stack, value: bytes) -> None:
    async with stack.client() as client:
        response = await client.get(f"{FEED}/stream", headers={"Last-Event-ID": value})
    assert "Last-Event-ID" in refused(response, 422, "INVALID_INPUT")["details"]["field"]
