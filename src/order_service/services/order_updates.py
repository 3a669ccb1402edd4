"""Order updates from the broker's ticker: applied like a row of the order book.

The ticker connection is opened with the account's own access token, to the broker itself, so
its frames are as trustworthy as an ``orders()`` reply. Unlike a postback (which anyone can POST,
and which is therefore confirmed through ``order_history``), an update is applied directly:
forward-only, and only to the order whose broker id and tag it names. A repeat, or an update
older than what we hold, changes nothing. An update of an order placed outside the service (no
tag of our shape) records it as external at once, with its fills, as the book's pass would: an
exit sold in the Kite app reaches the books (and its attribution) within a second, not at the
book's slow cadence.
"""

from __future__ import annotations

from enum import StrEnum

from order_service.domain.account import EVERY_ACCOUNT
from order_service.domain.ids import AccountId
from order_service.domain.order import Order
from order_service.domain.reports import OrderStatusReport
from order_service.errors import AuthenticationError
from order_service.services.ports import (
    Broker,
    BrokerSession,
    Clock,
    OrderUpdate,
    UnitOfWork,
    UnitOfWorkFactory,
)
from order_service.services.trades import TradeSyncService
from order_service.services.writes import OrderWriter


class UpdateOutcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"  # no news: a repeat, or older than what we hold
    UNKNOWN_ACCOUNT = "unknown_account"  # names a broker user other than the stream's account
    EXTERNAL = "external"  # placed outside the service: recorded now, with its fills
    UNKNOWN_ORDER = "unknown_order"  # neither ours nor recordable as external (yet)
    MISMATCH = "mismatch"  # the broker id is ours but the tag is not: drift, never adopted
    MALFORMED = "malformed"  # the frame could not be read as an order


class OrderUpdateService:
    """Applies the order updates an account's stream delivers; knows which streams to open."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        broker: Broker,
        clock: Clock,
        trades: TradeSyncService,
    ) -> None:
        self._uow = uow_factory
        self._broker = broker
        self._clock = clock
        self._trades = trades
        self._writer = OrderWriter(uow_factory, clock)

    async def live_sessions(self) -> list[BrokerSession]:
        """Return the broker session of every account that is logged in now, by account id."""
        async with self._uow() as uow:
            accounts = await uow.accounts.list(EVERY_ACCOUNT)
        now = self._clock.now()
        return [
            BrokerSession(account.account_id, account.api_key, account.access_token)
            for account in accounts
            if not account.is_removed
            and account.has_live_session(now)
            and account.access_token is not None
        ]

    async def apply(
        self, account_id: AccountId, update: OrderUpdate, session: BrokerSession
    ) -> UpdateOutcome:
        """Apply one update received on ``account_id``'s stream (opened with ``session``, which
        also reads the order's new fills); say what became of it."""
        report = update.report
        if report is None:
            return UpdateOutcome.MALFORMED
        if update.user_id is not None and update.user_id != account_id:
            return UpdateOutcome.UNKNOWN_ACCOUNT
        async with self._uow() as uow:
            order = await _order_for(uow, account_id, report)
        if order is None:
            if await self._trades.record_external(account_id, report, session):
                return UpdateOutcome.EXTERNAL
            async with self._uow() as uow:  # another writer may have recorded it meanwhile
                order = await _order_for(uow, account_id, report)
        if order is None:
            return UpdateOutcome.UNKNOWN_ORDER
        if not order.is_reported_by(report):
            return UpdateOutcome.MISMATCH
        if not order.would_accept(report):
            return UpdateOutcome.DUPLICATE
        return await self._adopt(order, report, session)

    async def session_refused(self, session: BrokerSession) -> bool:
        """The stream's handshake was refused: confirm with the broker before logging out.

        A refused WebSocket is not proof that the token is dead (Kite also refuses a key's
        connections past its limit), and only a person can log the account in again; so one
        REST read with the same token decides. Return True if the token is confirmed dead (the
        account is now ``login_required``), False if the broker still accepts it.
        """
        try:
            await self._broker.margins(session)
        except AuthenticationError:
            await self._writer.expire_session(session)
            return True
        return False

    async def complete_fills(self, order: Order, session: BrokerSession) -> int:
        """Store the fills of ``order`` that the ledger lacks (its ``order_trades``), taking
        the ledger's totals; return how many were new. For an order that settled without its
        fills (whatever settled it could not read them), where the ledger must be whole now."""
        if order.broker_order_id is None or not order.filled_quantity:
            return 0
        trades = await self._trades.order_trades(session, order.broker_order_id)
        if not trades:
            return 0
        _, recorded = await self._trades.store_change(order, lambda _: False, trades)
        return recorded

    async def _adopt(
        self, order: Order, report: OrderStatusReport, session: BrokerSession
    ) -> UpdateOutcome:
        adopted = False

        def adopt(current: Order) -> bool:
            # Re-applied to a fresh copy if the row moved meanwhile; by then the same news may
            # have arrived another way (the placement, the sync).
            nonlocal adopted
            adopted = current.is_reported_by(report) and current.adopt(report, self._clock.now())
            return adopted

        # More filled: the fills themselves (with their trade ids) are read first and written
        # with the order's change in one transaction; if none can be read now, the update is
        # written alone and its fills are left to the trade book's pass.
        more_filled = report.filled_quantity > order.filled_quantity
        trades = (
            await self._trades.order_trades(session, report.broker_order_id) if more_filled else []
        )
        if trades:
            await self._trades.store_change(order, adopt, trades)
        else:
            await self._writer.update(order, adopt)
        return UpdateOutcome.APPLIED if adopted else UpdateOutcome.DUPLICATE


async def _order_for(
    uow: UnitOfWork, account_id: AccountId, report: OrderStatusReport
) -> Order | None:
    order = await uow.orders.get_by_broker_order_id(account_id, report.broker_order_id)
    if order is None and report.tag:
        # An order of unknown outcome has no broker id yet: its tag is how we recognise it.
        order = await uow.orders.get_by_tag(report.tag)
        if order is not None and (
            order.account_id != account_id or not order.may_be_found_by_tag(report)
        ):
            return None
    return order
