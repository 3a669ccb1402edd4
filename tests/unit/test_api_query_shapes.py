"""What the OpenAPI says a parameter may be is what the server takes: a day is YYYY-MM-DD in
the books' years, event types are known names, a webhook names at least one."""

from __future__ import annotations

import httpx
import pytest

from tests.unit.answers import LIMIT, body, refused

pytestmark = pytest.mark.asyncio


@pytest.mark.parametrize("day", ["2026-11-30T00:00:00", "0", "1989-12-31", "3000-01-01"])
async def test_a_day_is_an_iso_date_in_the_books_years(
    trader_api: httpx.AsyncClient, day: str
) -> None:
    answer = await trader_api.get("/api/v1/positions", params={"day": day})

    refused(answer, 422, "INVALID_INPUT")


async def test_a_day_in_range_is_taken(trader_api: httpx.AsyncClient) -> None:
    assert body(await trader_api.get("/api/v1/positions", params={"day": "2026-11-30"})) == []


@pytest.mark.parametrize(
    ("types", "status"),
    [
        ("order.filled, order.*", 200),
        ("order.filled,,", 200),
        ("order.nope", 422),
        ("\torder.*", 422),
    ],
)
async def test_event_types_are_known_names_separated_by_commas(
    trader_api: httpx.AsyncClient, types: str, status: int
) -> None:
    answer = await trader_api.get("/api/v1/order-events", params={"types": types})

    assert answer.status_code == status, answer.text


async def test_a_webhook_names_at_least_one_known_event_type(
    trader_api: httpx.AsyncClient,
) -> None:
    url = "https://hooks.example.com/orders"
    for event_types in ([], ["order.nope"], [" order.*"]):
        answer = await trader_api.post(
            "/api/v1/webhooks", json={"url": url, "event_types": event_types}
        )
        refused(answer, 422, "INVALID_INPUT")


@pytest.mark.parametrize(
    ("quantity", "status"), [(5, 201), (5.0, 201), (5.5, 422), (True, 422), ("5", 422)]
)
async def test_a_quantity_is_a_whole_json_number(
    trader_api: httpx.AsyncClient, quantity: object, status: int
) -> None:
    order = {**LIMIT, "quantity": quantity}

    answer = await trader_api.post("/api/v1/orders", json=order)

    assert answer.status_code == status, answer.text
    if status == 201:
        assert answer.json()["quantity"] == 5
