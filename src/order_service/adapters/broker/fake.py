"""``FakeBroker``: an in-memory Broker for tests of the services, with scripted failures."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import urlencode

from order_service.domain.history import Candle, CandleRequest
from order_service.domain.ids import AccountId, BrokerOrderId
from order_service.domain.instrument import Instrument
from order_service.domain.order import OrderChanges, OrderRequest
from order_service.domain.previews import (
    BasketMargins,
    ChargeBreakdown,
    ContractNoteLine,
    Gst,
    Margin,
    PricedOrder,
)
from order_service.domain.reports import (
    FillReport,
    HoldingReport,
    OrderBook,
    OrderStatusReport,
    PositionReport,
    QuoteReport,
    SegmentMargins,
    SliceReport,
    TradeId,
)
from order_service.domain.values import OrderType, Variety
from order_service.errors import (
    DataFormatError,
    InvalidTransition,
    OrderServiceError,
    ValidationError,
)
from order_service.services.ports import BrokerSession, Clock, SessionGrant

_MARKET_PRICE = Decimal("100.00")
# The margin calculators value an order without a price at this last price.
_PREVIEW_LAST_PRICE = Decimal(1500)
_BROKERAGE = Decimal(20)


class FakeBroker:
    """Fills MARKET orders at once, rests the others OPEN; errors can be scripted per call.

    Every fill is also a row of the trade book (``trade_book``), with trade ids numbered in
    order, so a test may read it or add rows of its own.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock
        self.book: dict[BrokerOrderId, OrderStatusReport] = {}
        self.calls: defaultdict[str, int] = defaultdict(int)
        self._failures: defaultdict[str, list[tuple[OrderServiceError, bool]]] = defaultdict(list)
        self._ids = itertools.count(1)
        self._trade_ids = itertools.count(1)
        self._requests: dict[BrokerOrderId, OrderRequest] = {}
        self.trade_book: list[FillReport] = []
        self.position_book: list[PositionReport] = []
        self.holding_book: list[HoldingReport] = []
        self.marks: dict[str, QuoteReport] = {}  # by "EXCHANGE:SYMBOL"
        self.instrument_list: list[Instrument] = []  # what instruments() answers
        self.candles: dict[int, list[Candle]] = {}  # by instrument token: historical() reads
        self.candle_requests: list[CandleRequest] = []
        # Book rows the broker sends malformed (``spoil``): left out of the book, named aside.
        self.spoiled: set[BrokerOrderId] = set()
        self.tokens: dict[str, str] = {}
        # Request tokens that belong to another broker user (someone else's Kite login).
        self.session_users: dict[str, str] = {}
        # What basket_margins() takes off the sum of the orders' margins in ``final``.
        self.hedge_benefit = Decimal(0)

    def fail_next(
        self, operation: str, error: OrderServiceError, *, after_accept: bool = False
    ) -> None:
        """Make the next ``operation`` raise ``error``; ``after_accept`` applies the call first."""
        self._failures[operation].append((error, after_accept))

    def login_url(self, api_key: str, redirect_params: Mapping[str, str]) -> str:
        query = urlencode({"api_key": api_key, **redirect_params})
        return f"https://broker.invalid/connect/login?{query}"

    async def create_session(
        self, account_id: AccountId, api_key: str, api_secret: str, request_token: str
    ) -> SessionGrant:
        self._raise(self._enter("create_session"))
        token = f"token-{request_token}"
        broker_user = self.session_users.get(request_token, account_id)
        if broker_user == account_id:
            self.tokens[account_id] = token
        login_at = self._clock.now() if self._clock else datetime.now(UTC)
        return SessionGrant(token, broker_user, login_at)

    async def place_order(
        self, session: BrokerSession, request: OrderRequest, tag: str
    ) -> BrokerOrderId:
        failure = self._enter("place_order")
        broker_order_id = BrokerOrderId(f"{next(self._ids):013d}")
        if failure is None or failure[1]:
            report = _new_report(broker_order_id, request, tag)
            self.book[broker_order_id] = report
            self._requests[broker_order_id] = request
            self._trade(report, report.filled_quantity)
        self._raise(failure)
        return broker_order_id

    async def place_autoslice_order(
        self, session: BrokerSession, request: OrderRequest, tag: str
    ) -> list[SliceReport]:
        """Slice as Kite does, at the listed instrument's freeze quantity."""
        listed = {(i.exchange, i.tradingsymbol): i for i in self.instrument_list}
        item = listed.get((request.exchange.value, request.tradingsymbol))
        quantities = item.slices(request.quantity) if item is not None else [request.quantity]
        return [
            SliceReport(await self.place_order(session, replace(request, quantity=q), tag))
            for q in quantities
        ]

    async def modify_order(
        self,
        session: BrokerSession,
        variety: Variety,
        broker_order_id: BrokerOrderId,
        changes: OrderChanges,
    ) -> None:
        failure = self._enter("modify_order")
        report = self._live(broker_order_id)
        if failure is None or failure[1]:
            self.book[broker_order_id] = replace(
                report,
                price=changes.price or report.price,
                quantity=changes.quantity or report.quantity,
                trigger_price=changes.trigger_price or report.trigger_price,
            )
        self._raise(failure)

    async def cancel_order(
        self, session: BrokerSession, variety: Variety, broker_order_id: BrokerOrderId
    ) -> None:
        failure = self._enter("cancel_order")
        report = self._live(broker_order_id)
        if failure is None or failure[1]:
            self.book[broker_order_id] = replace(report, raw_status="CANCELLED")
        self._raise(failure)

    async def order_history(
        self, session: BrokerSession, broker_order_id: BrokerOrderId
    ) -> list[OrderStatusReport]:
        self._raise(self._enter("order_history"))
        if broker_order_id in self.spoiled:
            raise DataFormatError("the broker sent a row we cannot parse")
        report = self.book.get(broker_order_id)
        return [report] if report else []

    async def orders(self, session: BrokerSession) -> OrderBook:
        self._raise(self._enter("orders"))
        rows = [r for r in self.book.values() if r.broker_order_id not in self.spoiled]
        spoiled = [r for r in self.book.values() if r.broker_order_id in self.spoiled]
        names = {name for r in spoiled for name in (r.broker_order_id, r.tag) if name}
        return OrderBook(rows, frozenset(names))

    async def trades(self, session: BrokerSession) -> list[FillReport]:
        self._raise(self._enter("trades"))
        return list(self.trade_book)

    async def order_trades(
        self, session: BrokerSession, broker_order_id: BrokerOrderId
    ) -> list[FillReport]:
        self._raise(self._enter("order_trades"))
        return [fill for fill in self.trade_book if fill.broker_order_id == broker_order_id]

    async def margins(self, session: BrokerSession) -> list[SegmentMargins]:
        self._raise(self._enter("margins"))
        cash = {"cash": Decimal("1000000"), "opening_balance": Decimal("1000000")}
        return [SegmentMargins("equity", True, Decimal("1000000"), cash, {"debits": Decimal(0)})]

    async def order_margins(
        self, session: BrokerSession, orders: Sequence[OrderRequest]
    ) -> list[Margin]:
        self._raise(self._enter("order_margins"))
        return [_margin(request) for request in orders]

    async def basket_margins(
        self, session: BrokerSession, orders: Sequence[OrderRequest], consider_positions: bool
    ) -> BasketMargins:
        self._raise(self._enter("basket_margins"))
        each = tuple(_margin(request) for request in orders)
        initial = sum((margin.total for margin in each), Decimal(0))
        return BasketMargins(
            initial=_total_margin(initial),
            final=_total_margin(initial - self.hedge_benefit),
            orders=each,
            charges=_charges(_BROKERAGE * len(each)),
        )

    async def contract_note(
        self, session: BrokerSession, orders: Sequence[PricedOrder]
    ) -> list[ContractNoteLine]:
        self._raise(self._enter("contract_note"))
        return [
            ContractNoteLine(
                exchange=order.request.exchange.value,
                tradingsymbol=order.request.tradingsymbol,
                transaction_type=order.request.transaction_type.value,
                variety=order.request.variety.value,
                product=order.request.product.value,
                order_type=order.request.order_type.value,
                quantity=order.request.quantity,
                price=order.average_price,
                charges=_charges(_BROKERAGE),
            )
            for order in orders
        ]

    async def positions(self, session: BrokerSession) -> list[PositionReport]:
        self._raise(self._enter("positions"))
        return list(self.position_book)

    async def holdings(self, session: BrokerSession) -> list[HoldingReport]:
        self._raise(self._enter("holdings"))
        return list(self.holding_book)

    async def instruments(self, session: BrokerSession) -> list[Instrument]:
        self._raise(self._enter("instruments"))
        return list(self.instrument_list)

    async def quotes(
        self, session: BrokerSession, instruments: Sequence[str]
    ) -> dict[str, QuoteReport]:
        self._raise(self._enter("quotes"))
        return {key: self.marks[key] for key in instruments if key in self.marks}

    async def historical(self, session: BrokerSession, ask: CandleRequest) -> list[Candle]:
        self._raise(self._enter("historical"))
        if (ask.end - ask.start).days > ask.interval.max_days:
            raise ValidationError("interval exceeds max limit")  # as Kite's InputException
        self.candle_requests.append(ask)
        held = self.candles.get(ask.instrument_token, [])
        return [c for c in held if ask.start <= c.at <= ask.end]

    async def close(self) -> None:
        self.calls["close"] += 1

    def spoil(self, broker_order_id: BrokerOrderId) -> None:
        """Make the order's book row malformed, as Kite may send one (its id and tag legible)."""
        self.spoiled.add(broker_order_id)

    def fill(self, broker_order_id: BrokerOrderId, quantity: int | None = None) -> None:
        """Fill a resting order (fully by default) as the exchange would."""
        report = self.book[broker_order_id]
        filled = quantity if quantity is not None else report.quantity
        status = "COMPLETE" if filled >= report.quantity else "OPEN"
        self.book[broker_order_id] = replace(
            report, raw_status=status, filled_quantity=filled, average_price=report.price
        )
        self._trade(self.book[broker_order_id], filled - report.filled_quantity)

    def _trade(self, report: OrderStatusReport, quantity: int) -> None:
        """Add the trade-book row of an execution of ``quantity`` (none if nothing filled)."""
        request = self._requests.get(report.broker_order_id)
        if quantity <= 0 or request is None:
            return
        self.trade_book.append(
            FillReport(
                trade_id=TradeId(f"T{next(self._trade_ids):09d}"),
                broker_order_id=report.broker_order_id,
                exchange=request.exchange.value,
                tradingsymbol=request.tradingsymbol,
                product=request.product.value,
                transaction_type=request.transaction_type,
                quantity=quantity,
                price=report.average_price or report.price or _MARKET_PRICE,
                exchange_timestamp=self._clock.now() if self._clock else None,
            )
        )

    def _enter(self, operation: str) -> tuple[OrderServiceError, bool] | None:
        self.calls[operation] += 1
        queue = self._failures[operation]
        return queue.pop(0) if queue else None

    @staticmethod
    def _raise(failure: tuple[OrderServiceError, bool] | None) -> None:
        if failure is not None:
            raise failure[0]

    def _live(self, broker_order_id: BrokerOrderId) -> OrderStatusReport:
        report = self.book.get(broker_order_id)
        if report is None or report.status is None or report.status.is_terminal:
            raise InvalidTransition(f"order {broker_order_id} is not open at the broker")
        return report


def _new_report(
    broker_order_id: BrokerOrderId, request: OrderRequest, tag: str
) -> OrderStatusReport:
    market = request.order_type is OrderType.MARKET
    return OrderStatusReport(
        broker_order_id=broker_order_id,
        raw_status="COMPLETE" if market else "OPEN",
        tag=tag,
        quantity=request.quantity,
        filled_quantity=request.quantity if market else 0,
        price=request.price,
        trigger_price=request.trigger_price,
        average_price=request.price or (None if not market else _MARKET_PRICE),
    )


def _margin(request: OrderRequest) -> Margin:
    """An equity margin of the order's value, all of it VaR, with a flat ₹20 brokerage."""
    total = (request.price or _PREVIEW_LAST_PRICE) * request.quantity
    return replace(
        _total_margin(total),
        type="equity",
        exchange=request.exchange.value,
        tradingsymbol=request.tradingsymbol,
        var=total,
        leverage=Decimal(1),
        charges=_charges(_BROKERAGE),
    )


def _total_margin(total: Decimal) -> Margin:
    """A basket's ``initial``/``final``: no instrument, the whole total as VaR, no charges."""
    zero = Decimal(0)
    return Margin(
        type="",
        exchange="",
        tradingsymbol="",
        span=zero,
        exposure=zero,
        option_premium=zero,
        additional=zero,
        bo=zero,
        cash=zero,
        var=total,
        pnl_realised=zero,
        pnl_unrealised=zero,
        leverage=zero,
        charges=None,
        total=total,
    )


def _charges(brokerage: Decimal) -> ChargeBreakdown:
    """Charges of ``brokerage`` alone: every other part zero, so the total is the brokerage."""
    zero = Decimal(0)
    return ChargeBreakdown(
        transaction_tax=zero,
        transaction_tax_type="stt",
        exchange_turnover_charge=zero,
        sebi_turnover_charge=zero,
        brokerage=brokerage,
        stamp_duty=zero,
        gst=Gst(zero, zero, zero, zero),
        total=brokerage,
    )
