"""Flattening a halted scope: every working order cancelled at the broker, every open MIS
position squared off with a protected MARKET order (issue 13, the kill switch's ``flatten``).

The square-off orders are the halt's own: they are placed past the halt (nothing else is),
as ordinary orders of the position's strategy, so our books hold them like any other. Each is
keyed by the halt and the position, so flattening the same halt again answers the orders
already placed rather than doubling them. Positions are our books' (fills recorded so far);
each cancel and each square-off is reported, and one failure never stops the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from order_service.domain.account import AccountScope, Principal
from order_service.domain.halt import Halt, HaltKind
from order_service.domain.ids import AccountId, ClientOrderId, StrategyId, UserId
from order_service.domain.order import AUTOMATIC_MARKET_PROTECTION, Order, OrderRequest
from order_service.domain.position import PositionView
from order_service.domain.values import Exchange, OrderType, Product, TransactionType
from order_service.errors import OrderServiceError
from order_service.services.amendments import AmendmentService
from order_service.services.book_lines import GroupBy, PositionLine
from order_service.services.books import BooksService
from order_service.services.cancellations import CancelOutcome, cancel_each, working_orders
from order_service.services.orders import OrderService
from order_service.services.ports import UnitOfWorkFactory
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
    ) -> None:
        self._uow = uow_factory
        self._amendments = amendments
        self._orders = orders
        self._books = books

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
            cancels.extend(await cancel_each(self._amendments, principal, working))
            square_offs.extend(await self._square_off(principal, halt, account_id))
        return Flattening(tuple(cancels), tuple(square_offs))

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
        self, principal: Principal, halt: Halt, account_id: AccountId
    ) -> list[SquareOff]:
        today = self._books.today()
        lines = await self._books.positions(principal, account_id, GroupBy.STRATEGY, today)
        return [
            await self._close(principal, halt, account_id, line)
            for line in lines
            if line.pair.net.product == Product.MIS.value and line.pair.net.quantity != 0
        ]

    async def _close(
        self, principal: Principal, halt: Halt, account_id: AccountId, line: PositionLine
    ) -> SquareOff:
        net = line.pair.net
        strategy_id = line.key.strategy_id
        found = SquareOff(account_id, strategy_id, net.exchange, net.tradingsymbol, net.quantity)
        try:
            request = closing_request(account_id, strategy_id, net)
            key = _key(halt, account_id, strategy_id, net)
            placed = await self._orders.place_order(
                principal, request, key, force=True, past_halt=True
            )
        except OrderServiceError as exc:  # reported per position; the others go on
            return replace(found, error=exc)
        return replace(found, order=placed.order)


def closing_request(
    account_id: AccountId, strategy_id: StrategyId | None, net: PositionView
) -> OrderRequest:
    """A MARKET order of the opposite side for the whole net quantity, with automatic market
    protection, sliced by Kite's autoslice if it is over the freeze quantity."""
    side = TransactionType.SELL if net.quantity > 0 else TransactionType.BUY
    return OrderRequest.create(
        account_id=account_id,
        exchange=Exchange(net.exchange),
        tradingsymbol=net.tradingsymbol,
        transaction_type=side,
        quantity=abs(net.quantity),
        product=Product.MIS,
        order_type=OrderType.MARKET,
        market_protection=Decimal(AUTOMATIC_MARKET_PROTECTION),
        strategy_id=strategy_id,
        autoslice=True,
    )


def _key(
    halt: Halt, account_id: AccountId, strategy_id: StrategyId | None, net: PositionView
) -> ClientOrderId:
    engaged = int(halt.engaged_at.timestamp() * 1_000_000)
    return ClientOrderId(
        f"flatten:{engaged}:{account_id}:{strategy_id}:{net.exchange}:{net.tradingsymbol}"
    )
