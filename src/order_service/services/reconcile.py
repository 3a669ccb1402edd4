"""Keep our orders in step with the broker's order book, and settle orders of unknown outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from order_service.domain.account import EVERY_ACCOUNT
from order_service.domain.events import NOT_FOUND_AT_BROKER
from order_service.domain.ids import AccountId
from order_service.domain.order import Order
from order_service.domain.reports import OrderStatusReport
from order_service.domain.status import OrderStatus, OrderTrigger
from order_service.errors import AuthenticationError, NotFound
from order_service.services.access import session_for
from order_service.services.ports import Broker, Clock, OrderQuery, UnitOfWorkFactory
from order_service.services.writes import OrderWriter

# Orders whose send may have happened (or, for NEW, surely did not) and whose broker id we lack.
_UNRESOLVED = frozenset({OrderStatus.NEW, OrderStatus.SUBMITTING, OrderStatus.UNKNOWN})
_IN_FLIGHT = frozenset({OrderStatus.NEW, OrderStatus.SUBMITTING})


@dataclass(slots=True)
class SyncResult:
    """What one pass over an account's order book changed."""

    updated: int = 0
    resolved: int = 0
    failed: int = 0
    mismatched: int = 0  # reports whose broker id is ours but whose tag is not
    unmapped_statuses: list[str] = field(default_factory=list)


class ReconcileService:
    """Applies broker order reports to our orders; forward-only, idempotent."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        broker: Broker,
        clock: Clock,
        unknown_grace: timedelta,
        request_window: timedelta,
    ) -> None:
        self._uow = uow_factory
        self._broker = broker
        self._clock = clock
        self._grace = unknown_grace
        # A NEW or SUBMITTING order belongs to the request placing it for as long as that
        # request can live (its wait for a rate-budget slot plus the broker's timeout); only a
        # crash leaves one behind longer, and only then may the book decide its fate.
        self._in_flight = max(unknown_grace, request_window)
        self._writer = OrderWriter(uow_factory, clock)

    async def accounts_to_sync(self) -> list[AccountId]:
        async with self._uow() as uow:
            return await uow.orders.accounts_with_unsettled()

    async def unknown_ages(self, limit: int = 1000) -> list[float]:
        """Return how long (seconds) each order of unknown outcome has waited, oldest first."""
        query = OrderQuery(EVERY_ACCOUNT, status=OrderStatus.UNKNOWN, limit=limit)
        async with self._uow() as uow:
            orders = await uow.orders.list(query)
        now = self._clock.now()
        return sorted(((now - order.updated_at).total_seconds() for order in orders), reverse=True)

    async def sync_account(self, account_id: AccountId) -> SyncResult:
        """Fetch the account's order book once and apply it to every unsettled order."""
        async with self._uow() as uow:
            account = await uow.accounts.get(account_id)
            orders = await uow.orders.list_unsettled(account_id)
        if account is None:
            raise NotFound(f"account {account_id} not found")
        if not orders:
            return SyncResult()
        try:
            session = session_for(account, self._clock.now())
        except AuthenticationError:
            return SyncResult()
        fetched_at = self._clock.now()
        book = _Book(await self._broker.orders(session))
        result = SyncResult(unmapped_statuses=book.unmapped())
        for order in orders:
            await self._apply(order, book, fetched_at, result)
        return result

    async def _apply(
        self, order: Order, book: _Book, fetched_at: datetime, result: SyncResult
    ) -> None:
        waited = fetched_at - order.updated_at
        in_flight = order.status in _IN_FLIGHT
        past_grace = waited >= (self._in_flight if in_flight else self._grace)
        if in_flight and not past_grace:
            return  # the placing request is still running; it records its own outcome
        report = book.find(order)
        if report is None:
            if order.status in _UNRESOLVED and past_grace:
                await self._give_up(order)
                result.failed += 1
            return
        if not order.is_reported_by(report):
            result.mismatched += 1  # drift: never adopt another order's report
            return
        if not order.would_accept(report):
            return
        was_unresolved = order.status in _UNRESOLVED
        await self._writer.update(order, lambda o: o.adopt(report, self._clock.now()))
        result.updated += 1
        result.resolved += int(was_unresolved)

    async def _give_up(self, order: Order) -> None:
        """An order absent from a book fetched after the grace window was never placed."""
        trigger = OrderTrigger.FAIL if order.status is OrderStatus.NEW else OrderTrigger.NOT_FOUND
        await self._writer.update(
            order, lambda o: o.move(trigger, self._clock.now(), reason=NOT_FOUND_AT_BROKER)
        )


class _Book:
    """The broker's order book indexed by broker id and by tag."""

    def __init__(self, reports: list[OrderStatusReport]) -> None:
        self._reports = reports
        self._by_id = {report.broker_order_id: report for report in reports}
        self._by_tag = {report.tag: report for report in reports if report.tag}

    def find(self, order: Order) -> OrderStatusReport | None:
        if order.broker_order_id is not None:
            return self._by_id.get(order.broker_order_id)
        return self._by_tag.get(order.tag)

    def unmapped(self) -> list[str]:
        return sorted({r.raw_status for r in self._reports if r.status is None})
