"""``KiteBroker``: the Broker port on the official kiteconnect SDK (the only module importing it).

The SDK is synchronous, so every call runs in a bounded thread pool owned here, never on the
event loop. One cached client (and HTTP connection pool) per account.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlencode

from kiteconnect import KiteConnect
from kiteconnect import exceptions as kite_exceptions
from requests.adapters import HTTPAdapter
from requests.exceptions import RequestException

from order_service.adapters.broker.errors import MALFORMED_REPLY, translate
from order_service.adapters.broker.parsing import ist_datetime, order_reports, segment_margins
from order_service.domain.ids import AccountId, BrokerOrderId
from order_service.domain.order import OrderChanges, OrderRequest
from order_service.domain.reports import OrderStatusReport, SegmentMargins
from order_service.domain.values import Variety
from order_service.errors import AuthenticationError
from order_service.observability.metrics import (
    BROKER_LATENCY,
    BROKER_REQUESTS,
    BROKER_SESSION_EXPIRED,
)
from order_service.services.ports import BrokerSession, SessionGrant

T = TypeVar("T")
_FAILURES = (kite_exceptions.KiteException, RequestException, *MALFORMED_REPLY)


class KiteBroker:
    """Talks to Kite (or the paper broker: same protocol) for any number of accounts."""

    def __init__(self, root: str, login_url: str, timeout: float, threads: int = 32) -> None:
        self._root = root
        self._login_url = login_url
        self._timeout = timeout
        self._pool_size = threads
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="kite")
        self._clients: dict[AccountId, KiteConnect] = {}
        self._lock = threading.Lock()

    def login_url(self, api_key: str, redirect_params: Mapping[str, str]) -> str:
        """Kite's login page; Kite sends ``redirect_params`` back to our callback."""
        query = urlencode(
            {"api_key": api_key, "v": "3", "redirect_params": urlencode(dict(redirect_params))}
        )
        return f"{self._login_url}?{query}"

    async def create_session(
        self, account_id: AccountId, api_key: str, api_secret: str, request_token: str
    ) -> SessionGrant:
        client = self._new_client(api_key)
        data = await self._call(
            "create_session", False, client.generate_session, request_token, api_secret
        )
        login_at = ist_datetime(data.get("login_time")) or datetime.now(UTC)
        return SessionGrant(str(data["access_token"]), str(data.get("user_id", "")), login_at)

    async def place_order(
        self, session: BrokerSession, request: OrderRequest, tag: str
    ) -> BrokerOrderId:
        client = self._client(session)
        params = _place_params(request, tag)
        order_id = await self._call("place_order", True, partial(client.place_order, **params))
        return BrokerOrderId(str(order_id))

    async def modify_order(
        self,
        session: BrokerSession,
        variety: Variety,
        broker_order_id: BrokerOrderId,
        changes: OrderChanges,
    ) -> None:
        client = self._client(session)
        params = {key: _wire(value) for key, value in changes.as_dict().items()}
        call = partial(client.modify_order, variety.value, broker_order_id, **params)
        await self._call("modify_order", True, call)

    async def cancel_order(
        self, session: BrokerSession, variety: Variety, broker_order_id: BrokerOrderId
    ) -> None:
        client = self._client(session)
        await self._call("cancel_order", True, client.cancel_order, variety.value, broker_order_id)

    async def order_history(
        self, session: BrokerSession, broker_order_id: BrokerOrderId
    ) -> list[OrderStatusReport]:
        client = self._client(session)
        rows = await self._call("order_history", False, client.order_history, broker_order_id)
        return order_reports(rows)

    async def orders(self, session: BrokerSession) -> list[OrderStatusReport]:
        rows = await self._call("orders", False, self._client(session).orders)
        return order_reports(rows)

    async def margins(self, session: BrokerSession) -> list[SegmentMargins]:
        data = await self._call("margins", False, self._client(session).margins)
        return segment_margins(data)

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _client(self, session: BrokerSession) -> KiteConnect:
        with self._lock:
            client = self._clients.get(session.account_id)
            if client is None or client.api_key != session.api_key:
                client = self._new_client(session.api_key)
                self._clients[session.account_id] = client
        if client.access_token != session.access_token:
            client.set_access_token(session.access_token)
        return client

    def _new_client(self, api_key: str) -> KiteConnect:
        client = KiteConnect(api_key, root=self._root, timeout=self._timeout)
        # The SDK mounts its pool only for https; size the plain-http pool to our threads too.
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=self._pool_size, max_retries=0)
        client.reqsession.mount("http://", adapter)
        return client

    async def _call(self, operation: str, write: bool, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        try:
            result = await loop.run_in_executor(self._executor, partial(fn, *args))
        except _FAILURES as exc:
            error = translate(exc, operation, write=write)
            _observe(operation, type(error).__name__, started)
            if isinstance(error, AuthenticationError):
                BROKER_SESSION_EXPIRED.inc()
            raise error from exc
        _observe(operation, "ok", started)
        return result


def _observe(operation: str, outcome: str, started: float) -> None:
    BROKER_REQUESTS.labels(operation, outcome).inc()
    BROKER_LATENCY.labels(operation).observe(time.perf_counter() - started)


def _place_params(request: OrderRequest, tag: str) -> dict[str, Any]:
    params: dict[str, Any] = {
        "variety": request.variety.value,
        "exchange": request.exchange.value,
        "tradingsymbol": request.tradingsymbol,
        "transaction_type": request.transaction_type.value,
        "quantity": request.quantity,
        "product": request.product.value,
        "order_type": request.order_type.value,
        "price": request.price,
        "trigger_price": request.trigger_price,
        "validity": request.validity.value,
        "validity_ttl": request.validity_ttl,
        "disclosed_quantity": request.disclosed_quantity,
        "market_protection": request.market_protection_to_send,
        "tag": tag,
    }
    return {key: _wire(value) for key, value in params.items() if value is not None}


def _wire(value: object) -> object:
    """Send Decimals as their exact text (form encoding), enums as their Kite spelling."""
    text = getattr(value, "value", None)
    if isinstance(text, str):
        return text
    return str(value) if not isinstance(value, int | str) else value
