"""Attacks on the HTTP edge, replayed through the app: each is refused before anything is stored."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
import pytest_asyncio

from order_service.domain.order import Order
from order_service.domain.postback import postback_checksum
from order_service.domain.status import OrderStatus
from tests.factories import make_limit_request
from tests.unit.answers import LIMIT
from tests.unit.conftest import OTHER_ACCOUNT, World, add_trader

pytestmark = pytest.mark.asyncio

TERMS = {key: value for key, value in LIMIT.items() if key != "account_id"}
INT32_MAX = 2**31 - 1
HOLE = "__HOLE__"
# Literal JSON (valid or not) that must never become a number, in every place a number enters.
NON_FINITE = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    "-1e400",
    "sNaN",
    '"NaN"',
    '"Infinity"',
    '"-Infinity"',
    '"1e400"',
    '"sNaN"',
    '"nan"',
    '"inf"',
]


@pytest.fixture
def client(trader_api: httpx.AsyncClient) -> httpx.AsyncClient:
    return trader_api


@pytest_asyncio.fixture
async def working(world: World) -> Order:
    """A LIMIT order resting OPEN at the broker, to aim modifications at."""
    placed = await world.services.orders.place_order(world.trader, make_limit_request(), None)
    await world.services.reconcile.sync_account(placed.order.account_id)
    return placed.order


def with_literal(body: dict[str, Any], literal: str) -> bytes:
    """Serialise ``body`` with the JSON text ``literal`` where ``HOLE`` stands."""
    return json.dumps(body).replace(json.dumps(HOLE), literal).encode()


def raw(content: bytes | str) -> dict[str, Any]:
    data = content.encode() if isinstance(content, str) else content
    return {"content": data, "headers": {"Content-Type": "application/json"}}


def refused(response: httpx.Response, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == "INVALID_INPUT", error
    if field is not None:
        assert error["details"].get("field") == field, error
    return error


def nothing_sent(world: World, orders_before: int = 0) -> None:
    assert len(world.store.orders) == orders_before
    assert world.broker.calls["place_order"] == 0
    assert world.broker.calls["modify_order"] == 0


# B: integers that a 32-bit column cannot hold never get past validation.


async def test_a_basket_leg_over_the_quantity_limit_is_refused_naming_the_leg(
    world: World, client: httpx.AsyncClient
) -> None:
    await add_trader(world.services, "second", OTHER_ACCOUNT)
    body = {
        "order": {**TERMS, "quantity": 100_000_000},
        "legs": [{"account_id": "PAPER1"}, {"account_id": "PAPER2", "multiplier": 1000}],
    }
    error = refused(await client.post("/api/v1/baskets", json=body), "legs.1.multiplier")
    assert "PAPER2" in error["message"]
    assert "1000" in error["message"]
    nothing_sent(world)


async def test_a_basket_whose_legs_fit_is_placed(world: World, client: httpx.AsyncClient) -> None:
    body = {
        "order": {**TERMS, "quantity": 100_000},
        "legs": [{"account_id": "PAPER1", "multiplier": 1000}],
    }
    response = await client.post("/api/v1/baskets", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["legs"][0]["order"]["quantity"] == 100_000_000


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("quantity", INT32_MAX + 1),
        ("quantity", 100_000_001),
        ("disclosed_quantity", INT32_MAX + 1),
        ("validity_ttl", INT32_MAX + 1),
        ("validity_ttl", 1441),
    ],
)
async def test_an_order_integer_beyond_its_column_is_refused(
    world: World, client: httpx.AsyncClient, field: str, value: int
) -> None:
    refused(await client.post("/api/v1/orders", json={**LIMIT, field: value}), field)
    nothing_sent(world)


@pytest.mark.parametrize("field", ["quantity", "disclosed_quantity"])
async def test_a_modification_beyond_the_column_is_refused(
    world: World, client: httpx.AsyncClient, working: Order, field: str
) -> None:
    url = f"/api/v1/orders/{working.order_id}"
    refused(await client.patch(url, json={field: INT32_MAX + 1}), field)
    assert world.broker.calls["modify_order"] == 0


# C: strict types for the order's terms.


# A whole float (10.0) is an integer to JSON Schema, and is taken: test_api_query_shapes.
@pytest.mark.parametrize("value", [True, False, "1", "10", 10.5, "１０", "1e1", None], ids=repr)
async def test_a_quantity_must_be_a_json_integer(
    world: World, client: httpx.AsyncClient, value: object
) -> None:
    refused(await client.post("/api/v1/orders", json={**LIMIT, "quantity": value}), "quantity")
    nothing_sent(world)


@pytest.mark.parametrize(
    "value",
    [
        "1e3",
        "1E3",
        "１００",
        "１５２０.５０",
        " 1520.50",
        "1520.50\n",
        "+1520.50",
        "1_520.50",
        "0x10",
        ".5",
        "5.",
        "",
        True,
    ],
    ids=repr,
)
@pytest.mark.parametrize("field", ["price", "trigger_price"])
async def test_a_price_must_be_a_number_or_a_plain_decimal_string(
    world: World, client: httpx.AsyncClient, field: str, value: object
) -> None:
    body = {**LIMIT, "order_type": "SL", "trigger_price": "1519", field: value}
    refused(await client.post("/api/v1/orders", json=body), field)
    nothing_sent(world)


@pytest.mark.parametrize(
    ("price", "stored"),
    [("1520.50", "1520.50"), (1520.5, "1520.5"), (1520, "1520"), ("1520", "1520")],
    ids=repr,
)
async def test_a_price_as_a_json_number_or_a_decimal_string_is_accepted(
    client: httpx.AsyncClient, price: object, stored: str
) -> None:
    response = await client.post("/api/v1/orders", json={**LIMIT, "price": price})
    assert response.status_code == 201, response.text
    assert Decimal(response.json()["price"]) == Decimal(stored)


async def test_a_number_a_float_would_round_must_be_sent_as_a_string(
    world: World, client: httpx.AsyncClient
) -> None:
    body = with_literal({**LIMIT, "price": HOLE}, "1520.5000000000000001")
    error = refused(await client.post("/api/v1/orders", **raw(body)))
    assert "decimal string" in error["message"]
    nothing_sent(world)


@pytest.mark.parametrize(
    "tag",
    ["a" * 21, "ok\n", "ok\nX-Injected: 1", "with space", "dash-ed", "ünï", "", "a.b"],
    ids=repr,
)
async def test_a_tag_follows_kites_rule(world: World, client: httpx.AsyncClient, tag: str) -> None:
    refused(await client.post("/api/v1/orders", json={**LIMIT, "tag": tag}), "tag")
    nothing_sent(world)


async def test_a_twenty_character_alphanumeric_tag_is_kept(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/orders", json={**LIMIT, "tag": "Strat01" + "x" * 13})
    assert response.status_code == 201, response.text
    assert response.json()["tag"] == "Strat01" + "x" * 13


# C: a JSON body means one thing: no repeated keys, no non-finite numbers.


async def test_a_repeated_key_in_an_order_is_refused(
    world: World, client: httpx.AsyncClient
) -> None:
    text = json.dumps(LIMIT)[:-1] + ', "quantity": 100000}'
    refused(await client.post("/api/v1/orders", **raw(text)), "quantity")
    nothing_sent(world)


async def test_a_repeated_key_inside_a_basket_leg_is_refused(
    world: World, client: httpx.AsyncClient
) -> None:
    order = json.dumps({"order": TERMS})[:-1]
    text = order + ', "legs": [{"account_id": "PAPER1", "multiplier": 1, "multiplier": 1000}]}'
    refused(await client.post("/api/v1/baskets", **raw(text)), "multiplier")
    nothing_sent(world)


async def test_a_repeated_key_in_a_modification_is_refused(
    world: World, client: httpx.AsyncClient, working: Order
) -> None:
    url = f"/api/v1/orders/{working.order_id}"
    refused(await client.patch(url, **raw('{"quantity": 5, "quantity": 500000}')), "quantity")
    assert world.broker.calls["modify_order"] == 0


async def test_a_repeated_key_in_a_postback_is_refused(
    world: World, client: httpx.AsyncClient, working: Order
) -> None:
    assert working.broker_order_id is not None
    stamp = "2026-11-30 10:15:00"
    signed = {
        "user_id": working.account_id,
        "order_id": working.broker_order_id,
        "order_timestamp": stamp,
        "checksum": postback_checksum(working.broker_order_id, stamp, "paper-secret"),
        "status": "OPEN",
        "tag": working.tag,
    }
    text = json.dumps(signed)[:-1] + ', "status": "COMPLETE", "filled_quantity": 10}'
    for content_type in ("application/json", "text/plain"):
        reply = await client.post(
            "/api/v1/broker/postback", content=text, headers={"Content-Type": content_type}
        )
        assert reply.status_code == 401, reply.text  # the route refuses every unverified body
    after = await world.services.orders.get_order(world.trader, working.order_id)
    assert (after.status, after.filled_quantity) == (OrderStatus.OPEN, 0)


PLACES = {
    "place.price": ("POST", "/api/v1/orders", {**LIMIT, "price": HOLE}),
    "place.trigger_price": (
        "POST",
        "/api/v1/orders",
        {**LIMIT, "order_type": "SL", "trigger_price": HOLE},
    ),
    "place.quantity": ("POST", "/api/v1/orders", {**LIMIT, "quantity": HOLE}),
    "place.market_protection": ("POST", "/api/v1/orders", {**LIMIT, "market_protection": HOLE}),
    "modify.price": ("PATCH", "/api/v1/orders/{order_id}", {"price": HOLE}),
    "modify.quantity": ("PATCH", "/api/v1/orders/{order_id}", {"quantity": HOLE}),
    "basket.price": (
        "POST",
        "/api/v1/baskets",
        {"order": {**TERMS, "price": HOLE}, "legs": [{"account_id": "PAPER1"}]},
    ),
    "basket.multiplier": (
        "POST",
        "/api/v1/baskets",
        {"order": TERMS, "legs": [{"account_id": "PAPER1", "multiplier": HOLE}]},
    ),
}


@pytest.mark.parametrize("literal", NON_FINITE)
@pytest.mark.parametrize("place", list(PLACES))
async def test_a_non_finite_number_is_refused_everywhere_a_number_enters(
    world: World, client: httpx.AsyncClient, working: Order, place: str, literal: str
) -> None:
    method, url, body = PLACES[place]
    orders_before = len(world.store.orders)
    world.broker.calls.clear()
    response = await client.request(
        method, url.format(order_id=working.order_id), **raw(with_literal(body, literal))
    )
    refused(response)
    nothing_sent(world, orders_before)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/v1/orders", ["GET", "POST"]),
        ("POST", "/api/v1/orders/01JNOSUCHORDER000000000000", ["DELETE", "GET", "PATCH"]),
        ("PATCH", "/api/v1/accounts", ["GET", "POST"]),
    ],
)
async def test_a_method_a_route_does_not_take_is_405_naming_the_ones_it_does(
    client: httpx.AsyncClient, method: str, path: str, allowed: list[str]
) -> None:
    response = await client.request(method, path)
    assert response.status_code == 405
    assert sorted(m.strip() for m in response.headers["Allow"].split(",")) == allowed
    error = response.json()["error"]
    assert error["code"] == "INVALID_INPUT"
    assert sorted(error["details"]["allowed"]) == allowed
