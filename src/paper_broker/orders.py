"""Orders and trades as the paper exchange keeps them; every status change is a new state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from .instruments import Instrument
from .kite_enums import TransactionType

PUT_ORDER_REQ_RECEIVED = "PUT ORDER REQ RECEIVED"
AMO_REQ_RECEIVED = "AMO REQ RECEIVED"
VALIDATION_PENDING = "VALIDATION PENDING"
OPEN_PENDING = "OPEN PENDING"
OPEN = "OPEN"
TRIGGER_PENDING = "TRIGGER PENDING"
MODIFY_VALIDATION_PENDING = "MODIFY VALIDATION PENDING"
MODIFY_PENDING = "MODIFY PENDING"
MODIFIED = "MODIFIED"
CANCEL_PENDING = "CANCEL PENDING"
COMPLETE = "COMPLETE"
CANCELLED = "CANCELLED"
REJECTED = "REJECTED"
# What postbacks and the ticker report for a modification or a partial fill.
UPDATE = "UPDATE"

TERMINAL = frozenset({COMPLETE, CANCELLED, REJECTED})
# States in which a client may still modify or cancel the order.
WORKING = frozenset({OPEN, TRIGGER_PENDING, AMO_REQ_RECEIVED})
MAX_MODIFICATIONS = 25


class WorkingTerms(Protocol):
    """The terms an order is received on (a place request's, or a previous leg's)."""

    @property
    def order_type(self) -> str: ...
    @property
    def price(self) -> Decimal: ...
    @property
    def trigger_price(self) -> Decimal: ...
    @property
    def validity(self) -> str: ...
    @property
    def disclosed_quantity(self) -> int: ...
    @property
    def market_protection(self) -> Decimal: ...


def received_state(
    terms: WorkingTerms, quantity: int, now: datetime, status: str = PUT_ORDER_REQ_RECEIVED
) -> OrderState:
    """The first state of an order just received on ``terms``."""
    return OrderState(
        status=status,
        order_type=terms.order_type,
        quantity=quantity,
        price=terms.price,
        trigger_price=terms.trigger_price,
        validity=terms.validity,
        disclosed_quantity=terms.disclosed_quantity,
        market_protection=terms.market_protection,
        order_timestamp=now,
    )


@dataclass(frozen=True, slots=True)
class OrderState:
    """The mutable terms and status of an order at one point of its history."""

    status: str
    order_type: str
    quantity: int
    price: Decimal
    trigger_price: Decimal
    validity: str
    disclosed_quantity: int
    market_protection: Decimal
    order_timestamp: datetime
    exchange_order_id: str | None = None
    exchange_timestamp: datetime | None = None
    exchange_update_timestamp: datetime | None = None
    status_message: str | None = None
    status_message_raw: str | None = None
    filled_quantity: int = 0
    average_price: Decimal = Decimal(0)
    cancelled_quantity: int = 0
    modified: bool = False

    @property
    def pending_quantity(self) -> int:
        if self.status in TERMINAL:
            return 0
        return self.quantity - self.filled_quantity - self.cancelled_quantity


@dataclass(slots=True)
class Order:
    """An order of one user; `history` ends with the current `state`."""

    order_id: str
    user_id: str
    variety: str
    instrument: Instrument
    transaction_type: str
    product: str
    state: OrderState
    guid: str
    validity_ttl: int | None = None
    tag: str | None = None
    parent_order_id: str | None = None
    auction_number: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    system_tags: list[str] = field(default_factory=list)
    modifications: int = 0
    blocked_margin: Decimal = Decimal(0)
    history: list[OrderState] = field(default_factory=list)

    def move(self, **changes: Any) -> OrderState:
        """Record a new state of the order."""
        self.state = replace(self.state, **changes)
        self.history.append(self.state)
        return self.state

    @property
    def status(self) -> str:
        return self.state.status

    @property
    def is_buy(self) -> bool:
        return self.transaction_type == TransactionType.BUY

    @property
    def unplaced_quantity(self) -> int:
        """Quantity of an iceberg's legs not placed yet (zero for other orders)."""
        iceberg = self.meta.get("iceberg")
        return int(iceberg["remaining_quantity"]) if iceberg else 0

    @property
    def outstanding_quantity(self) -> int:
        """Everything the order may still trade: its own pending units and unplaced legs."""
        state = self.state
        return state.quantity - state.filled_quantity + self.unplaced_quantity

    @property
    def tags(self) -> list[str]:
        return ([self.tag] if self.tag else []) + self.system_tags


@dataclass(frozen=True, slots=True)
class Trade:
    trade_id: str
    order_id: str
    user_id: str
    instrument: Instrument
    product: str
    transaction_type: str
    quantity: int
    price: Decimal
    exchange_order_id: str
    filled_at: datetime
    order_timestamp: datetime


# Who hears of an order's updates (COMPLETE, CANCELLED, REJECTED, UPDATE): postbacks, the ticker.
OrderListener = Callable[[Order, str], None]
