"""Broker truth as plain values: what the broker says about an order and its fills."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NewType

from order_service.domain.ids import BrokerOrderId
from order_service.domain.status import OrderStatus, map_kite_status
from order_service.domain.values import TransactionType

# The broker's id of one execution; unique within an account.
TradeId = NewType("TradeId", str)


@dataclass(frozen=True, slots=True)
class SliceReport:
    """One child of an autoslice placement: the order the broker placed, or why it did not."""

    broker_order_id: BrokerOrderId | None
    error_type: str | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class OrderStatusReport:
    """One broker snapshot of an order (a row of the order book or of its history)."""

    broker_order_id: BrokerOrderId
    raw_status: str
    tag: str | None = None
    exchange_order_id: str | None = None
    quantity: int = 0
    filled_quantity: int = 0
    pending_quantity: int = 0
    cancelled_quantity: int = 0
    disclosed_quantity: int | None = None
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    average_price: Decimal | None = None
    status_message: str | None = None
    reported_at: datetime | None = None
    # What the order is, as the book shows it (Kite's own words, unchecked): what an order
    # placed outside the service is recorded with.
    exchange: str | None = None
    tradingsymbol: str | None = None
    transaction_type: str | None = None
    product: str | None = None
    order_type: str | None = None
    variety: str | None = None
    validity: str | None = None
    validity_ttl: int | None = None
    placed_at: datetime | None = None

    @property
    def status(self) -> OrderStatus | None:
        """Return our state for the broker's status, or ``None`` if the status is unknown."""
        return map_kite_status(self.raw_status)

    @property
    def is_update(self) -> bool:
        """A postback's UPDATE: a fill or a modification that leaves the order where it was."""
        return self.raw_status.strip().upper() == "UPDATE"


@dataclass(frozen=True, slots=True)
class OrderBook:
    """The order book as read: the rows that parsed, and what names the rows that did not.

    A row we cannot read may be one of our orders: ``unreadable`` holds the broker ids and tags
    still legible on such rows, ``unnamed`` counts those on which neither was.
    """

    reports: list[OrderStatusReport]
    unreadable: frozenset[str] = frozenset()
    unnamed: int = 0

    def may_hold(self, broker_order_id: BrokerOrderId | None, tag: str | None) -> bool:
        """True if a row we could not read may be the order with this broker id or tag."""
        if self.unnamed:
            return True  # a row that names nothing may be any order
        return bool({broker_order_id, tag} & self.unreadable)


@dataclass(frozen=True, slots=True)
class SegmentMargins:
    """The broker's funds for one segment (``equity`` or ``commodity``), as Kite reports them."""

    segment: str
    enabled: bool
    net: Decimal
    available: dict[str, Decimal]
    utilised: dict[str, Decimal]


@dataclass(frozen=True, slots=True)
class FillReport:
    """One execution as the broker reports it (a row of the trade book)."""

    trade_id: TradeId
    broker_order_id: BrokerOrderId
    exchange: str
    tradingsymbol: str
    product: str
    transaction_type: TransactionType
    quantity: int
    price: Decimal
    exchange_timestamp: datetime | None = None

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValueError(f"a fill of {self.quantity}")
        if not self.price.is_finite() or self.price <= 0:
            raise ValueError(f"a fill at {self.price}")


@dataclass(frozen=True, slots=True)
class PositionReport:
    """One row of the broker's net position book: the quantity it holds open, and its marks."""

    exchange: str
    tradingsymbol: str
    product: str
    quantity: int
    overnight_quantity: int
    average_price: Decimal
    last_price: Decimal
    close_price: Decimal
    pnl: Decimal
    realised: Decimal
    unrealised: Decimal


@dataclass(frozen=True, slots=True)
class HoldingReport:
    """One delivered holding as the broker reports it (``t1_quantity`` not yet settled)."""

    exchange: str
    tradingsymbol: str
    isin: str | None
    quantity: int
    t1_quantity: int
    average_price: Decimal
    last_price: Decimal
    close_price: Decimal
    pnl: Decimal


@dataclass(frozen=True, slots=True)
class QuoteReport:
    """An instrument's last traded price, the previous session's close, and the day's circuit
    limits when the broker gives them (None: no band, as for most derivatives)."""

    exchange: str
    tradingsymbol: str
    last_price: Decimal
    close_price: Decimal
    lower_circuit: Decimal | None = None
    upper_circuit: Decimal | None = None
    # The day's open, high and low and its traded volume, when the broker gives them.
    open_price: Decimal | None = None
    high_price: Decimal | None = None
    low_price: Decimal | None = None
    volume: int | None = None
