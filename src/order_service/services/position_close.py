"""Closing positions on request (``POST /api/v1/positions/close``): one position, a
strategy's, or an account's.

Each open position of the scope (per strategy, instrument and product, as our books hold it)
gets one order of the opposite side for its whole net quantity, placed through the ordinary
placement (risk checks, control modes, halts, exactly once). A close is sent only when it
cannot overshoot (``services.closing``); otherwise the position is reported with the
``CONFLICT`` that says why.

A request with an idempotency key gives each position's close a key of its own, derived from
it: a repeat answers the orders the first request placed (as repeats, the broker not called
again), whatever they have filled meanwhile, and never closes a position twice. Without a key,
the overshoot check is what stops a second close while the first is working.

A delivery (CNC) position sold short on the day is a sale from holdings, settled by delivery:
it is reported, never bought back.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from order_service.domain.account import Principal
from order_service.domain.ids import AccountId, ClientOrderId, StrategyId
from order_service.domain.order import AUTOMATIC_MARKET_PROTECTION, Order
from order_service.domain.values import Product
from order_service.errors import (
    Conflict,
    NotFound,
    OrderServiceError,
    PermissionDenied,
    ValidationError,
)
from order_service.services.access import session_for
from order_service.services.book_lines import GroupBy, PositionLine
from order_service.services.books import BooksService
from order_service.services.closing import (
    PositionKey,
    books_net,
    broker_net,
    closing_request,
    key_of,
    overshoot,
)
from order_service.services.orders import OrderService, Placement
from order_service.services.ports import Broker, Clock, UnitOfWorkFactory

_KEY = re.compile(r"[A-Za-z0-9_\-:.]{1,64}")  # as the API's Idempotency-Key header


@dataclass(frozen=True, slots=True)
class CloseScope:
    """Which positions to close: an account's, narrowed to a strategy, an instrument, a
    product (any of them)."""

    account_id: AccountId
    strategy_id: StrategyId | None = None
    exchange: str | None = None
    tradingsymbol: str | None = None
    product: Product | None = None

    @property
    def names_instrument(self) -> bool:
        return self.tradingsymbol is not None

    def covers(self, line: PositionLine) -> bool:
        net = line.pair.net
        return (
            (self.strategy_id is None or line.key.strategy_id == self.strategy_id)
            and (self.exchange is None or net.exchange == self.exchange)
            and (self.tradingsymbol is None or net.tradingsymbol == self.tradingsymbol)
            and (self.product is None or net.product == self.product.value)
        )


@dataclass(frozen=True, slots=True)
class CloseTerms:
    """How to close: LIMIT at ``price`` (one instrument only), else protected MARKET."""

    price: Decimal | None = None
    market_protection: Decimal = Decimal(AUTOMATIC_MARKET_PROTECTION)
    force: bool = False  # a person closing a scope under script control


@dataclass(frozen=True, slots=True)
class Close:
    """One position of the scope: the order that closes it, or the error that stopped it."""

    account_id: AccountId
    strategy_id: StrategyId | None
    exchange: str
    tradingsymbol: str
    product: str
    net_quantity: int
    placement: Placement | None = None
    error: OrderServiceError | None = None


class PositionCloseService:
    """Closes the open positions of a scope for the principal, each with one order."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        orders: OrderService,
        books: BooksService,
        broker: Broker,
        clock: Clock,
    ) -> None:
        self._uow = uow_factory
        self._orders = orders
        self._books = books
        self._broker = broker
        self._clock = clock

    async def close(
        self, principal: Principal, scope: CloseScope, terms: CloseTerms, key: str | None
    ) -> list[Close]:
        """Close every open position of the scope; a repeated key answers the first closes."""
        scope = await self._checked(principal, scope, terms, key)
        lines = await self._books.positions(
            principal, scope.account_id, GroupBy.STRATEGY, self._books.today()
        )
        covered = [line for line in lines if scope.covers(line)]
        repeated, unanswered = await self._repeats(principal, scope.account_id, covered, key)
        open_lines = [line for line in unanswered if line.pair.net.quantity != 0]
        if scope.names_instrument and not (repeated or open_lines):
            raise NotFound(
                f"no open position in {scope.exchange}:{scope.tradingsymbol}",
                details={"exchange": scope.exchange, "tradingsymbol": scope.tradingsymbol},
            )
        closes = await self._close_open(principal, scope.account_id, lines, open_lines, terms, key)
        return [*repeated, *closes]

    async def _checked(
        self, principal: Principal, scope: CloseScope, terms: CloseTerms, key: str | None
    ) -> CloseScope:
        """The scope as this caller may close it: a script's key closes its strategy only."""
        if key is not None and not _KEY.fullmatch(key):
            raise ValidationError(
                "an idempotency key is 1 to 64 letters, digits and _-:.", field="idempotency_key"
            )
        if terms.price is not None and not scope.names_instrument:
            raise ValidationError(
                "a LIMIT close names one instrument (exchange and tradingsymbol): one price"
                " cannot close several",
                field="price",
            )
        bound = principal.strategy_id
        if bound is not None and scope.strategy_id not in (None, bound):
            raise PermissionDenied(
                f"this API key closes the positions of strategy {bound} only",
                details={"strategy_id": scope.strategy_id, "key_strategy_id": bound},
            )
        if bound is not None:
            scope = replace(scope, strategy_id=bound)
        if scope.strategy_id is not None:
            await self._check_strategy(scope.account_id, scope.strategy_id)
        return scope

    async def _check_strategy(self, account_id: AccountId, strategy_id: StrategyId) -> None:
        async with self._uow() as uow:
            strategy = await uow.strategies.get(strategy_id)
        if strategy is None or strategy.account_id != account_id:
            raise ValidationError(
                f"strategy {strategy_id} is not a strategy of account {account_id}",
                field="strategy_id",
                details={"strategy_id": strategy_id},
            )

    async def _repeats(
        self,
        principal: Principal,
        account_id: AccountId,
        lines: Sequence[PositionLine],
        key: str | None,
    ) -> tuple[list[Close], list[PositionLine]]:
        """The closes an earlier request with this key placed, and the lines it left."""
        if key is None:
            return [], list(lines)
        repeated: list[Close] = []
        rest: list[PositionLine] = []
        for line in lines:
            placement = await self._orders.repeat_of(principal, account_id, _key(key, line))
            if placement is None:
                rest.append(line)
            else:
                repeated.append(replace(_found(account_id, line), placement=placement))
        return repeated, rest

    async def _close_open(
        self,
        principal: Principal,
        account_id: AccountId,
        every: Sequence[PositionLine],
        lines: Sequence[PositionLine],
        terms: CloseTerms,
        key: str | None,
    ) -> list[Close]:
        """Close each of ``lines``; ``every`` is all the account's (every strategy's lines of
        an instrument count in its net, not only the scope's)."""
        if not lines:
            return []
        broker, unsettled = await self._state(account_id)
        ours = books_net(every)
        closes = []
        for line in lines:
            found = _found(account_id, line)
            refusal = _never_closed(line) or overshoot(line, ours, broker, unsettled)
            if refusal is not None:
                closes.append(replace(found, error=refusal))
            else:
                closes.append(await self._place(principal, found, line, terms, key))
        return closes

    async def _state(self, account_id: AccountId) -> tuple[Counter[PositionKey], list[Order]]:
        """The broker's net quantities and the account's unsettled orders. The broker's
        positions unread, nothing is closed blind: the error is the answer."""
        async with self._uow() as uow:
            account = await uow.accounts.get(account_id)
            unsettled = await uow.orders.list_unsettled(account_id)
        if account is None:
            raise NotFound(f"account {account_id} not found")
        session = session_for(account, self._clock.now())
        return broker_net(await self._broker.positions(session)), unsettled

    async def _place(
        self,
        principal: Principal,
        found: Close,
        line: PositionLine,
        terms: CloseTerms,
        key: str | None,
    ) -> Close:
        net = line.pair.net
        try:
            request = closing_request(
                found.account_id, line.key.strategy_id, net, terms.price, terms.market_protection
            ).validated()
            order_key = _key(key, line) if key is not None else None
            placement = await self._orders.place_order(principal, request, order_key, terms.force)
        except OrderServiceError as exc:  # reported per position; the others go on
            return replace(found, error=exc)
        return replace(found, placement=placement)


def _found(account_id: AccountId, line: PositionLine) -> Close:
    net = line.pair.net
    return Close(
        account_id,
        line.key.strategy_id,
        net.exchange,
        net.tradingsymbol,
        net.product,
        net.quantity,
    )


def _never_closed(line: PositionLine) -> Conflict | None:
    net = line.pair.net
    if net.product == Product.CNC.value and net.quantity < 0:
        return Conflict(
            "not closed: a delivery (CNC) sale is settled from holdings; buying it back is a"
            " new order, not a close",
            details={"net_quantity": net.quantity},
        )
    return None


def _key(key: str, line: PositionLine) -> ClientOrderId:
    """The close's own key: the request's, the strategy and the position."""
    exchange, tradingsymbol, product = key_of(line.pair.net)
    return ClientOrderId(f"close:{key}:{line.key.strategy_id}:{exchange}:{tradingsymbol}:{product}")
