"""Alerts from charting tools: a strategy's token places its SCRIPT orders, each alert once."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest
import pytest_asyncio
from prometheus_client import REGISTRY

from order_service.domain.ids import AccountId, StrategyId
from order_service.domain.order import OrderOrigin
from order_service.domain.signal import SIGNAL_RECEIVED, SIGNAL_REJECTED
from order_service.entrypoints.api.app import create_app
from order_service.entrypoints.api.routes.signals import MAX_SIGNAL_BYTES
from tests.unit.answers import body, refused
from tests.unit.conftest import OTHER_ACCOUNT, World, add_trader, api_client

pytestmark = pytest.mark.asyncio

MARKET_UP_TO_10 = {"exchange": "NSE", "product": "MIS", "order_type": "MARKET", "max_quantity": 10}
TRADINGVIEW = {"action": "buy", "ticker": "INFY", "quantity": 2, "price": "1520.5", "id": "tv-1"}
AMIBROKER = {"action": "SELL", "symbol": "NSE:SBIN", "qty": "5", "id": "ab-7"}
CHARTINK = {
    "stocks": "INFY,TCS",
    "trigger_prices": "1520.5,3900.1",
    "triggered_at": "2:34 pm",
    "scan_name": "Breakout",
    "scan_url": "breakout",
    "alert_name": "Alert for Breakout",
}


@pytest_asyncio.fixture
async def momentum(world: World) -> StrategyId:
    created = await world.services.strategies.create_strategy(
        world.trader, AccountId("PAPER1"), "momentum"
    )
    return created.strategy_id


async def issue(api: httpx.AsyncClient, strategy_id: str, **template: Any) -> dict[str, Any]:
    answer = await api.post(f"/api/v1/strategies/{strategy_id}/signal-tokens", json=template)
    created: dict[str, Any] = body(answer, 201)
    return created


@pytest_asyncio.fixture
async def token(trader_api: httpx.AsyncClient, momentum: StrategyId) -> str:
    created = await issue(trader_api, momentum, **MARKET_UP_TO_10)
    assert created["url"] == f"/api/v1/signals/{created['token']}"
    return str(created["token"])


def _signals_counted(outcome: str) -> float:
    return REGISTRY.get_sample_value("order_service_signals_total", {"outcome": outcome}) or 0.0


def events_named(world: World, name: str) -> list[dict[str, Any]]:
    return [e.data for e in world.store.account_events if e.name == name]


async def test_a_tradingview_alert_places_the_strategys_script_order(
    world: World, anonymous_api: httpx.AsyncClient, token: str, momentum: StrategyId
) -> None:
    answer = body(await anonymous_api.post(f"/api/v1/signals/{token}", json=TRADINGVIEW), 201)

    assert answer["source"] == "alert"
    assert answer["repeats"] == [False]
    (order,) = answer["orders"]
    assert (order["account_id"], order["strategy_id"], order["origin"]) == (
        "PAPER1",
        momentum,
        "script",
    )
    assert (order["tradingsymbol"], order["transaction_type"], order["quantity"]) == (
        "INFY",
        "BUY",
        2,
    )
    assert order["order_type"] == "MARKET"
    assert order["price"] is None  # a MARKET template ignores the alert's price
    assert world.store.orders[order["order_id"]].origin is OrderOrigin.SCRIPT
    assert world.broker.calls["place_order"] == 1


async def test_a_repeated_alert_places_nothing_new(
    world: World, anonymous_api: httpx.AsyncClient, token: str
) -> None:
    repeats = _signals_counted("repeat")
    first = body(await anonymous_api.post(f"/api/v1/signals/{token}", json=TRADINGVIEW), 201)
    again = body(await anonymous_api.post(f"/api/v1/signals/{token}", json=TRADINGVIEW), 200)

    assert _signals_counted("repeat") == repeats + 1

    assert again["repeats"] == [True]
    assert again["orders"][0]["order_id"] == first["orders"][0]["order_id"]
    assert len(world.store.orders) == 1
    assert world.broker.calls["place_order"] == 1


async def test_an_amibroker_alert_places_its_order(
    world: World, anonymous_api: httpx.AsyncClient, token: str
) -> None:
    answer = body(await anonymous_api.post(f"/api/v1/signals/{token}", json=AMIBROKER), 201)

    (order,) = answer["orders"]
    assert (order["tradingsymbol"], order["transaction_type"], order["quantity"]) == (
        "SBIN",
        "SELL",
        5,
    )
    assert world.broker.calls["place_order"] == 1


async def test_a_chartink_alert_places_one_order_per_stock_once(
    world: World,
    trader_api: httpx.AsyncClient,
    anonymous_api: httpx.AsyncClient,
    momentum: StrategyId,
) -> None:
    template = {"transaction_type": "BUY", "quantity": 3, "order_type": "LIMIT"}
    created = await issue(trader_api, momentum, exchange="NSE", product="MIS", **template)
    url = f"/api/v1/signals/{created['token']}"

    answer = body(await anonymous_api.post(url, json=CHARTINK), 201)
    again = body(await anonymous_api.post(url, json=CHARTINK), 200)

    assert answer["source"] == "chartink"
    placed = [(o["tradingsymbol"], o["transaction_type"], o["quantity"], o["price"]) for o in
              answer["orders"]]  # fmt: skip
    assert placed == [("INFY", "BUY", 3, "1520.5"), ("TCS", "BUY", 3, "3900.1")]
    assert again["repeats"] == [True, True]
    assert world.broker.calls["place_order"] == 2


async def test_an_alert_without_an_id_is_known_by_its_fields(
    world: World, anonymous_api: httpx.AsyncClient, token: str
) -> None:
    alert = {"action": "buy", "ticker": "INFY", "quantity": 1, "time": "2026-12-01T09:30:00Z"}
    url = f"/api/v1/signals/{token}"

    body(await anonymous_api.post(url, json=alert), 201)
    body(await anonymous_api.post(url, json=alert), 200)
    body(await anonymous_api.post(url, json={**alert, "time": "2026-12-01T09:35:00Z"}), 201)

    assert world.broker.calls["place_order"] == 2


async def test_the_same_alert_id_with_other_terms_is_an_idempotency_conflict(
    world: World, anonymous_api: httpx.AsyncClient, token: str
) -> None:
    url = f"/api/v1/signals/{token}"
    body(await anonymous_api.post(url, json=TRADINGVIEW), 201)

    refused(
        await anonymous_api.post(url, json={**TRADINGVIEW, "quantity": 3}),
        409,
        "IDEMPOTENCY_CONFLICT",
    )
    assert world.broker.calls["place_order"] == 1


async def test_every_signal_and_its_outcome_is_an_event(
    world: World, anonymous_api: httpx.AsyncClient, token: str, momentum: StrategyId
) -> None:
    placed = body(await anonymous_api.post(f"/api/v1/signals/{token}", json=TRADINGVIEW), 201)
    await anonymous_api.post(f"/api/v1/signals/{token}", json={**TRADINGVIEW, "action": "hold"})

    order_id = placed["orders"][0]["order_id"]
    (received,) = events_named(world, SIGNAL_RECEIVED)
    assert received["strategy_id"] == momentum
    assert received["source"] == "alert"
    assert [(o["order_id"], o["repeat"]) for o in received["orders"]] == [(order_id, False)]
    (rejected,) = events_named(world, SIGNAL_REJECTED)
    assert (rejected["code"], rejected["field"]) == ("INVALID_INPUT", "action")
    assert {e.name for e in world.store.events if e.order_id == order_id} >= {"OrderRequested"}


async def test_an_unknown_or_revoked_token_is_the_same_404(
    world: World,
    trader_api: httpx.AsyncClient,
    anonymous_api: httpx.AsyncClient,
    momentum: StrategyId,
) -> None:
    created = await issue(trader_api, momentum, **MARKET_UP_TO_10)
    url = f"/api/v1/signals/{created['token']}"
    revoked = await trader_api.delete(
        f"/api/v1/strategies/{momentum}/signal-tokens/{created['token_id']}"
    )
    assert revoked.status_code == 204

    gone = refused(await anonymous_api.post(url, json=TRADINGVIEW), 404, "NOT_FOUND")
    unknown = refused(
        await anonymous_api.post("/api/v1/signals/sig_nosuch", json=TRADINGVIEW), 404, "NOT_FOUND"
    )

    assert gone["message"] == unknown["message"]
    assert world.broker.calls["place_order"] == 0
    listed = body(await trader_api.get(f"/api/v1/strategies/{momentum}/signal-tokens"))
    assert [t["revoked_at"] is not None for t in listed] == [True]
    again = await trader_api.delete(
        f"/api/v1/strategies/{momentum}/signal-tokens/{created['token_id']}"
    )
    refused(again, 404, "NOT_FOUND")


async def test_tokens_are_listed_without_their_secrets(
    trader_api: httpx.AsyncClient, token: str, momentum: StrategyId
) -> None:
    listed = body(await trader_api.get(f"/api/v1/strategies/{momentum}/signal-tokens"))

    (only,) = listed
    assert "token" not in only
    assert "url" not in only
    assert token not in str(listed)
    assert only["template"]["max_quantity"] == 10


async def test_a_token_is_stored_hashed_and_found_by_its_hash_alone(
    world: World, anonymous_api: httpx.AsyncClient, token: str
) -> None:
    ((stored, token_hash),) = world.store.signal_tokens.values()
    assert token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(stored)

    near = token[:-1] + ("A" if token[-1] != "A" else "B")
    refused(await anonymous_api.post(f"/api/v1/signals/{near}", json=TRADINGVIEW), 404, "NOT_FOUND")
    refused(await anonymous_api.post(f"/api/v1/signals/{token[:-4]}", json=TRADINGVIEW), 404,
            "NOT_FOUND")  # fmt: skip
    assert world.broker.calls["place_order"] == 0


@pytest.mark.parametrize(
    ("alert", "field"),
    [
        ({**TRADINGVIEW, "action": "hold"}, "action"),
        ({**TRADINGVIEW, "quantity": "NaN"}, "quantity"),
        ({**TRADINGVIEW, "quantity": "Infinity"}, "quantity"),
        ({**TRADINGVIEW, "quantity": "-Infinity"}, "quantity"),
        ({**TRADINGVIEW, "quantity": 1.5}, "quantity"),
        ({**TRADINGVIEW, "quantity": 0}, "quantity"),
        ({**TRADINGVIEW, "quantity": True}, "quantity"),
        ({**TRADINGVIEW, "quantity": 11}, "quantity"),  # over the template's max_quantity
        ({**TRADINGVIEW, "price": "NaN"}, "price"),
        ({**TRADINGVIEW, "ticker": "IN FY"}, "ticker"),
        ({**TRADINGVIEW, "ticker": None, "symbol": None}, "ticker"),
        ({**TRADINGVIEW, "action": None}, "action"),
        ({**TRADINGVIEW, "quantity": None}, "quantity"),
        ({**TRADINGVIEW, "id": {"nested": 1}}, "id"),
        ({**TRADINGVIEW, "id": "x" * 200}, "id"),
        ({**CHARTINK, "stocks": ""}, "stocks"),
        ({**CHARTINK, "stocks": ["INFY"]}, "stocks"),
        ({**CHARTINK, "trigger_prices": "1520.5"}, "trigger_prices"),
    ],
)
async def test_a_bad_alert_is_invalid_input_saying_what_was_wrong(
    world: World, anonymous_api: httpx.AsyncClient, token: str, alert: dict[str, Any], field: str
) -> None:
    answer = await anonymous_api.post(f"/api/v1/signals/{token}", json=alert)

    assert refused(answer, 422, "INVALID_INPUT")["details"]["field"] == field
    assert world.broker.calls["place_order"] == 0
    assert [e["field"] for e in events_named(world, SIGNAL_REJECTED)] == [field]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"action": "buy", "ticker": "INFY", "quantity": NaN}',
        b'{"action": "buy", "ticker": "INFY", "quantity": Infinity}',
        b'{"action": "buy", "ticker": "INFY", "quantity": 1e400}',
        b'{"action": "buy", "action": "sell", "ticker": "INFY", "quantity": 1}',
        b"not json",
        b"[1, 2]",
    ],
)
async def test_an_alert_that_is_not_strict_json_is_invalid_input(
    world: World, anonymous_api: httpx.AsyncClient, token: str, raw: bytes
) -> None:
    answer = await anonymous_api.post(
        f"/api/v1/signals/{token}", content=raw, headers={"Content-Type": "application/json"}
    )

    refused(answer, 422, "INVALID_INPUT")
    assert world.broker.calls["place_order"] == 0
    assert len(events_named(world, SIGNAL_REJECTED)) == 1


async def test_a_large_alert_is_refused_unread(
    world: World, anonymous_api: httpx.AsyncClient, token: str
) -> None:
    padded = {**TRADINGVIEW, "note": "x" * MAX_SIGNAL_BYTES}

    answer = await anonymous_api.post(f"/api/v1/signals/{token}", json=padded)

    refused(answer, 413, "PAYLOAD_TOO_LARGE")
    assert world.broker.calls["place_order"] == 0


async def test_an_alert_cannot_leave_its_templates_symbol_or_side(
    world: World,
    trader_api: httpx.AsyncClient,
    anonymous_api: httpx.AsyncClient,
    momentum: StrategyId,
) -> None:
    fixed = {"tradingsymbol": "infy", "transaction_type": "BUY", "quantity": 1}
    created = await issue(trader_api, momentum, exchange="NSE", product="CNC", **fixed)
    url = f"/api/v1/signals/{created['token']}"

    other_symbol = await anonymous_api.post(url, json={**TRADINGVIEW, "ticker": "TCS"})
    other_side = await anonymous_api.post(url, json={**TRADINGVIEW, "action": "sell"})
    bare = body(await anonymous_api.post(url, json={"id": "bare-1", "quantity": 9}), 201)

    assert refused(other_symbol, 422, "INVALID_INPUT")["details"]["field"] == "ticker"
    assert refused(other_side, 422, "INVALID_INPUT")["details"]["field"] == "action"
    (order,) = bare["orders"]
    assert (order["tradingsymbol"], order["transaction_type"], order["quantity"]) == (
        "INFY",
        "BUY",
        1,  # the template's fixed quantity, not the alert's
    )


async def test_a_token_places_only_into_its_own_strategys_account(
    world: World,
    trader_api: httpx.AsyncClient,
    anonymous_api: httpx.AsyncClient,
    momentum: StrategyId,
) -> None:
    outsider, key = await add_trader(world.services, "outsider", OTHER_ACCOUNT)
    theirs = await world.services.strategies.create_strategy(outsider, OTHER_ACCOUNT, "theirs")
    async with api_client(create_app(world.services), key) as outsider_api:
        created = await issue(outsider_api, theirs.strategy_id, **MARKET_UP_TO_10)
        stolen = await outsider_api.post(
            f"/api/v1/strategies/{momentum}/signal-tokens", json=MARKET_UP_TO_10
        )
    aimed = {**TRADINGVIEW, "account_id": "PAPER1", "strategy_id": momentum}

    answer = body(await anonymous_api.post(f"/api/v1/signals/{created['token']}", json=aimed), 201)

    (order,) = answer["orders"]
    assert (order["account_id"], order["strategy_id"]) == (OTHER_ACCOUNT, theirs.strategy_id)
    refused(stolen, 404, "NOT_FOUND")
    listed = await trader_api.get(f"/api/v1/strategies/{theirs.strategy_id}/signal-tokens")
    refused(listed, 404, "NOT_FOUND")


async def test_a_strategy_under_manual_control_takes_no_alert(
    world: World, trader_api: httpx.AsyncClient, anonymous_api: httpx.AsyncClient
) -> None:
    (default,) = [s for s in world.store.strategies.values() if s.is_default]
    created = await issue(trader_api, default.strategy_id, **MARKET_UP_TO_10)

    answer = await anonymous_api.post(f"/api/v1/signals/{created['token']}", json=TRADINGVIEW)

    refused(answer, 409, "OWNERSHIP_CONFLICT")
    assert world.broker.calls["place_order"] == 0
    (rejected,) = events_named(world, SIGNAL_REJECTED)
    assert (rejected["code"], rejected["orders"]) == ("OWNERSHIP_CONFLICT", [])


async def test_a_scripts_key_cannot_issue_signal_tokens(
    world: World, trader_api: httpx.AsyncClient, momentum: StrategyId
) -> None:
    issued = body(await trader_api.post("/api/v1/keys", json={"strategy_id": momentum}), 201)
    async with api_client(create_app(world.services), issued["key"]) as script_api:
        answer = await script_api.post(
            f"/api/v1/strategies/{momentum}/signal-tokens", json=MARKET_UP_TO_10
        )

    refused(answer, 403, "FORBIDDEN")
    assert world.store.signal_tokens == {}


async def test_signal_tokens_need_a_bearer(
    anonymous_api: httpx.AsyncClient, momentum: StrategyId
) -> None:
    answer = await anonymous_api.post(
        f"/api/v1/strategies/{momentum}/signal-tokens", json=MARKET_UP_TO_10
    )

    refused(answer, 401, "UNAUTHENTICATED")


@pytest.mark.parametrize(
    ("template", "field"),
    [
        ({"exchange": "NSE", "product": "MIS"}, "quantity"),
        ({"exchange": "NSE", "product": "MIS", "quantity": 1, "max_quantity": 5}, "quantity"),
        ({**MARKET_UP_TO_10, "order_type": "SL"}, "order_type"),
        ({**MARKET_UP_TO_10, "max_quantity": 0}, "max_quantity"),
        ({**MARKET_UP_TO_10, "account_id": "PAPER2"}, "account_id"),
    ],
)
async def test_a_bad_template_is_invalid_input(
    world: World,
    trader_api: httpx.AsyncClient,
    momentum: StrategyId,
    template: dict[str, Any],
    field: str,
) -> None:
    answer = await trader_api.post(f"/api/v1/strategies/{momentum}/signal-tokens", json=template)

    error = refused(answer, 422, "INVALID_INPUT")
    assert field in str(error["details"])
    assert world.store.signal_tokens == {}


async def test_an_archived_strategy_takes_no_alert_and_no_new_token(
    world: World,
    trader_api: httpx.AsyncClient,
    anonymous_api: httpx.AsyncClient,
    token: str,
    momentum: StrategyId,
) -> None:
    body(await trader_api.patch(f"/api/v1/strategies/{momentum}", json={"archived": True}))

    alert = await anonymous_api.post(f"/api/v1/signals/{token}", json=TRADINGVIEW)
    issued = await trader_api.post(
        f"/api/v1/strategies/{momentum}/signal-tokens", json=MARKET_UP_TO_10
    )

    assert refused(alert, 409, "CONFLICT")["details"]["reason"] == "archived"
    assert refused(issued, 409, "CONFLICT")["details"]["reason"] == "archived"
    assert world.broker.calls["place_order"] == 0
    assert [e["code"] for e in events_named(world, SIGNAL_REJECTED)] == ["CONFLICT"]
