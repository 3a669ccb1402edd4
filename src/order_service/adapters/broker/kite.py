"""``KiteBroker``: the Broker port on the official kiteconnect SDK (the only module importing it).

The SDK is synchronous, so every call runs in a bounded thread pool owned here, never on the
event loop. Each account has one HTTP connection pool; each of its access tokens has its own SDK
client, built with the token and never changed, because the pool's threads share the clients.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlencode

import requests
from kiteconnect import KiteConnect
from requests.adapters import HTTPAdapter

from order_service.adapters.broker.errors import (
    BROKER_FAILURES,
    MALFORMED_REPLY,
    MalformedReply,
    translate,
    unknown_after_bug,
)
from order_service.adapters.broker.history_parsing import candles
from order_service.adapters.broker.instruments_parsing import instrument_list
from order_service.adapters.broker.parsing import (
    UnreadableRow,
    fill_book,
    ist_datetime,
    order_book,
    segment_margins,
)
from order_service.adapters.broker.portfolio_parsing import (
    holding_reports,
    position_reports,
    quote_reports,
)
from order_service.adapters.broker.preview_parsing import (
    basket_margins,
    contract_note_lines,
    margin_list,
    margin_order,
    priced_order,
)
from order_service.adapters.broker.slice_parsing import slice_reports
from order_service.domain.account import IST
from order_service.domain.history import Candle, CandleRequest
from order_service.domain.ids import AccountId, BrokerOrderId
from order_service.domain.instrument import Instrument
from order_service.domain.order import OrderChanges, OrderRequest
from order_service.domain.previews import BasketMargins, ContractNoteLine, Margin, PricedOrder
from order_service.domain.reports import (
    FillReport,
    HoldingReport,
    OrderBook,
    OrderStatusReport,
    PositionReport,
    QuoteReport,
    SegmentMargins,
    SliceReport,
)
from order_service.domain.values import Variety
from order_service.errors import AuthenticationError, DataFormatError, OrderServiceError
from order_service.observability.logging import get_logger
from order_service.observability.metrics import (
    BROKER_LATENCY,
    BROKER_REQUESTS,
    BROKER_ROWS_UNREADABLE,
    BROKER_SESSION_EXPIRED,
)
from order_service.services.ports import BrokerSession, SessionGrant

T = TypeVar("T")
log = get_logger(__name__)
# The current token and the one it replaced, whose calls may still be in flight.
_TOKENS_PER_ACCOUNT = 2
# How many of a read's unreadable rows its one log line names.
_ROWS_LOGGED = 10


class _AccountClients:
    """One account's HTTP pool, and an SDK client per access token (least recently used first)."""

    def __init__(self, api_key: str, http: requests.Session) -> None:
        self.api_key = api_key
        self.http = http
        self.by_token: OrderedDict[str, KiteConnect] = OrderedDict()


class _Replies(threading.local):
    """Per pool thread: whether the SDK call running on it has received the broker's reply."""

    arrived = False


class KiteBroker:
    """Talks to Kite (or the paper broker: same protocol) for any number of accounts.

    ``sdk`` is the client class, ``KiteConnect`` unless a test stands in a subclass.
    """

    def __init__(
        self,
        root: str,
        login_url: str,
        timeout: float,
        threads: int = 32,
        *,
        sdk: type[KiteConnect] = KiteConnect,
    ) -> None:
        self._sdk = sdk
        self._root = root
        self._login_url = login_url
        self._timeout = timeout
        self._pool_size = threads
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="kite")
        self._accounts: dict[AccountId, _AccountClients] = {}
        self._lock = threading.Lock()
        self._replies = _Replies()

    def login_url(self, api_key: str, redirect_params: Mapping[str, str]) -> str:
        """Kite's login page; Kite sends ``redirect_params`` back to our callback."""
        query = urlencode(
            {"api_key": api_key, "v": "3", "redirect_params": urlencode(dict(redirect_params))}
        )
        return f"{self._login_url}?{query}"

    async def create_session(
        self, account_id: AccountId, api_key: str, api_secret: str, request_token: str
    ) -> SessionGrant:
        with self._lock:
            # A client of its own: the SDK sets the new token on the client that logged in.
            client = self._new_client(self._account(account_id, api_key), None)
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

    async def place_autoslice_order(
        self, session: BrokerSession, request: OrderRequest, tag: str
    ) -> list[SliceReport]:
        client = self._client(session)
        params = _place_params(request, tag)

        def place() -> list[SliceReport]:
            # Read inside the call: a reply of another shape is malformed (outcome unknown).
            return slice_reports(client.place_autoslice_order(**params))

        return await self._call("place_order", True, place)

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

    # One order's history or trades is all or nothing: what is left of it could be read as an
    # older state. A book is read row by row: one malformed row must not hide all the others.
    async def order_history(
        self, session: BrokerSession, broker_order_id: BrokerOrderId
    ) -> list[OrderStatusReport]:
        client = self._client(session)
        rows = await self._call("order_history", False, client.order_history, broker_order_id)
        book, skipped = order_book(rows)
        return _whole("order_history", book.reports, skipped)

    # The whole books are read through the SDK's request layer (its session, retries and error
    # mapping) without its response formatting, which parses every timestamp of the day with
    # dateutil: most of a large book's cost. Our parsing reads Kite's timestamp strings itself.
    async def orders(self, session: BrokerSession) -> OrderBook:
        rows = await self._call("orders", False, self._client(session)._get, "orders")
        book, skipped = await self._parsed(order_book, rows)
        _set_aside("orders", skipped)
        return book

    async def trades(self, session: BrokerSession) -> list[FillReport]:
        rows = await self._call("trades", False, self._client(session)._get, "trades")
        fills, skipped = await self._parsed(fill_book, rows)
        _set_aside("trades", skipped)  # a fill left out is stored by a later pass, if ever legible
        return fills

    async def order_trades(
        self, session: BrokerSession, broker_order_id: BrokerOrderId
    ) -> list[FillReport]:
        client = self._client(session)
        rows = await self._call("order_trades", False, client.order_trades, broker_order_id)
        fills, skipped = fill_book(rows)
        return _whole("order_trades", fills, skipped)

    async def margins(self, session: BrokerSession) -> list[SegmentMargins]:
        data = await self._call("margins", False, self._client(session).margins)
        return segment_margins(data)

    async def order_margins(
        self, session: BrokerSession, orders: Sequence[OrderRequest]
    ) -> list[Margin]:
        body = [margin_order(request) for request in orders]
        data = await self._call("order_margins", False, self._client(session).order_margins, body)
        return margin_list(data)

    async def basket_margins(
        self, session: BrokerSession, orders: Sequence[OrderRequest], consider_positions: bool
    ) -> BasketMargins:
        body = [margin_order(request) for request in orders]
        # mode=None: the full answer (compact mode keeps only the totals).
        call = partial(
            self._client(session).basket_order_margins,
            body,
            consider_positions=consider_positions,
            mode=None,
        )
        return basket_margins(await self._call("basket_margins", False, call))

    async def contract_note(
        self, session: BrokerSession, orders: Sequence[PricedOrder]
    ) -> list[ContractNoteLine]:
        body = [priced_order(order, number) for number, order in enumerate(orders, 1)]
        note = self._client(session).get_virtual_contract_note
        return contract_note_lines(await self._call("contract_note", False, note, body))

    async def positions(self, session: BrokerSession) -> list[PositionReport]:
        data = await self._call(
            "positions", False, self._client(session)._get, "portfolio.positions"
        )
        return await self._parsed(position_reports, data)

    async def holdings(self, session: BrokerSession) -> list[HoldingReport]:
        rows = await self._call("holdings", False, self._client(session)._get, "portfolio.holdings")
        return await self._parsed(holding_reports, rows)

    async def instruments(self, session: BrokerSession) -> list[Instrument]:
        # The CSV as the SDK reads it, parsed here: the SDK's own parse makes floats.
        client = self._client(session)
        body = await self._call("instruments", False, client._get, "market.instruments.all")
        if not isinstance(body, bytes | str):
            raise DataFormatError("the broker sent an instruments list that is not CSV")
        parsed, skipped = await self._parsed(instrument_list, body)
        _set_aside("instruments", skipped)
        return parsed

    async def quotes(
        self, session: BrokerSession, instruments: Sequence[str]
    ) -> dict[str, QuoteReport]:
        if not instruments:
            return {}
        # quote(), not ohlc(): only the full quote has the day's circuit limits (500 a call).
        data = await self._call("quotes", False, self._client(session).quote, list(instruments))
        return quote_reports(data)

    async def historical(self, session: BrokerSession, ask: CandleRequest) -> list[Candle]:
        client = self._client(session)
        data = await self._call(
            "historical",
            False,
            client.historical_data,
            ask.instrument_token,
            _kite_time(ask.start),
            _kite_time(ask.end),
            ask.interval.value,
            ask.continuous,
            ask.oi,
        )
        return await self._parsed(candles, data)

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            for clients in self._accounts.values():
                clients.http.close()
            self._accounts.clear()

    def _client(self, session: BrokerSession) -> KiteConnect:
        """The client of this account and token, made for it and never changed afterwards."""
        with self._lock:
            clients = self._account(session.account_id, session.api_key)
            client = clients.by_token.get(session.access_token)
            if client is None:
                client = self._new_client(clients, session.access_token)
                clients.by_token[session.access_token] = client
                if len(clients.by_token) > _TOKENS_PER_ACCOUNT:
                    clients.by_token.popitem(last=False)
            clients.by_token.move_to_end(session.access_token)
            return client

    def _account(self, account_id: AccountId, api_key: str) -> _AccountClients:
        clients = self._accounts.get(account_id)
        if clients is None or clients.api_key != api_key:
            if clients is not None:
                clients.http.close()  # calls in flight finish; their connections are dropped
            clients = _AccountClients(api_key, self._new_http())
            self._accounts[account_id] = clients
        return clients

    def _new_http(self) -> requests.Session:
        http = requests.Session()
        # The SDK mounts a pool only when asked, and only for https: size ours to our threads.
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=self._pool_size, max_retries=0)
        http.mount("https://", adapter)
        http.mount("http://", adapter)
        http.hooks["response"].append(self._reply_arrived)
        return http

    def _new_client(self, clients: _AccountClients, access_token: str | None) -> KiteConnect:
        client = self._sdk(
            clients.api_key, access_token=access_token, root=self._root, timeout=self._timeout
        )
        client.reqsession.close()  # the account's pool serves every one of its tokens
        client.reqsession = clients.http
        return client

    def _reply_arrived(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._replies.arrived = True

    def _attempt(self, fn: Callable[[], T]) -> T:
        """Run one SDK call; what it raises reading a reply that arrived is ``MalformedReply``."""
        self._replies.arrived = False
        try:
            return fn()
        except MALFORMED_REPLY as exc:
            if not self._replies.arrived:
                raise
            raise MalformedReply(exc) from exc

    async def _parsed(self, parse: Callable[[Any], T], data: Any) -> T:
        """Parse a whole book on a broker thread: a day's book is thousands of rows, whose
        parse in the event loop would hold every request this process is serving."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, parse, data)

    async def _call(self, operation: str, write: bool, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        try:
            result = await loop.run_in_executor(self._executor, self._attempt, partial(fn, *args))
        except BROKER_FAILURES as exc:
            raise _failed(translate(exc, operation, write=write), operation, started) from exc
        except Exception as exc:
            # The broker's edge: a bug must not pass for the broker's answer, nor hide that a
            # write may have gone out (whatever raised, its outcome stays unknown).
            if not write:
                _observe(operation, "bug", started)
                raise  # a read changed nothing: the caller's supervised edge reports the bug
            log.error("bug in a broker call", operation=operation, exc_info=exc)
            raise _failed(unknown_after_bug(exc, operation), operation, started) from exc
        _observe(operation, "ok", started)
        return result


def _kite_time(at: datetime) -> str:
    """A moment as Kite's historical API reads it: IST, to the second."""
    return at.astimezone(IST).strftime("%Y-%m-%d %H:%M:%S")


def _failed(error: OrderServiceError, operation: str, started: float) -> OrderServiceError:
    _observe(operation, type(error).__name__, started)
    if isinstance(error, AuthenticationError):
        BROKER_SESSION_EXPIRED.inc()
    return error


def _set_aside(operation: str, skipped: list[UnreadableRow]) -> None:
    """Count the rows a read left out, and name them (never their content) in one log line."""
    if not skipped:
        return
    BROKER_ROWS_UNREADABLE.labels(operation).inc(len(skipped))
    rows = [row.context() for row in skipped[:_ROWS_LOGGED]]
    log.warning("broker rows unreadable", operation=operation, count=len(skipped), rows=rows)


def _whole(operation: str, parsed: list[T], skipped: list[UnreadableRow]) -> list[T]:
    """Return a read that must be whole; with a row left out, ``DataFormatError``."""
    _set_aside(operation, skipped)
    if skipped:
        raise DataFormatError(
            "the broker sent a row we cannot parse",
            details={"operation": operation} | skipped[0].context(),
        )
    return parsed


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
        "auction_number": request.auction_number,
        "tag": tag,
    }
    return {key: _wire(value) for key, value in params.items() if value is not None}


def _wire(value: object) -> object:
    """Send Decimals as their exact text (form encoding), enums as their Kite spelling."""
    text = getattr(value, "value", None)
    if isinstance(text, str):
        return text
    return str(value) if not isinstance(value, int | str) else value
