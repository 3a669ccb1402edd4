"""Limits on a scope's book: its gross exposure and its loss of the day (DESIGN.md section 5).

A scope is an account, or one strategy inside its account; its book is what the books compute
from the fill ledger (``services/books.py``): the positions open now, each marked as the books
mark it (the broker's quote, else the last fill), and the day's P&L net of charges.

- Gross exposure is the sum over the scope's open positions of |net quantity| x mark, plus
  the unfilled part of each of its working orders at the order's price (its trigger for an
  SL-M, the last price for a MARKET one), plus the new order's value. Working orders count
  whichever side they are on: a resting order may fill before the one that would offset it.
- An order that only reduces a position (the other side of the scope's net position in the
  same instrument and product, for no more than what the scope's working orders on that side
  leave open) is never refused by either limit: it lowers the exposure, and a trader at the
  loss limit must be able to exit. An order that would turn a position over (sell more than
  is held) is not a reducing one: its whole value counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from order_service.domain.order import OrderRequest
from order_service.domain.risk import RiskScope
from order_service.domain.values import TransactionType
from order_service.errors import RiskCheckFailed

# (exchange, tradingsymbol, product): one position of a scope.
PositionKey = tuple[str, str, str]
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class HeldPosition:
    """A scope's open position: its net quantity (long above zero) and the price it is marked at."""

    quantity: int
    mark: Decimal


@dataclass(frozen=True, slots=True)
class ScopeBook:
    """A scope's open positions and its day's P&L (realised + unrealised, net of charges)."""

    positions: Mapping[PositionKey, HeldPosition]
    day_pnl: Decimal

    @property
    def exposure(self) -> Decimal:
        """The open positions' gross value: |net quantity| x mark, summed."""
        return sum((abs(p.quantity) * p.mark for p in self.positions.values()), ZERO)


EMPTY_BOOK = ScopeBook({}, ZERO)


@dataclass(frozen=True, slots=True)
class WorkingOrder:
    """The unfilled part of one of the scope's working orders, and the price it is valued at
    (None when there is none to be had: a MARKET order with no quote)."""

    exchange: str
    tradingsymbol: str
    product: str
    transaction_type: TransactionType
    open_quantity: int
    price: Decimal | None

    @property
    def position(self) -> PositionKey:
        return self.exchange, self.tradingsymbol, self.product


def position_of(request: OrderRequest) -> PositionKey:
    return request.exchange.value, request.tradingsymbol, request.product.value


def only_reduces(request: OrderRequest, book: ScopeBook, working: Sequence[WorkingOrder]) -> bool:
    """Whether the order only brings the scope's position in its instrument toward flat."""
    key = position_of(request)
    held = book.positions.get(key)
    if held is None or held.quantity == 0:
        return False
    side = request.transaction_type
    if (side is TransactionType.BUY) is (held.quantity > 0):
        return False  # the position's own side: it adds to it
    closing = sum(
        o.open_quantity for o in working if o.position == key and o.transaction_type is side
    )
    return request.quantity <= abs(held.quantity) - closing


def working_value(working: Sequence[WorkingOrder]) -> Decimal | None:
    """The working orders' unfilled value; None if one of them cannot be valued."""
    total = ZERO
    for order in working:
        if order.price is None:
            return None
        total += order.open_quantity * order.price
    return total


def check_gross_exposure(
    scope: RiskScope,
    limit: Decimal | None,
    book: ScopeBook,
    working: Sequence[WorkingOrder],
    order_value: Decimal | None,
) -> None:
    """The scope's positions, working orders and this order together over ``limit``; with a
    value that cannot be reckoned (no price and no quote), refused too. Not for an order that
    only reduces a position (the caller does not ask)."""
    if limit is None:
        return
    pending = working_value(working)
    value = (
        book.exposure + pending + order_value
        if pending is not None and order_value is not None
        else None
    )
    if value is None or value > limit:
        raise RiskCheckFailed(
            "max_gross_exposure",
            limit,
            value,
            f"the {scope.value}'s gross exposure with this order would be {value}: "
            f"the limit is {limit}"
            if value is not None
            else f"the {scope.value}'s gross exposure cannot be reckoned (an order with no "
            "price and no quote)",
            details={"scope": scope.value},
        )


def check_daily_loss(scope: RiskScope, limit: Decimal | None, book: ScopeBook) -> None:
    """The scope's day P&L at or below ``-limit``: no more orders that add exposure. Not for
    an order that only reduces a position (the caller does not ask)."""
    if limit is None or book.day_pnl > -limit:
        return
    loss = -book.day_pnl
    raise RiskCheckFailed(
        "max_daily_loss",
        limit,
        loss,
        f"the {scope.value} has lost {loss} today (net of charges): the limit is {limit}; "
        "only orders that reduce a position are taken",
        details={"scope": scope.value},
    )
