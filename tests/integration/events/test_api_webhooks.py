"""The webhooks API: register (secret once), list, get, delete, deliveries, retry; refusals."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from order_service.domain.webhook import Delivery, DeliveryStatus
from tests.integration.events.conftest import Stack, refused

pytestmark = pytest.mark.asyncio
HOOKS = "/api/v1/webhooks"
PUBLIC = "https://93.184.215.14/hook"  # a literal public address: no DNS needed


async def register(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    body = {"url": PUBLIC, "event_types": ["order.*"], "description": "bot", **overrides}
    response = await client.post(HOOKS, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def a_delivery(stack: Stack, webhook_id: str) -> Delivery:
    """Store one delivery of the endpoint, as the worker makes them."""
    now = stack.clock.now()
    delivery = Delivery(
        "01JDELIVERY000000000000001", webhook_id, 1, "order.accepted", b"{}", now, now
    )
    async with stack.uow() as uow:
        await uow.webhooks.add_deliveries([delivery])
        await uow.commit()
    return delivery


async def test_a_webhook_is_registered_with_its_secret_shown_once(stack: Stack) -> None:
    async with stack.client() as client:
        created = await register(client, event_types=["order.filled", "order.cancelled"])
        listed = (await client.get(HOOKS)).json()
        fetched = (await client.get(f"{HOOKS}/{created['webhook_id']}")).json()
    assert created["secret"].startswith("whsec_")
    assert created["event_types"] == ["order.cancelled", "order.filled"]
    assert created["enabled"] is True
    assert [hook["webhook_id"] for hook in listed] == [created["webhook_id"]]
    assert "secret" not in listed[0]
    assert "secret" not in fetched
    assert fetched["description"] == "bot"


async def test_the_secret_is_stored_encrypted(stack: Stack) -> None:
    async with stack.client() as client:
        created = await register(client)
    from sqlalchemy import select

    from order_service.adapters.db.engine import create_engine
    from order_service.adapters.db.tables import webhooks

    engine = create_engine(stack.services.settings.database_url)
    async with engine.connect() as connection:
        stored = (await connection.execute(select(webhooks.c.secret_encrypted))).scalar_one()
    await engine.dispose()
    assert created["secret"] not in stored
    assert created["secret"].removeprefix("whsec_") not in stored


async def test_a_webhook_is_deleted(stack: Stack) -> None:
    async with stack.client() as client:
        created = await register(client)
        deleted = await client.delete(f"{HOOKS}/{created['webhook_id']}")
        after = await client.get(f"{HOOKS}/{created['webhook_id']}")
        listed = (await client.get(HOOKS)).json()
    assert deleted.status_code == 204
    refused(after, 404, "NOT_FOUND")
    assert listed == []


async def test_deliveries_are_listed_and_one_is_retried(stack: Stack) -> None:
    async with stack.client() as client:
        created = await register(client)
        delivery = await a_delivery(stack, created["webhook_id"])
        page = (await client.get(f"{HOOKS}/{created['webhook_id']}/deliveries")).json()
        url = f"{HOOKS}/{created['webhook_id']}/deliveries/{delivery.delivery_id}/retry"
        retried = await client.post(url)
    assert [item["delivery_id"] for item in page["items"]] == [delivery.delivery_id]
    assert page["items"][0]["message_id"] == "msg_1"
    assert page["next_cursor"] is None
    assert retried.status_code == 202
    assert retried.json()["status"] == DeliveryStatus.RETRYING.value


async def test_another_users_webhook_and_deliveries_are_not_found(stack: Stack) -> None:
    async with stack.client() as client:
        mine = await register(client)
        delivery = await a_delivery(stack, mine["webhook_id"])
    base = f"{HOOKS}/{mine['webhook_id']}"
    async with stack.client(stack.outsider_key) as outsider:
        assert (await outsider.get(HOOKS)).json() == []
        refused(await outsider.get(base), 404, "NOT_FOUND")
        refused(await outsider.delete(base), 404, "NOT_FOUND")
        refused(await outsider.get(f"{base}/deliveries"), 404, "NOT_FOUND")
        refused(await outsider.get(f"{base}/events"), 404, "NOT_FOUND")
        retry = f"{base}/deliveries/{delivery.delivery_id}/retry"
        refused(await outsider.post(retry), 404, "NOT_FOUND")
    async with stack.client() as client:  # still there for its owner
        assert (await client.get(base)).status_code == 200


async def test_an_unknown_webhook_or_delivery_is_not_found(stack: Stack) -> None:
    async with stack.client() as client:
        mine = await register(client)
        refused(await client.get(f"{HOOKS}/01JNOSUCHWEBHOOK0000000000"), 404, "NOT_FOUND")
        retry = f"{HOOKS}/{mine['webhook_id']}/deliveries/01JNOSUCHDELIVERY000000000/retry"
        refused(await client.post(retry), 404, "NOT_FOUND")
        unknown = f"{HOOKS}/01JNOSUCHWEBHOOK0000000000/events"
        refused(await client.get(unknown), 404, "NOT_FOUND")


async def test_a_new_webhook_has_no_events_of_its_own(stack: Stack) -> None:
    async with stack.client() as client:
        mine = await register(client)
        page = (await client.get(f"{HOOKS}/{mine['webhook_id']}/events")).json()
    assert page == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", HOOKS),
        ("POST", HOOKS),
        ("GET", f"{HOOKS}/x"),
        ("DELETE", f"{HOOKS}/x"),
        ("GET", f"{HOOKS}/x/deliveries"),
        ("GET", f"{HOOKS}/x/events"),
        ("POST", f"{HOOKS}/x/deliveries/y/retry"),
    ],
)
async def test_no_credentials_is_unauthenticated(stack: Stack, method: str, path: str) -> None:
    async with stack.client("") as anonymous:
        response = await anonymous.request(method, path, json={"url": PUBLIC})
    refused(response, 401, "UNAUTHENTICATED")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "not a url"}, "url"),
        ({"url": "http://93.184.215.14/hook"}, "url"),  # plain http in production
        ({"url": "https://127.0.0.1/hook"}, "url"),
        ({"url": "https://localhost/hook"}, "url"),
        ({"url": "https://169.254.169.254/latest/meta-data"}, "url"),
        ({"url": "https://[::1]/hook"}, "url"),
        ({"url": "https://[::ffff:10.0.0.1]/hook"}, "url"),
        ({"url": "https://2130706433/hook"}, "url"),
        ({"url": "https://[::127.0.0.1]/hook"}, "url"),  # IPv4-compatible (deprecated) form
        ({"url": "https://[::169.254.169.254]/latest/meta-data"}, "url"),
        ({"url": "https://[::ffff:0:a00:1]/hook"}, "url"),  # IPv4-translated (SIIT) form
        ({"url": "https://[64:ff9b:1::a00:1]/hook"}, "url"),  # local-use NAT64
        ({"url": "https://[fec0::1]/hook"}, "url"),  # site-local (deprecated)
        ({"url": "https://10.0.0.1/hook"}, "url"),
        ({"url": PUBLIC, "event_types": ["order.teleported"]}, "event_types"),
        ({"url": PUBLIC, "event_types": []}, "event_types"),
        ({"url": PUBLIC, "event_types": "order.*"}, "event_types"),
        ({"url": PUBLIC, "surprise": 1}, "surprise"),
        ({"url": PUBLIC, "description": "d" * 501}, "description"),
        ({"url": ""}, "url"),
        ({}, "url"),
    ],
)
async def test_bad_webhooks_are_refused_with_422(
    stack: Stack, body: dict[str, Any], field: str
) -> None:
    async with stack.client() as client:
        error = refused(await client.post(HOOKS, json=body), 422, "INVALID_INPUT")
        assert field in error["details"]["field"]
        assert (await client.get(HOOKS)).json() == []


@pytest.mark.parametrize("limit", ["0", "501", "x"])
async def test_bad_delivery_pages_are_refused_with_422(stack: Stack, limit: str) -> None:
    async with stack.client() as client:
        mine = await register(client)
        response = await client.get(
            f"{HOOKS}/{mine['webhook_id']}/deliveries", params={"limit": limit}
        )
    refused(response, 422, "INVALID_INPUT")
