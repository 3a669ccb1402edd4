"""Closing positions on request (``POST /api/v1/positions/close``): one position, a
strategy's, or an account's.

Each open position of the scope (per strategy, instrument and product, as our books hold it)
gets one order of the opposite side for its whole net quantity, placed through the ordinary
placement (risk checks, control modes, halts, exactly once). A close is sent only when it
cannot overshoot (``services.closing``); otherwise the position is reported with the
``CONFLICT`` that says why.

Two closes never both go out for one position: each order is stored only after a check
under the account's hold (which every placement takes) that no other order on the position's
closing side is unsettled or was placed since this close began: a concurrent close, in this
process or another, is refused with ``CONFLICT``.

A request with an idempotency key gives each position's close a key of its own, derived from
it, the trading day and the request (scope and terms): a repeat answers the orders the first
request placed (as repeats, the broker not called again), whatever they have filled meanwhile,
and never closes a position twice; the same key with another request, or on another day, is
``IDEMPOTENCY_CONFLICT``. Without a key, the checks above stop a second close while the first
is working.

Never closed, each reported with why: a delivery (CNC) position sold on the day (a sale from
holdings, settled by delivery, never bought back); a cover order's position (its own stop
leg closes it); in an account's close, an instrument that strategies hold on both sides (the
closes would cross, and one failing would leave the flat account open); and a position the
broker holds that our books do not (an order placed elsewhere, not recorded yet).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal

from order_service.domain.account import EVERY_ACCOUNT, Account, Principal
from order_service.domain.ids import AccountId, ClientOrderId, OrderId, StrategyId
from order_service.domain.order import AUTOMATIC_MARKET_PROTECTION, Order
from order_service.domain.slicing import CLOSE_KEY_PREFIX
from order_service.domain.values import Product, TransactionType
from order_service.errors import (
    Conflict,
    IdempotencyConflict,
    NotFound,
    OrderServiceError,
    PermissionDenied,
    ValidationError,
)
from order_service.services.access import session_for, visible_account
from order_service.services.book_lines import GroupBy, PositionLine
from order_service.services.books import BooksService
from order_service.services.closing import (
    PositionKey,
    books_net,
    broker_net,
    closing_request,
    key_of,
    overshoot,
    trades_on_side,
)
from order_service.services.orders import OrderService, Placement
from order_service.services.ports import (
    Broker,
    Clock,
    OrderQuery,
    UnitOfWork,
    UnitOfWorkFactory,
)

_KEY = re.compile(r"[A-Za-z0-9_\-:.]{1,64}")  # as the API's Idempotency-Key header
_REUSE_LOOKUP = 100  # earlier closes of one key read to find another request's
_NEWEST = 50  # the account's newest orders a close's last check reads


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
            self.strategy_id is None or line.key.strategy_id == self.strategy_id
        ) and self.covers_instrument(net.exchange, net.tradingsymbol, net.product)

    def covers_instrument(self, exchange: str, tradingsymbol: str, product: str) -> bool:
        return (
            (self.exchange is None or exchange == self.exchange)
            and (self.tradingsymbol is None or tradingsymbol == self.tradingsymbol)
            and (self.product is None or product == self.product.value)
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
        started, today = self._clock.now(), self._books.today()
        scope, account = await self._checked(principal, scope, terms, key)
        keys = _Keys.of(key, scope, terms, today) if key is not None else None
        if keys is not None:
            await self._check_reuse(scope.account_id, keys)
        # The unsettled orders before the books: an exit that settles between the two reads
        # is then in one of them (working in the first, or filled in the second).
        async with self._uow() as uow:
            unsettled = await uow.orders.list_unsettled(scope.account_id)
        lines = await self._books.positions(principal, scope.account_id, GroupBy.STRATEGY, today)
        covered = [line for line in lines if scope.covers(line)]
        repeated, unanswered = await self._repeats(principal, scope.account_id, covered, keys)
        open_lines = [line for line in unanswered if line.pair.net.quantity != 0]
        if scope.names_instrument and not (repeated or open_lines):
            raise NotFound(
                f"no open position in {scope.exchange}:{scope.tradingsymbol}",
                details={"exchange": scope.exchange, "tradingsymbol": scope.tradingsymbol},
            )
        if not open_lines and (repeated or scope.strategy_id is not None):
            return repeated  # nothing to close; an account's close still asks the broker
        closing = _Closing(scope, account, terms, keys, started, unsettled, lines)
        return [*repeated, *await self._close_open(principal, closing, open_lines)]

    async def _checked(
        self, principal: Principal, scope: CloseScope, terms: CloseTerms, key: str | None
    ) -> tuple[CloseScope, Account]:
        """The scope as this caller may close it (a script's key closes its strategy only),
        and the account, which the caller may see."""
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
        async with self._uow() as uow:
            account = await visible_account(uow, principal, scope.account_id)  # before all else
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
        return scope, account

    async def _check_strategy(self, account_id: AccountId, strategy_id: StrategyId) -> None:
        async with self._uow() as uow:
            strategy = await uow.strategies.get(strategy_id)
        if strategy is None or strategy.account_id != account_id:
            raise ValidationError(
                f"strategy {strategy_id} is not a strategy of account {account_id}",
                field="strategy_id",
                details={"strategy_id": strategy_id},
            )

    async def _check_reuse(self, account_id: AccountId, keys: _Keys) -> None:
        """Refuse the key if an earlier close used it for another request (or another day)."""
        async with self._uow() as uow:
            earlier = await uow.orders.with_key_prefix(account_id, keys.prefix, _REUSE_LOOKUP)
        other = [o.order_id for o in earlier if not o.client_order_id.startswith(keys.own)]
        if other:
            raise IdempotencyConflict(
                "this Idempotency-Key was used for another close (another scope, other terms or"
                " another day); send a new key",
                details={"order_ids": other},
            )

    async def _repeats(
        self,
        principal: Principal,
        account_id: AccountId,
        lines: Sequence[PositionLine],
        keys: _Keys | None,
    ) -> tuple[list[Close], list[PositionLine]]:
        """The closes an earlier request with this key placed, and the lines it left."""
        if keys is None:
            return [], list(lines)
        repeated: list[Close] = []
        rest: list[PositionLine] = []
        for line in lines:
            placement = await self._orders.repeat_of(principal, account_id, keys.of_line(line))
            if placement is None:
                rest.append(line)
            else:
                repeated.append(replace(_found(account_id, line), placement=placement))
        return repeated, rest

    async def _close_open(
        self, principal: Principal, closing: _Closing, lines: Sequence[PositionLine]
    ) -> list[Close]:
        """Close each of ``lines``, and name what the broker holds that our books do not."""
        account_id = closing.scope.account_id
        broker = await self._broker_net(closing.account)
        ours = books_net(closing.every)
        crossed = _crossed(closing.every) if closing.scope.strategy_id is None else set()
        closes = []
        for line in lines:
            found = _found(account_id, line)
            refusal = _never_closed(line, crossed) or overshoot(
                line, ours, broker, closing.unsettled
            )
            if refusal is not None:
                closes.append(replace(found, error=refusal))
            else:
                closes.append(await self._place(principal, closing, found, line))
        if closing.scope.strategy_id is None:
            closes += _unbooked(closing.scope, ours, broker)
        return closes

    async def _broker_net(self, account: Account) -> Counter[PositionKey]:
        """The broker's net quantities (a token refused meanwhile is reloaded by the gateway).
        Unread, nothing is closed blind: the error is the answer."""
        session = session_for(account, self._clock.now())
        return broker_net(await self._broker.positions(session))

    async def _place(
        self, principal: Principal, closing: _Closing, found: Close, line: PositionLine
    ) -> Close:
        terms = closing.terms
        try:
            request = closing_request(
                found.account_id,
                line.key.strategy_id,
                line.pair.net,
                terms.price,
                terms.market_protection,
            ).validated()
            order_key = closing.keys.of_line(line) if closing.keys is not None else None
            guard = _Unraced(key_of(line.pair.net), request.transaction_type, closing)
            placement = await self._orders.place_order(
                principal, request, order_key, terms.force, closing=guard
            )
        except OrderServiceError as exc:  # reported per position; the others go on
            return replace(found, error=exc)
        closing.placed.update(o.order_id for o in (placement.order, *placement.slices))
        return replace(found, placement=placement)


@dataclass(frozen=True, slots=True)
class _Keys:
    """The order keys of one request's closes: ``close:<n>:<key>:<request>:<position>``."""

    prefix: str  # every close of this caller's key
    own: str  # this request's: the key, the day, the scope and terms

    @classmethod
    def of(cls, key: str, scope: CloseScope, terms: CloseTerms, day: date) -> _Keys:
        asked = "|".join(
            str(part)
            for part in (
                day,
                scope.strategy_id,
                scope.exchange,
                scope.tradingsymbol,
                scope.product,
                # A number's value, not its digits: 1600 and 1600.00 ask for the same close.
                terms.price.normalize() if terms.price is not None else None,
                terms.market_protection.normalize(),
            )
        )
        digest = hashlib.sha256(asked.encode()).hexdigest()[:12]
        prefix = f"{CLOSE_KEY_PREFIX}{len(key)}:{key}:"  # the length: keys may hold ":"
        return cls(prefix, f"{prefix}{digest}:")

    def of_line(self, line: PositionLine) -> ClientOrderId:
        exchange, tradingsymbol, product = key_of(line.pair.net)
        strategy = line.key.strategy_id
        return ClientOrderId(f"{self.own}{strategy}:{exchange}:{tradingsymbol}:{product}")


@dataclass(slots=True)
class _Closing:
    """One close request as it goes: what it asked, what it read first, what it placed."""

    scope: CloseScope
    account: Account
    terms: CloseTerms
    keys: _Keys | None
    started: datetime
    unsettled: list[Order]
    every: list[PositionLine]  # all the account's lines: every strategy's count in a net
    placed: set[OrderId] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class _Unraced:
    """Under the account's hold: no other order on the position's closing side is unsettled,
    or was placed since the close began (a concurrent close; an exit that filled meanwhile)."""

    key: PositionKey
    side: TransactionType
    closing: _Closing

    async def check(self, uow: UnitOfWork, order: Order) -> None:
        unsettled = await uow.orders.list_unsettled(order.account_id)
        newest = await uow.orders.list(
            OrderQuery(EVERY_ACCOUNT, account_id=order.account_id, limit=_NEWEST)
        )
        since = self.closing.started
        if len(newest) == _NEWEST and newest[-1].created_at >= since:
            raise _raced([o.order_id for o in newest])  # too many since: refuse, to be safe
        # Placed since the close began, and able to have filled (a refused one was not).
        recent = [o for o in newest if o.created_at >= since and _may_have_filled(o)]
        rivals = sorted(
            {
                other.order_id
                for other in [*unsettled, *recent]
                if other.order_id not in self.closing.placed
                and trades_on_side(other, self.key, self.side)
            }
        )
        if rivals:
            raise _raced(rivals)


def _may_have_filled(order: Order) -> bool:
    return not order.status.is_terminal or order.filled_quantity > 0


def _raced(order_ids: list[OrderId]) -> Conflict:
    return Conflict(
        "not closed: another order on the closing side of this position was placed meanwhile"
        " (another close, or an exit); close again once it has settled",
        details={"order_ids": order_ids},
        retryable=True,
    )


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


def _crossed(lines: Sequence[PositionLine]) -> set[PositionKey]:
    """The instruments and products that strategies hold on both sides (long and short)."""
    signs: dict[PositionKey, set[bool]] = {}
    for line in lines:
        if line.pair.net.quantity:
            signs.setdefault(key_of(line.pair.net), set()).add(line.pair.net.quantity > 0)
    return {key for key, seen in signs.items() if len(seen) == 2}


def _never_closed(line: PositionLine, crossed: set[PositionKey]) -> Conflict | None:
    net = line.pair.net
    if net.product == Product.CNC.value and net.quantity < 0:
        return Conflict(
            "not closed: a delivery (CNC) sale is settled from holdings; buying it back is a"
            " new order, not a close",
            details={"net_quantity": net.quantity},
        )
    if net.product == Product.CO.value:
        return Conflict(
            "not closed: a cover order's position is closed by exiting the cover order (its"
            " stop-loss leg), not by a new order",
            details={"product": net.product},
        )
    if key_of(net) in crossed:
        return Conflict(
            "not closed: strategies hold this instrument on both sides, so an account's close"
            " would send crossing orders; close it strategy by strategy",
            details={"net_quantity": net.quantity},
        )
    return None


def _unbooked(
    scope: CloseScope, ours: Counter[PositionKey], broker: Counter[PositionKey]
) -> list[Close]:
    """The broker's open positions in the scope that our books do not hold at all."""
    found = []
    for (exchange, tradingsymbol, product), quantity in sorted(broker.items()):
        covered = scope.covers_instrument(exchange, tradingsymbol, product)
        if quantity and covered and (exchange, tradingsymbol, product) not in ours:
            error = Conflict(
                "not closed: the broker holds this position and our books do not (an order"
                " placed elsewhere, not recorded yet); close it once it is recorded",
                details={"broker_net_quantity": quantity},
                retryable=True,
            )
            close = Close(scope.account_id, None, exchange, tradingsymbol, product, quantity)
            found.append(replace(close, error=error))
    return found
