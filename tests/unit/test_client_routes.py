"""The client has a method for every route of the API a program calls."""

from __future__ import annotations

import re
from datetime import date

import httpx
import pytest

from order_service.client import OrderServiceClient
from order_service.entrypoints.api.app import create_app
from tests.unit.conftest import World

# Routes for a browser, a charting tool's alert or the broker, not for a program holding an API
# key (an alert's token is its credential).
NOT_FOR_PROGRAMS = {
    ("POST", "/api/v1/signals/{token}"),
    ("GET", "/api/v1/accounts/login/callback"),
    ("GET", "/api/v1/accounts/{account_id}/login"),
    ("POST", "/api/v1/broker/postback"),
}
SSE = b'id: 1\ndata: {"sequence": 1}\n\n'


def _answer(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/stream"):
        return httpx.Response(200, content=SSE, headers={"content-type": "text/event-stream"})
    return httpx.Response(200, json={})


def _call_everything(client: OrderServiceClient) -> None:
    day = date(2026, 1, 5)
    client.place_order("PAPER1", "NSE", "INFY", "BUY", 1, "CNC", "LIMIT", price="1450.00")
    client.get_order("o1")
    client.list_orders(account_id="PAPER1", status="OPEN", limit=10)
    client.modify_order("o1", price="1460.00")
    client.cancel_order("o1")
    client.order_events("o1")
    client.place_basket({"exchange": "NSE"}, [{"account_id": "PAPER1", "multiplier": 2}])
    client.event_page(after=3, types=["order.*"])
    next(client.events(after=0))
    client.list_accounts()
    client.add_account("AB1234", "kite-key", "kite-secret", name="mine")
    client.get_account("PAPER1")
    client.remove_account("AB1234")
    client.grant_access("PAPER1", "u2")
    client.revoke_access("PAPER1", "u2")
    client.margins("PAPER1")
    client.order_margins("PAPER1", [{"exchange": "NSE"}])
    client.search_instruments("NIFTY", exchange="NFO", expiry=day, limit=10)
    client.quotes("PAPER1", ["NSE:INFY", "NSE:TCS"])
    client.ltp("PAPER1", ["NSE:INFY"])
    client.historical("PAPER1", "NSE", "INFY", "day", day, day, oi=True)
    client.ohlc("PAPER1", ["NSE:INFY"])
    client.basket_margins("PAPER1", [{"exchange": "NSE"}], consider_positions=False)
    client.order_charges("PAPER1", [{"exchange": "NSE", "average_price": "1450.00"}])
    client.login_link("PAPER1")
    client.emergency_stop("PAPER1")
    client.list_strategies(account_id="PAPER1")
    client.create_strategy("PAPER1", "momentum")
    client.get_strategy("s1")
    client.update_strategy("s1", name="momentum-2")
    client.delete_strategy("s1")
    client.account_risk_limits("PAPER1")
    client.set_account_risk_limits("PAPER1", max_order_value="100000")
    client.strategy_risk_limits("s1")
    client.set_strategy_risk_limits("s1", max_quantity=10)
    client.list_portfolios()
    client.create_portfolio("core")
    client.get_portfolio("p1")
    client.update_portfolio("p1", archived=True)
    client.delete_portfolio("p1")
    client.attach_strategy("p1", "s1")
    client.detach_strategy("p1", "s1")
    client.positions(account_id="PAPER1", group_by="strategy", day=day)
    client.close_positions("PAPER1", exchange="NSE", tradingsymbol="INFY", product="MIS")
    client.holdings()
    client.trades(start=day, end=day)
    client.trades_csv(start=day)
    client.pnl(group_by="strategy", method="fifo", start=day, end=day)
    client.pnl_csv(group_by="account")
    client.engage_kill_switch(account_id="PAPER1", flatten=True)
    client.request_handoff("PAPER1", "to_script", strategy_id="s1", force=True)
    client.get_handoff("h1")
    client.list_attribution_cases(account_id="PAPER1", status="open", limit=5)
    client.get_attribution_case("c1")
    client.assign_attribution_case("c1", "u1")
    client.resolve_attribution_case("c1", {"s1": 3, "s2": 2})
    client.apply_attribution_case("c1")
    client.create_signal_token("s1", exchange="NSE", product="MIS", order_type="MARKET")
    client.list_signal_tokens("s1")
    client.revoke_signal_token("s1", "t1")
    client.release_kill_switch(account_id="PAPER1")
    client.kill_switches()
    client.create_webhook("https://example.com/hook")
    client.list_webhooks()
    client.get_webhook("w1")
    client.delete_webhook("w1")
    client.webhook_deliveries("w1", limit=5)
    client.webhook_events("w1")
    client.retry_delivery("w1", "d1")
    client.create_key()
    client.list_keys()
    client.revoke_key("k1")


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)))


@pytest.mark.asyncio
async def test_every_api_route_has_a_client_method(world: World) -> None:
    paths = create_app(world.services).openapi()["paths"]
    every = {
        (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith("/api/v1/")
        for method in operations
    }
    assert len(every) > 50
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return _answer(request)

    client = OrderServiceClient("http://t", "k", transport=httpx.MockTransport(record))
    _call_everything(client)
    reached = {
        (method, path)
        for request in sent
        for method, path in every
        if method == request.method and _pattern(path).fullmatch(request.url.path)
    }
    assert every - reached == NOT_FOR_PROGRAMS
    assert all(r.headers["Authorization"] == "Bearer k" for r in sent)
