"""Flattening a halted scope: every working order cancelled at the broker, every open MIS
position squared off with a protected MARKET order (issue 13, the kill switch's ``flatten``).

The square-off orders are the halt's own: they are placed past the halt (nothing else is),
as ordinary orders of the position's strategy, so our books hold them like any other. Each is
keyed by the halt and the position, so flattening the same halt again never doubles them (a
square-off still working holds its position open, below). Each cancel and each square-off is
reported, and one failure never stops the rest.

A square-off never overshoots the close. Before any is sent, each order whose cancel the
broker accepted is read back (``order_history``, its fills stored with it) until the broker
shows it settled, a few reads at most: an exit order that filled before its cancel landed is
then in our books, not closed a second time. A position is then closed only if the broker's
net quantity for it equals our books' (a fill the trade book has not given us yet would make
the close too big), and no order of ours that trades it on the closing side is still
unsettled (its fill would add to the close); otherwise it is left open and reported with a
``CONFLICT`` that says why (``services.closing``), to flatten again once the orders
have settled.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from order_service.domain.account import AccountScope, Principal
from order_service.domain.halt import Halt, HaltKind
from order_service.domain.ids import AccountId, ClientOrderId, StrategyId, UserId
from order_service.domain.order import Order
from order_service.domain.position import PositionView
from order_service.domain.slicing import FLATTEN_KEY_PREFIX
from order_service.domain.values import Product
from order_service.errors import (
    BROKER_UNREAD,
    AuthenticationError,
    Conflict,
    NotFound,
    OrderServiceError,
)
from order_service.services.access import session_for
from order_service.services.amendments import AmendmentService
from order_service.services.book_lines import GroupBy, PositionLine
from order_service.services.books import BooksService
from order_service.services.cancellations import (
    CancelConfirmation,
    CancelOutcome,
    cancel_each,
    working_orders,
)
from order_service.services.closing import books_net, broker_net, closing_request, overshoot
from order_service.services.order_updates import OrderUpdateService
from order_service.services.orders import OrderService
from order_service.services.ports import (
    Broker,
    BrokerSession,
    Clock,
    OrderUpdate,
    UnitOfWorkFactory,
)
from order_service.services.strategies import refuse_scripts


@dataclass(frozen=True, slots=True)
class SquareOff:
    """One open MIS position and the order that closes it, or the typed error that stopped it."""

    account_id: AccountId
    strategy_id: StrategyId | None
    exchange: str
    tradingsymbol: str
    net_quantity: int
    order: Order | None = None
    error: OrderServiceError | None = None


@dataclass(frozen=True, slots=True)
class Flattening:
    cancels: tuple[CancelOutcome, ...]
    square_offs: tuple[SquareOff, ...]


class FlattenService:
    """Cancels and squares off what a halt covers, for the principal that engaged it."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        amendments: AmendmentService,
        orders: OrderService,
        books: BooksService,
        broker: Broker,
        updates: OrderUpdateService,
        clock: Clock,
        confirmation: CancelConfirmation,
        pause: Callable[[float], Awaitable[None]],
    ) -> None:
        self._uow = uow_factory
        self._amendments = amendments
        self._orders = orders
        self._books = books
        self._broker = broker
        self._updates = updates
        self._clock = clock
        self._confirmation = confirmation
        self._pause = pause

    def check_may_flatten(self, principal: Principal) -> None:
        """Refuse a script's key: it may halt its account, not cancel and close for people."""
        refuse_scripts(principal)

    async def flatten(self, principal: Principal, halt: Halt) -> Flattening:
        """Cancel every working order of the halt's accounts, then square off their MIS
        positions."""
        self.check_may_flatten(principal)
        cancels: list[CancelOutcome] = []
        square_offs: list[SquareOff] = []
        for account_id in await self._accounts(principal, halt):
            async with self._uow() as uow:
                working = await working_orders(uow, account_id)
            cancelled = await cancel_each(self._amendments, principal, working)
            cancels.extend(cancelled)
            session = await self._session(account_id)
            if session is not None:
                await self._confirm(account_id, session, cancelled)
            square_offs.extend(await self._square_off(principal, halt, account_id, session))
        return Flattening(tuple(cancels), tuple(square_offs))

    async def _session(self, account_id: AccountId) -> BrokerSession | None:
        async with self._uow() as uow:
            account = await uow.accounts.get(account_id)
        if account is None:
            raise NotFound(f"account {account_id} not found")
        try:
            return session_for(account, self._clock.now())
        except AuthenticationError:
            return None  # logged out: nothing can be read back, and no position is closed

    async def _confirm(
        self, account_id: AccountId, session: BrokerSession, cancels: Sequence[CancelOutcome]
    ) -> None:
        """Read back each order whose cancel was accepted until the broker shows it settled
        (cancelled, or filled first), storing what it shows and the fills our ledger lacks;
        at most ``reads`` reads each."""
        waiting = [c.order for c in cancels if c.error_code is None]
        for read in range(self._confirmation.reads):
            if not waiting:
                return
            if read:
                await self._pause(self._confirmation.pause)
            waiting = [o for o in waiting if not await self._settled(account_id, session, o)]

    async def _settled(self, account_id: AccountId, session: BrokerSession, order: Order) -> bool:
        """Bring the order to what the broker shows (one read at most); True once it is
        settled with its fills in the ledger."""
        fresh = await self._fresh(order)
        if fresh is not None and not fresh.status.is_terminal:
            if not await self._read_back(account_id, session, fresh):
                return False
            fresh = await self._fresh(order)
        if fresh is None:
            return True
        if not fresh.status.is_terminal:
            return False
        await self._updates.complete_fills(fresh, session)
        return True

    async def _read_back(self, account_id: AccountId, session: BrokerSession, order: Order) -> bool:
        """Apply the order's newest history entry, with its new fills; False if unread."""
        if order.broker_order_id is None:
            return False
        try:
            history = await self._broker.order_history(session, order.broker_order_id)
        except BROKER_UNREAD:
            return False  # read again at the next round; unsettled if it never answers
        if history:
            await self._updates.apply(account_id, OrderUpdate(history[-1]), session)
        return True

    async def _fresh(self, order: Order) -> Order | None:
        async with self._uow() as uow:
            return await uow.orders.get(order.order_id)

    async def _accounts(self, principal: Principal, halt: Halt) -> list[AccountId]:
        scope = halt.scope
        if scope.kind is HaltKind.ACCOUNT:
            return [AccountId(scope.key)]
        async with self._uow() as uow:
            if scope.kind is HaltKind.USER:
                user = await uow.users.get(UserId(scope.key))
                return sorted(user.account_ids) if user is not None else []
            accounts = await uow.accounts.list(AccountScope.of(principal))
        return [a.account_id for a in accounts if not a.is_removed]

    async def _square_off(
        self,
        principal: Principal,
        halt: Halt,
        account_id: AccountId,
        session: BrokerSession | None,
    ) -> list[SquareOff]:
        # The unsettled orders before the books: an exit that settles between the two reads
        # is then in one of them (working in the first, or filled in the second).
        async with self._uow() as uow:
            unsettled = await uow.orders.list_unsettled(account_id)
        today = self._books.today()
        lines = await self._books.positions(principal, account_id, GroupBy.STRATEGY, today)
        open_lines = [
            line
            for line in lines
            if line.pair.net.product == Product.MIS.value and line.pair.net.quantity != 0
        ]
        if not open_lines:
            return []
        try:
            if session is None:
                raise AuthenticationError("the account needs its daily login to be flattened")
            broker = broker_net(await self._broker.positions(session))
        except BROKER_UNREAD as exc:  # the broker's positions unread: nothing is closed blind
            return [replace(_found(account_id, line), error=exc) for line in open_lines]
        ours = books_net(open_lines)
        return [
            await self._close(
                principal, halt, account_id, line, overshoot(line, ours, broker, unsettled)
            )
            for line in open_lines
        ]

    async def _close(
        self,
        principal: Principal,
        halt: Halt,
        account_id: AccountId,
        line: PositionLine,
        unsafe: Conflict | None,
    ) -> SquareOff:
        net = line.pair.net
        strategy_id = line.key.strategy_id
        found = _found(account_id, line)
        if unsafe is not None:
            return replace(found, error=unsafe)
        try:
            request = closing_request(account_id, strategy_id, net)
            key = _key(halt, account_id, strategy_id, net)
            placed = await self._orders.place_order(
                principal, request, key, force=True, past_halt=True
            )
        except OrderServiceError as exc:  # reported per position; the others go on
            return replace(found, error=exc)
        return replace(found, order=placed.order)


def _found(account_id: AccountId, line: PositionLine) -> SquareOff:
    net = line.pair.net
    return SquareOff(
        account_id, line.key.strategy_id, net.exchange, net.tradingsymbol, net.quantity
    )


def _key(
    halt: Halt, account_id: AccountId, strategy_id: StrategyId | None, net: PositionView
) -> ClientOrderId:
    engaged = int(halt.engaged_at.timestamp() * 1_000_000)
    return ClientOrderId(
        f"{FLATTEN_KEY_PREFIX}{engaged}:{account_id}:{strategy_id}:{net.exchange}"
        f":{net.tradingsymbol}"
    )
