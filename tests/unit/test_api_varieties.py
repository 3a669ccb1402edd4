"""Varieties through the API: an auction bid names its auction, kept on the order and sent;
an iceberg is refused before it reaches the broker; the protection shown is the one sent."""

from __future__ import annotations

import httpx
import pytest

from order_service.domain.values import Variety
from tests.unit.answers import LIMIT, body, refused
from tests.unit.conftest import World

pytestmark = pytest.mark.asyncio
AUCTION = {**LIMIT, "variety": "auction", "auction_number": "22", "transaction_type": "SELL"}


async def test_an_auction_bid_keeps_its_auction_number(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    placed = body(await trader_api.post("/api/v1/orders", json=AUCTION), 201)

    assert (placed["variety"], placed["auction_number"]) == ("auction", "22")
    shown = body(await trader_api.get(f"/api/v1/orders/{placed['order_id']}"))
    assert shown["auction_number"] == "22"
    stored = world.store.orders[placed["order_id"]].request
    assert (stored.variety, stored.auction_number) == (Variety.AUCTION, "22")


async def test_a_repeat_of_an_auction_bid_with_another_auction_is_another_request(
    trader_api: httpx.AsyncClient,
) -> None:
    headers = {"Idempotency-Key": "bid-1"}
    first = await trader_api.post("/api/v1/orders", json=AUCTION, headers=headers)
    other = {**AUCTION, "auction_number": "23"}

    again = await trader_api.post("/api/v1/orders", json=other, headers=headers)

    body(first, 201)
    refused(again, 409, "IDEMPOTENCY_CONFLICT")


@pytest.mark.parametrize(
    ("order", "field"),
    [
        ({**AUCTION, "auction_number": None}, "auction_number"),
        ({**LIMIT, "auction_number": "22"}, "auction_number"),
        ({**AUCTION, "auction_number": "2a"}, "auction_number"),
        ({**LIMIT, "variety": "iceberg"}, "variety"),
    ],
)
async def test_a_variety_without_its_terms_is_refused_before_the_broker(
    world: World, trader_api: httpx.AsyncClient, order: dict[str, object], field: str
) -> None:
    answer = await trader_api.post("/api/v1/orders", json=order)

    error = refused(answer, 422, "INVALID_INPUT")
    assert error["details"]["field"] == field
    assert world.broker.calls.get("place_order", 0) == 0


async def test_a_market_order_shows_the_automatic_protection_it_was_sent_with(
    trader_api: httpx.AsyncClient,
) -> None:
    market = {**LIMIT, "order_type": "MARKET", "price": None}

    placed = body(await trader_api.post("/api/v1/orders", json=market), 201)
    limit = body(await trader_api.post("/api/v1/orders", json=LIMIT), 201)

    assert placed["market_protection"] == "-1"
    assert limit["market_protection"] is None
