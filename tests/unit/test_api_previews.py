"""Previews through the API: what orders would block and cost, asked of the broker without
placing anything; for the caller's accounts only, and nothing sent that no placement would."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from order_service.domain.account import SessionState
from order_service.domain.instrument import Instrument
from order_service.entrypoints.api.app import create_app
from order_service.errors import AuthenticationError, DataFormatError, OrderRejected, RateLimitError
from tests.factories import ACCOUNT, OTHER_ACCOUNT
from tests.unit.answers import body, refused
from tests.unit.conftest import World, add_trader, api_client

pytestmark = pytest.mark.asyncio
LIMIT = {
    "exchange": "NSE",
    "tradingsymbol": "INFY",
    "transaction_type": "BUY",
    "quantity": 10,
    "product": "MIS",
    "order_type": "LIMIT",
    "price": "1500.05",
}
MARKET = {**LIMIT, "order_type": "MARKET", "quantity": 2}
del MARKET["price"]
PREVIEWS = ("order_margins", "basket_margins", "contract_note")


def asked(orders: list[dict[str, Any]], account: str = "PAPER1") -> dict[str, Any]:
    return {"account_id": account, "orders": orders}


def priced(*orders: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**order, "average_price": "1500.05"} for order in orders]


def calls(world: World) -> int:
    return sum(world.broker.calls[name] for name in PREVIEWS)


async def test_order_margins_are_each_orders_exactly_and_nothing_is_placed(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    answer = body(await trader_api.post("/api/v1/margins/orders", json=asked([LIMIT, MARKET])))

    limit, market = answer["orders"]
    assert Decimal(limit["total"]) == Decimal("15000.50")  # the fake's price x quantity
    assert Decimal(market["total"]) == Decimal("3000")  # at the fake's last price
    assert Decimal(answer["total"]) == Decimal("18000.50")
    assert (limit["tradingsymbol"], limit["type"]) == ("INFY", "equity")
    assert Decimal(limit["charges"]["brokerage"]) == Decimal(20)
    assert world.broker.calls["place_order"] == 0
    assert world.store.orders == {}


async def test_a_basket_shows_what_its_hedges_save(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    world.broker.hedge_benefit = Decimal("2500.25")
    sell = {**LIMIT, "transaction_type": "SELL"}

    answer = body(await trader_api.post("/api/v1/margins/basket", json=asked([LIMIT, sell])))

    assert Decimal(answer["initial"]["total"]) == Decimal("30001.00")
    assert Decimal(answer["final"]["total"]) == Decimal("27500.75")
    assert Decimal(answer["hedge_benefit"]) == Decimal("2500.25")
    assert len(answer["orders"]) == 2


async def test_the_contract_note_costs_each_order_at_its_price(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    answer = body(await trader_api.post("/api/v1/charges/orders", json=asked(priced(LIMIT))))

    (line,) = answer["orders"]
    assert (line["quantity"], Decimal(line["price"])) == (10, Decimal("1500.05"))
    assert Decimal(line["charges"]["total"]) == Decimal(answer["total"]) == Decimal(20)


async def test_an_order_no_placement_would_send_is_refused_without_a_broker_call(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    no_price = {**LIMIT}
    del no_price["price"]
    cases = [
        ("/api/v1/margins/orders", asked([no_price])),  # a LIMIT without its price
        ("/api/v1/margins/orders", asked([{**LIMIT, "quantity": 0}])),
        ("/api/v1/margins/orders", asked([{**LIMIT, "price": "NaN"}])),
        ("/api/v1/margins/orders", asked([])),
        ("/api/v1/margins/orders", asked([LIMIT] * 51)),  # more than one request may ask
        ("/api/v1/margins/basket", {**asked([LIMIT]), "consider_positions": "yes"}),
        ("/api/v1/charges/orders", asked([LIMIT])),  # no average price
        ("/api/v1/charges/orders", asked(priced({**LIMIT, "iceberg_legs": 2}))),
    ]
    for path, sent in cases:
        refused(await trader_api.post(path, json=sent), 422, "INVALID_INPUT")
    assert calls(world) == 0


async def test_an_instrument_the_master_lacks_is_an_invalid_symbol(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    world.broker.instrument_list = [
        Instrument("NSE", "INFY", 408065, "INFOSYS", "EQ", "NSE", Decimal("0.05"), 1)
    ]
    assert await world.services.instruments.refresh_if_due() == 1
    unknown = {**LIMIT, "tradingsymbol": "NOSUCHCO"}

    for path, sent in (
        ("/api/v1/margins/orders", asked([LIMIT, unknown])),
        ("/api/v1/margins/basket", asked([unknown])),
        ("/api/v1/charges/orders", asked(priced(unknown))),
    ):
        error = refused(await trader_api.post(path, json=sent), 422, "INVALID_SYMBOL")
        assert error["details"]["tradingsymbol"] == "NOSUCHCO"
    assert calls(world) == 0


async def test_another_users_account_is_not_found_and_costs_no_broker_call(
    world: World,
) -> None:
    _, key = await add_trader(world.services, "outsider", OTHER_ACCOUNT)
    async with api_client(create_app(world.services), key) as theirs:
        for path, sent in (
            ("/api/v1/margins/orders", asked([LIMIT])),
            ("/api/v1/margins/basket", asked([LIMIT])),
            ("/api/v1/charges/orders", asked(priced(LIMIT))),
        ):
            refused(await theirs.post(path, json=sent), 404, "NOT_FOUND")
            refused(
                await theirs.post(path, json={**sent, "account_id": "NOSUCH1"}), 404, "NOT_FOUND"
            )
    assert calls(world) == 0


async def test_without_credentials_nothing_is_answered(anonymous_api: httpx.AsyncClient) -> None:
    answer = await anonymous_api.post("/api/v1/margins/orders", json=asked([LIMIT]))
    refused(answer, 401, "UNAUTHENTICATED")


async def test_an_account_that_must_log_in_is_told_so_before_any_broker_call(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    world.clock.advance(24 * 3600)  # past 06:00 IST: the day's token has expired

    answer = await trader_api.post("/api/v1/margins/orders", json=asked([LIMIT]))

    error = refused(answer, 409, "BROKER_SESSION_EXPIRED")
    assert error["details"]["session_state"] == "login_required"
    assert calls(world) == 0


async def test_the_brokers_refusals_and_failures_keep_their_codes(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    for failure, status, code in (
        (OrderRejected("Invalid `tradingsymbol`"), 422, "ORDER_REJECTED"),
        (RateLimitError(), 429, "RATE_LIMITED"),
        (DataFormatError("the broker sent margins we cannot parse"), 502, "BAD_UPSTREAM_DATA"),
    ):
        world.broker.fail_next("order_margins", failure)
        answer = await trader_api.post("/api/v1/margins/orders", json=asked([LIMIT]))
        refused(answer, status, code)


@pytest.mark.parametrize(
    ("name", "path", "sent"),
    [
        ("order_margins", "/api/v1/margins/orders", asked([LIMIT])),
        ("basket_margins", "/api/v1/margins/basket", asked([LIMIT])),
        ("contract_note", "/api/v1/charges/orders", asked(priced(LIMIT))),
    ],
)
async def test_a_token_the_broker_refuses_moves_the_account_to_login_required(
    world: World, trader_api: httpx.AsyncClient, name: str, path: str, sent: dict[str, Any]
) -> None:
    assert world.store.accounts[ACCOUNT].session_state is SessionState.ACTIVE
    world.broker.fail_next(name, AuthenticationError())

    refused(await trader_api.post(path, json=sent), 409, "BROKER_SESSION_EXPIRED")

    assert world.store.accounts[ACCOUNT].session_state is SessionState.LOGIN_REQUIRED


async def test_a_price_no_json_number_holds_is_refused_before_sending(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    long = "999999999.99999999"  # more significant digits than a float keeps
    for path, sent, field in (
        ("/api/v1/margins/orders", asked([{**LIMIT, "price": long}]), "price"),
        ("/api/v1/margins/basket", asked([{**LIMIT, "price": long}]), "price"),
        ("/api/v1/charges/orders", asked([{**LIMIT, "average_price": long}]), "average_price"),
    ):
        error = refused(await trader_api.post(path, json=sent), 422, "INVALID_INPUT")
        assert error["details"]["field"] == field
    assert calls(world) == 0
