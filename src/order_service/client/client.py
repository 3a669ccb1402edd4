"""``OrderServiceClient``: every route of the order service's API as a typed method (sync)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

import httpx

from order_service.client.decoding import outgoing
from order_service.client.errors import ClientError
from order_service.client.stream import EventStream
from order_service.client.transport import RetryPolicy, decode, send
from order_service.client.types import (
    Account,
    ApiKey,
    FeedPage,
    JSONObject,
    LoginLink,
    Order,
    OrderEvent,
    OrderPage,
    Placement,
    RiskLimits,
)

Money = Decimal | int | str


def new_idempotency_key() -> str:
    """A fresh key for one logical order (32 hex characters; the service allows 64)."""
    return uuid.uuid4().hex


def _present(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


class OrderServiceClient:
    """A client of one order service, authenticated by an API key (or a JWT).

    ``retries`` is how often a request the service refused as retryable (429 ``RATE_LIMITED``,
    503 ``BROKER_UNAVAILABLE``/``SERVICE_UNAVAILABLE``/``DATABASE_UNAVAILABLE``) or that never
    reached it (connection refused) is sent again, waiting ``Retry-After`` when it is given and
    an exponential backoff otherwise. Reads, and placements (under their idempotency key), are
    also sent again when their answer was lost; other writes are not (read the order back).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        backoff: float = 0.25,
        max_retry_after: float = 60.0,
    ) -> None:
        policy = RetryPolicy(retries=retries, backoff=backoff, max_retry_after=max_retry_after)
        self.policy = (
            policy
            if sleep is None
            else RetryPolicy(
                retries=retries, backoff=backoff, max_retry_after=max_retry_after, sleep=sleep
            )
        )
        self._timeout = timeout
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OrderServiceClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- the plumbing -------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        resend_unanswered: bool | None = None,
    ) -> httpx.Response:
        content = None if body is None else httpx.Request("POST", "/", json=outgoing(body)).content
        sent_headers = dict(headers or {})
        if content is not None:
            sent_headers["Content-Type"] = "application/json"
        query = _present(params or {})

        def request() -> httpx.Response:
            return self._http.request(
                method, path, params=query, content=content, headers=sent_headers
            )

        again = method == "GET" if resend_unanswered is None else resend_unanswered
        return send(self.policy, request, resend_unanswered=again)

    def _json(self, method: str, path: str, **kw: Any) -> Any:
        return decode(self._call(method, path, **kw))

    def _none(self, method: str, path: str, **kw: Any) -> None:
        self._call(method, path, **kw)

    # -- orders -------------------------------------------------------------------------

    def place_order(
        self,
        account_id: str,
        exchange: str,
        tradingsymbol: str,
        transaction_type: str,
        quantity: int,
        product: str,
        order_type: str,
        *,
        price: Money | None = None,
        trigger_price: Money | None = None,
        validity: str | None = None,
        variety: str | None = None,
        strategy_id: str | None = None,
        disclosed_quantity: int | None = None,
        market_protection: Money | None = None,
        tag: str | None = None,
        idempotency_key: str | None = None,
        force: bool = False,
        **kite_fields: Any,
    ) -> Placement:
        """Place one order, exactly once: every retry of this call sends the same
        ``Idempotency-Key`` (a new one per call unless given). A 202 answer (the broker's
        answer was lost: ``placement.unknown``) is returned, never sent again.
        ``kite_fields`` takes Kite's other fields (``validity_ttl``, ``iceberg_legs``, …)."""
        key = idempotency_key or new_idempotency_key()
        body = _present(
            {
                "account_id": account_id,
                "exchange": exchange,
                "tradingsymbol": tradingsymbol,
                "transaction_type": transaction_type,
                "quantity": quantity,
                "product": product,
                "order_type": order_type,
                "price": price,
                "trigger_price": trigger_price,
                "validity": validity,
                "variety": variety,
                "strategy_id": strategy_id,
                "disclosed_quantity": disclosed_quantity,
                "market_protection": market_protection,
                "tag": tag,
                **kite_fields,
            }
        )
        if force:
            body["force"] = True
        try:
            response = self._call(
                "POST",
                "/api/v1/orders",
                body=body,
                headers={"Idempotency-Key": key},
                resend_unanswered=True,
            )
        except ClientError as exc:
            exc.idempotency_key = key  # the caller may try again later under the same key
            raise
        return Placement(cast(Order, decode(response)), response.status_code, key)

    def get_order(self, order_id: str) -> Order:
        return cast(Order, self._json("GET", f"/api/v1/orders/{_seg(order_id)}"))

    def list_orders(
        self,
        *,
        account_id: str | None = None,
        status: str | None = None,
        strategy_id: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> OrderPage:
        """One page, newest first; pass ``next_cursor`` back as ``cursor``."""
        params: dict[str, Any] = {"account_id": account_id, "status": status}
        params["strategy_id"] = strategy_id
        params |= {"cursor": cursor, "limit": limit}
        return cast(OrderPage, self._json("GET", "/api/v1/orders", params=params))

    def iter_orders(self, **filters: Any) -> Iterator[Order]:
        """Every order matching ``filters`` (as ``list_orders``), page after page."""
        cursor: str | None = None
        while True:
            page = self.list_orders(cursor=cursor, **filters)
            yield from page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return

    def modify_order(
        self,
        order_id: str,
        *,
        quantity: int | None = None,
        price: Money | None = None,
        trigger_price: Money | None = None,
        order_type: str | None = None,
        validity: str | None = None,
        disclosed_quantity: int | None = None,
        force: bool = False,
    ) -> Order:
        changes = _present(
            {
                "quantity": quantity,
                "price": price,
                "trigger_price": trigger_price,
                "order_type": order_type,
                "validity": validity,
                "disclosed_quantity": disclosed_quantity,
            }
        )
        if force:
            changes["force"] = True
        return cast(Order, self._json("PATCH", f"/api/v1/orders/{_seg(order_id)}", body=changes))

    def cancel_order(self, order_id: str) -> Order:
        return cast(Order, self._json("DELETE", f"/api/v1/orders/{_seg(order_id)}"))

    def order_events(self, order_id: str) -> list[OrderEvent]:
        path = f"/api/v1/orders/{_seg(order_id)}/events"
        return cast(list[OrderEvent], self._json("GET", path))

    # -- baskets ------------------------------------------------------------------------

    def place_basket(
        self,
        order: Mapping[str, Any],
        legs: Sequence[Mapping[str, Any]],
        *,
        basket_id: str | None = None,
    ) -> JSONObject:
        """One order on several accounts (``legs``: ``account_id``, ``multiplier``); the
        ``basket_id`` (generated unless given) makes every retry the same basket."""
        body = {"basket_id": basket_id or new_idempotency_key(), "order": order, "legs": legs}
        result: JSONObject = self._json(
            "POST", "/api/v1/baskets", body=body, resend_unanswered=True
        )
        return result

    # -- the event feed and stream -------------------------------------------------------

    def event_page(
        self,
        after: int = 0,
        *,
        limit: int | None = None,
        account_id: str | None = None,
        order_id: str | None = None,
        types: Sequence[str] | None = None,
    ) -> FeedPage:
        params: dict[str, Any] = {"after": after, "limit": limit, "account_id": account_id}
        params["order_id"] = order_id
        params["types"] = ",".join(types) if types else None
        return cast(FeedPage, self._json("GET", "/api/v1/order-events", params=params))

    def events(
        self,
        after: int | None = None,
        *,
        account_id: str | None = None,
        order_id: str | None = None,
        types: Sequence[str] | None = None,
        idle_timeout: float = 60.0,
    ) -> EventStream:
        """Iterate over the events after ``after`` (from the first when None), then the live
        ones as they come, reconnecting
        from the last id after a dropped connection. ``idle_timeout`` must exceed the
        service's heartbeat interval (15 s by default): a silent connection is dropped."""
        params: dict[str, Any] = {"after": after, "account_id": account_id}
        params["order_id"] = order_id
        params["types"] = ",".join(types) if types else None

        @contextmanager
        def connect(headers: dict[str, str], query: dict[str, Any]) -> Iterator[httpx.Response]:
            timeout = httpx.Timeout(self._timeout, read=idle_timeout)
            with self._http.stream(
                "GET", "/api/v1/order-events/stream", params=query, headers=headers,
                timeout=timeout,
            ) as response:  # fmt: skip
                yield response

        return EventStream(connect, params, self.policy)

    # -- accounts -----------------------------------------------------------------------

    def list_accounts(self) -> list[Account]:
        return cast(list[Account], self._json("GET", "/api/v1/accounts"))

    def get_account(self, account_id: str) -> Account:
        return cast(Account, self._json("GET", f"/api/v1/accounts/{_seg(account_id)}"))

    def add_account(
        self, account_id: str, api_key: str, api_secret: str, *, name: str = ""
    ) -> Account:
        body = {"account_id": account_id, "api_key": api_key, "api_secret": api_secret}
        return cast(Account, self._json("POST", "/api/v1/accounts", body={**body, "name": name}))

    def remove_account(self, account_id: str) -> None:
        self._none("DELETE", f"/api/v1/accounts/{_seg(account_id)}")

    def grant_access(self, account_id: str, user_id: str) -> None:
        path = f"/api/v1/accounts/{_seg(account_id)}/users"
        self._none("POST", path, body={"user_id": user_id})

    def revoke_access(self, account_id: str, user_id: str) -> None:
        self._none("DELETE", f"/api/v1/accounts/{_seg(account_id)}/users/{_seg(user_id)}")

    def margins(self, account_id: str) -> list[JSONObject]:
        result: list[JSONObject] = self._json("GET", f"/api/v1/accounts/{_seg(account_id)}/margins")
        return result

    def search_instruments(
        self,
        q: str = "",
        *,
        exchange: str | None = None,
        segment: str | None = None,
        instrument_type: str | None = None,
        expiry: date | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> JSONObject:
        """Instruments whose symbol begins with ``q`` or whose name is ``q``; pass
        ``next_after`` back as ``after`` for the next page."""
        params: dict[str, Any] = {"q": q, "exchange": exchange, "segment": segment}
        params |= {"instrument_type": instrument_type, "after": after, "limit": limit}
        params["expiry"] = expiry.isoformat() if expiry is not None else None
        result: JSONObject = self._json("GET", "/api/v1/instruments", params=params)
        return result

    def quotes(self, account_id: str, instruments: list[str]) -> JSONObject:
        """The last price, close, circuit limits, OHLC and volume of each ``EXCHANGE:SYMBOL``
        (at most 1,000), read with the account's session, each with ``as_of`` and
        ``age_seconds``."""
        params = {"account_id": account_id, "i": instruments}
        result: JSONObject = self._json("GET", "/api/v1/quotes", params=params)
        return result

    def ltp(self, account_id: str, instruments: list[str]) -> JSONObject:
        """The last price of each ``EXCHANGE:SYMBOL`` (at most 1,000)."""
        params = {"account_id": account_id, "i": instruments}
        result: JSONObject = self._json("GET", "/api/v1/ltp", params=params)
        return result

    def ohlc(self, account_id: str, instruments: list[str]) -> JSONObject:
        """The last price and the day's OHLC of each ``EXCHANGE:SYMBOL`` (at most 1,000)."""
        params = {"account_id": account_id, "i": instruments}
        result: JSONObject = self._json("GET", "/api/v1/ohlc", params=params)
        return result

    def historical(
        self,
        account_id: str,
        exchange: str,
        tradingsymbol: str,
        interval: str,
        start: date | datetime,
        end: date | datetime,
        *,
        oi: bool = False,
        continuous: bool = False,
    ) -> JSONObject:
        """The instrument's candles from ``start`` to ``end`` (days in IST, or aware moments),
        read in as many Kite requests as the range needs."""
        params = {
            "account_id": account_id,
            "interval": interval,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "oi": oi,
            "continuous": continuous,
        }
        path = f"/api/v1/historical/{_seg(exchange)}/{_seg(tradingsymbol)}"
        result: JSONObject = self._json("GET", path, params=params)
        return result

    # -- previews: nothing is placed --------------------------------------------------

    def order_margins(self, account_id: str, orders: list[JSONObject]) -> JSONObject:
        """What each order (our placement's fields, without ``account_id``) would block."""
        body = {"account_id": account_id, "orders": orders}
        result: JSONObject = self._json("POST", "/api/v1/margins/orders", body=body)
        return result

    def basket_margins(
        self, account_id: str, orders: list[JSONObject], consider_positions: bool = True
    ) -> JSONObject:
        """What the orders would block together, and the hedge benefit between them."""
        body = {
            "account_id": account_id,
            "orders": orders,
            "consider_positions": consider_positions,
        }
        result: JSONObject = self._json("POST", "/api/v1/margins/basket", body=body)
        return result

    def order_charges(self, account_id: str, orders: list[JSONObject]) -> JSONObject:
        """What each order would cost executed at its ``average_price``."""
        body = {"account_id": account_id, "orders": orders}
        result: JSONObject = self._json("POST", "/api/v1/charges/orders", body=body)
        return result

    def login_link(self, account_id: str) -> LoginLink:
        """A one-time link to the broker's login page for the daily login (open it)."""
        path = f"/api/v1/accounts/{_seg(account_id)}/login-link"
        return cast(LoginLink, self._json("POST", path))

    def emergency_stop(self, account_id: str) -> JSONObject:
        """Cancel every working order of the account and hand every scope to people."""
        result: JSONObject = self._json(
            "POST", f"/api/v1/accounts/{_seg(account_id)}/emergency-stop"
        )
        return result

    def request_handoff(
        self,
        account_id: str,
        trigger: str,
        *,
        strategy_id: str | None = None,
        force: bool = False,
    ) -> JSONObject:
        """Hand a scope to people (``to_manual``) or its algorithm (``to_script``): 202, the
        handoff, which a worker finishes; read it again with ``get_handoff``."""
        body = _present({"account_id": account_id, "trigger": trigger, "strategy_id": strategy_id})
        if force:
            body["force"] = True
        result: JSONObject = self._json("POST", "/api/v1/handoffs", body=body)
        return result

    def get_handoff(self, handoff_id: str) -> JSONObject:
        result: JSONObject = self._json("GET", f"/api/v1/handoffs/{_seg(handoff_id)}")
        return result

    # -- attribution cases --------------------------------------------------------------

    def list_attribution_cases(
        self,
        *,
        account_id: str | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> JSONObject:
        """One page of cases (external exits for a person to allocate), oldest first."""
        params = {"account_id": account_id, "status": status, "cursor": cursor, "limit": limit}
        result: JSONObject = self._json("GET", "/api/v1/attribution-cases", params=params)
        return result

    def get_attribution_case(self, attribution_id: str) -> JSONObject:
        result: JSONObject = self._json("GET", _case(attribution_id))
        return result

    def assign_attribution_case(self, attribution_id: str, assignee: str) -> JSONObject:
        body = {"assignee": assignee}
        result: JSONObject = self._json("POST", f"{_case(attribution_id)}/assign", body=body)
        return result

    def resolve_attribution_case(
        self, attribution_id: str, allocations: dict[str, int]
    ) -> JSONObject:
        """Allocate the exit: ``{strategy_id: quantity}``, in the order the fills go to them
        (the quantities must sum to the exit's)."""
        body = {"allocations": [{"strategy_id": s, "quantity": q} for s, q in allocations.items()]}
        result: JSONObject = self._json("POST", f"{_case(attribution_id)}/resolve", body=body)
        return result

    def apply_attribution_case(self, attribution_id: str) -> JSONObject:
        result: JSONObject = self._json("POST", f"{_case(attribution_id)}/apply")
        return result

    # -- strategies and portfolios ------------------------------------------------------

    def list_strategies(self, account_id: str | None = None) -> list[JSONObject]:
        result: list[JSONObject] = self._json(
            "GET", "/api/v1/strategies", params={"account_id": account_id}
        )
        return result

    def create_strategy(self, account_id: str, name: str) -> JSONObject:
        body = {"account_id": account_id, "name": name}
        result: JSONObject = self._json("POST", "/api/v1/strategies", body=body)
        return result

    def get_strategy(self, strategy_id: str) -> JSONObject:
        result: JSONObject = self._json("GET", f"/api/v1/strategies/{_seg(strategy_id)}")
        return result

    def update_strategy(
        self, strategy_id: str, *, name: str | None = None, archived: bool | None = None
    ) -> JSONObject:
        body = _present({"name": name, "archived": archived})
        result: JSONObject = self._json(
            "PATCH", f"/api/v1/strategies/{_seg(strategy_id)}", body=body
        )
        return result

    def delete_strategy(self, strategy_id: str) -> None:
        self._none("DELETE", f"/api/v1/strategies/{_seg(strategy_id)}")

    def list_portfolios(self) -> list[JSONObject]:
        result: list[JSONObject] = self._json("GET", "/api/v1/portfolios")
        return result

    def create_portfolio(self, name: str) -> JSONObject:
        result: JSONObject = self._json("POST", "/api/v1/portfolios", body={"name": name})
        return result

    def get_portfolio(self, portfolio_id: str) -> JSONObject:
        result: JSONObject = self._json("GET", f"/api/v1/portfolios/{_seg(portfolio_id)}")
        return result

    def update_portfolio(
        self, portfolio_id: str, *, name: str | None = None, archived: bool | None = None
    ) -> JSONObject:
        body = _present({"name": name, "archived": archived})
        result: JSONObject = self._json(
            "PATCH", f"/api/v1/portfolios/{_seg(portfolio_id)}", body=body
        )
        return result

    def delete_portfolio(self, portfolio_id: str) -> None:
        self._none("DELETE", f"/api/v1/portfolios/{_seg(portfolio_id)}")

    def attach_strategy(self, portfolio_id: str, strategy_id: str) -> JSONObject:
        path = f"/api/v1/portfolios/{_seg(portfolio_id)}/strategies/{_seg(strategy_id)}"
        result: JSONObject = self._json("PUT", path)
        return result

    def detach_strategy(self, portfolio_id: str, strategy_id: str) -> None:
        path = f"/api/v1/portfolios/{_seg(portfolio_id)}/strategies/{_seg(strategy_id)}"
        self._none("DELETE", path)

    # -- books: positions, holdings, trades, P&L -----------------------------------------

    def positions(
        self,
        *,
        account_id: str | None = None,
        group_by: str | None = None,
        day: date | None = None,
    ) -> list[JSONObject]:
        params = {"account_id": account_id, "group_by": group_by, "day": _day(day)}
        result: list[JSONObject] = self._json("GET", "/api/v1/positions", params=params)
        return result

    def close_positions(
        self, account_id: str, *, idempotency_key: str | None = None, **scope: Any
    ) -> JSONObject:
        """Close the account's open positions, narrowed by ``strategy_id``, ``exchange`` with
        ``tradingsymbol``, ``product``; ``order_type="LIMIT"`` with ``price`` for one
        instrument. The key (generated unless given) makes every retry the same close."""
        key = idempotency_key or new_idempotency_key()
        body = {"account_id": account_id, **{k: v for k, v in scope.items() if v is not None}}
        result: JSONObject = self._json(
            "POST",
            "/api/v1/positions/close",
            body=body,
            headers={"Idempotency-Key": key},
            resend_unanswered=True,
        )
        return result

    def holdings(self, *, account_id: str | None = None) -> JSONObject:
        params = {"account_id": account_id}
        result: JSONObject = self._json("GET", "/api/v1/holdings", params=params)
        return result

    def trades(
        self,
        *,
        account_id: str | None = None,
        start: date | None = None,
        end: date | None = None,
        cursor: int | None = None,
        limit: int | None = None,
    ) -> JSONObject:
        params: dict[str, Any] = {"account_id": account_id, "from": _day(start)}
        params["to"] = _day(end)
        params |= {"cursor": cursor, "limit": limit}
        result: JSONObject = self._json("GET", "/api/v1/trades", params=params)
        return result

    def pnl(
        self,
        *,
        group_by: str | None = None,
        method: str | None = None,
        account_id: str | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> JSONObject:
        params: dict[str, Any] = {"group_by": group_by, "method": method}
        params["account_id"] = account_id
        params |= {"from": _day(start), "to": _day(end)}
        result: JSONObject = self._json("GET", "/api/v1/pnl", params=params)
        return result

    def trades_csv(self, **params: Any) -> str:
        """The fill ledger as CSV text (the same filters as ``trades``)."""
        return self._call("GET", "/api/v1/trades.csv", params=_dated(params)).text

    def pnl_csv(self, **params: Any) -> str:
        """The P&L as CSV text (the same filters as ``pnl``)."""
        return self._call("GET", "/api/v1/pnl.csv", params=_dated(params)).text

    # -- risk limits and the kill switch ------------------------------------------------

    def account_risk_limits(self, account_id: str) -> RiskLimits:
        path = f"/api/v1/accounts/{_seg(account_id)}/risk-limits"
        return cast(RiskLimits, self._json("GET", path))

    def set_account_risk_limits(self, account_id: str, **limits: Any) -> RiskLimits:
        """Set every limit of the account (one left out is unset): ``max_order_value`` …"""
        path = f"/api/v1/accounts/{_seg(account_id)}/risk-limits"
        return cast(RiskLimits, self._json("PUT", path, body=limits))

    def strategy_risk_limits(self, strategy_id: str) -> RiskLimits:
        path = f"/api/v1/strategies/{_seg(strategy_id)}/risk-limits"
        return cast(RiskLimits, self._json("GET", path))

    def set_strategy_risk_limits(self, strategy_id: str, **limits: Any) -> RiskLimits:
        path = f"/api/v1/strategies/{_seg(strategy_id)}/risk-limits"
        return cast(RiskLimits, self._json("PUT", path, body=limits))

    def engage_kill_switch(
        self, *, account_id: str | None = None, user_id: str | None = None, flatten: bool = False
    ) -> JSONObject:
        """Halt new orders for an account, a user, or (neither) everything; with ``flatten``
        also cancel the scope's working orders and square off its MIS positions."""
        body = _present({"account_id": account_id, "user_id": user_id})
        if flatten:
            body["flatten"] = True
        result: JSONObject = self._json("POST", "/api/v1/kill-switch", body=body)
        return result

    def release_kill_switch(
        self, *, account_id: str | None = None, user_id: str | None = None
    ) -> None:
        body = _present({"account_id": account_id, "user_id": user_id})
        self._none("DELETE", "/api/v1/kill-switch", body=body)

    def kill_switches(self) -> list[JSONObject]:
        result: list[JSONObject] = self._json("GET", "/api/v1/kill-switch")
        return result

    # -- signal tokens (alerts from charting tools) ---------------------------------------

    def create_signal_token(self, strategy_id: str, **template: Any) -> JSONObject:
        """Create a token for a strategy's alerts; the answer's ``token`` is shown this once."""
        path = f"/api/v1/strategies/{_seg(strategy_id)}/signal-tokens"
        result: JSONObject = self._json("POST", path, body=template)
        return result

    def list_signal_tokens(self, strategy_id: str) -> list[JSONObject]:
        path = f"/api/v1/strategies/{_seg(strategy_id)}/signal-tokens"
        result: list[JSONObject] = self._json("GET", path)
        return result

    def revoke_signal_token(self, strategy_id: str, token_id: str) -> None:
        path = f"/api/v1/strategies/{_seg(strategy_id)}/signal-tokens/{_seg(token_id)}"
        self._none("DELETE", path)

    # -- webhooks -----------------------------------------------------------------------

    def create_webhook(
        self, url: str, *, event_types: Sequence[str] = ("order.*",), description: str = ""
    ) -> JSONObject:
        """Register an endpoint; the answer's ``secret`` is shown this once."""
        body = {"url": url, "event_types": list(event_types), "description": description}
        result: JSONObject = self._json("POST", "/api/v1/webhooks", body=body)
        return result

    def list_webhooks(self) -> list[JSONObject]:
        result: list[JSONObject] = self._json("GET", "/api/v1/webhooks")
        return result

    def get_webhook(self, webhook_id: str) -> JSONObject:
        result: JSONObject = self._json("GET", f"/api/v1/webhooks/{_seg(webhook_id)}")
        return result

    def delete_webhook(self, webhook_id: str) -> None:
        self._none("DELETE", f"/api/v1/webhooks/{_seg(webhook_id)}")

    def webhook_deliveries(
        self, webhook_id: str, *, cursor: str | None = None, limit: int | None = None
    ) -> JSONObject:
        path = f"/api/v1/webhooks/{_seg(webhook_id)}/deliveries"
        result: JSONObject = self._json("GET", path, params={"cursor": cursor, "limit": limit})
        return result

    def webhook_events(
        self, webhook_id: str, *, cursor: str | None = None, limit: int | None = None
    ) -> JSONObject:
        path = f"/api/v1/webhooks/{_seg(webhook_id)}/events"
        result: JSONObject = self._json("GET", path, params={"cursor": cursor, "limit": limit})
        return result

    def retry_delivery(self, webhook_id: str, delivery_id: str) -> JSONObject:
        path = f"/api/v1/webhooks/{_seg(webhook_id)}/deliveries/{_seg(delivery_id)}/retry"
        result: JSONObject = self._json("POST", path)
        return result

    # -- API keys and operations --------------------------------------------------------

    def create_key(self, strategy_id: str | None = None) -> ApiKey:
        """Issue yourself a key (``key`` is shown this once); with a strategy, a script's key."""
        body = _present({"strategy_id": strategy_id})
        return cast(ApiKey, self._json("POST", "/api/v1/keys", body=body))

    def list_keys(self) -> list[ApiKey]:
        return cast(list[ApiKey], self._json("GET", "/api/v1/keys"))

    def revoke_key(self, key_id: str) -> None:
        self._none("DELETE", f"/api/v1/keys/{_seg(key_id)}")

    def health(self) -> JSONObject:
        result: JSONObject = self._json("GET", "/health")
        return result


def _case(attribution_id: str) -> str:
    return f"/api/v1/attribution-cases/{_seg(attribution_id)}"


def _seg(value: str) -> str:
    """One path segment: an id with a slash or dot-dot cannot reach another route."""
    if not value or value in {".", ".."} or any(c in value for c in "/?#%\\"):
        raise ValueError(f"not an id: {value!r}")
    return value


def _day(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _dated(params: Mapping[str, Any]) -> dict[str, Any]:
    renamed = {"start": "from", "end": "to"}
    return {
        renamed.get(k, k): (v.isoformat() if isinstance(v, date) else v) for k, v in params.items()
    }
