"""Closing a position without overshooting it: shared by the kill switch's flatten and
``POST /api/v1/positions/close``.

A close is one order of the opposite side for the position's whole net quantity, placed as
an ordinary order of the position's strategy. It is sent only when it cannot overshoot: the
broker's net quantity of the instrument and product equals our books' (a fill the trade book
has not given us yet would make the close too big), and no order of ours that trades it on the
closing side is still unsettled (its fill would add to the close).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from decimal import Decimal

from order_service.domain.ids import AccountId, StrategyId
from order_service.domain.order import AUTOMATIC_MARKET_PROTECTION, Order, OrderRequest
from order_service.domain.position import PositionView
from order_service.domain.reports import PositionReport
from order_service.domain.values import Exchange, OrderType, Product, TransactionType
from order_service.errors import Conflict
from order_service.services.book_lines import PositionLine

PositionKey = tuple[str, str, str]  # exchange, tradingsymbol, product


def key_of(net: PositionView) -> PositionKey:
    return (net.exchange, net.tradingsymbol, net.product)


def broker_net(reports: Sequence[PositionReport]) -> Counter[PositionKey]:
    """The broker's net quantity of each instrument and product."""
    net: Counter[PositionKey] = Counter()
    for report in reports:
        net[(report.exchange, report.tradingsymbol, report.product)] += report.quantity
    return net


def books_net(lines: Sequence[PositionLine]) -> Counter[PositionKey]:
    """Our books' net quantity of each instrument and product, every strategy's together."""
    net: Counter[PositionKey] = Counter()
    for line in lines:
        net[key_of(line.pair.net)] += line.pair.net.quantity
    return net


def closing_side(net: PositionView) -> TransactionType:
    return TransactionType.SELL if net.quantity > 0 else TransactionType.BUY


def trades_on_side(order: Order, key: PositionKey, side: TransactionType) -> bool:
    """True if ``order`` trades the position ``key`` on ``side``: a fill of it moves the
    position that way."""
    request = order.request
    return (
        request.exchange.value,
        request.tradingsymbol,
        request.product.value,
    ) == key and request.transaction_type is side


def overshoot(
    line: PositionLine,
    ours: Counter[PositionKey],
    broker: Counter[PositionKey],
    unsettled: Sequence[Order],
) -> Conflict | None:
    """Why closing this position could overshoot, if it could."""
    net = line.pair.net
    key = key_of(net)
    closing = closing_side(net)
    live = sorted(order.order_id for order in unsettled if trades_on_side(order, key, closing))
    if live:
        return Conflict(
            "not closed: orders on the closing side of this position are not settled at the"
            " broker, and a fill of theirs would add to the close; close again once they are",
            details={"order_ids": live},
            retryable=True,
        )
    if ours[key] != broker[key]:
        return Conflict(
            "not closed: the broker's net quantity of this instrument differs from our books'"
            " (a fill not yet recorded, or drift), so the close could overshoot",
            details={"books_net_quantity": ours[key], "broker_net_quantity": broker[key]},
            retryable=True,
        )
    return None


def closing_request(
    account_id: AccountId,
    strategy_id: StrategyId | None,
    net: PositionView,
    price: Decimal | None = None,
    market_protection: Decimal = Decimal(AUTOMATIC_MARKET_PROTECTION),
) -> OrderRequest:
    """An order of the opposite side for the whole net quantity, in the position's product,
    sliced by Kite's autoslice if it is over the freeze quantity: LIMIT at ``price`` if one is
    given, else MARKET with ``market_protection`` (automatic unless given)."""
    limit = price is not None
    return OrderRequest.create(
        account_id=account_id,
        exchange=Exchange(net.exchange),
        tradingsymbol=net.tradingsymbol,
        transaction_type=closing_side(net),
        quantity=abs(net.quantity),
        product=Product(net.product),
        order_type=OrderType.LIMIT if limit else OrderType.MARKET,
        price=price,
        market_protection=None if limit else market_protection,
        strategy_id=strategy_id,
        autoslice=True,
    )
