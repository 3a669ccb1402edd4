"""Targeted polling: read back, one ``order_history`` each, the orders that have gone quiet.

While an account's order stream is up, its whole order book is read only now and then; in
between, an unsettled order with no news for ``stale_after`` (counted from its last change,
the last book read and our last poll of it) is read on its own, the longest-unseen first and
at most ``per_pass`` of them per pass, so the polls never take more than their share of the
account's rate budget. Its newest history entry is applied as the order sync applies a book
row: only if it names this order (broker id and tag) and moves it forward.

An order without a broker id (NEW, SUBMITTING, or UNKNOWN after a lost reply) has no history
to read: only the book, searched by tag, can find it. Such an order asks for one book read
once it has gone ``stale_after`` without news, one more once its grace is over (the request
window for one still being placed, the unknown grace for an unknown outcome), and one as soon
as the process placing it is known to have ended: the reads in which reconciliation may
settle it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from order_service.domain.ids import AccountId, OrderId
from order_service.domain.order import Order
from order_service.domain.reports import OrderStatusReport
from order_service.domain.status import IN_FLIGHT, OUTCOME_UNKNOWN
from order_service.errors import (
    BROKER_REFUSALS,
    NOT_SENT,
    AuthenticationError,
    DataFormatError,
    NotFound,
    OrderServiceError,
)
from order_service.services.access import session_for
from order_service.services.liveness import Liveness
from order_service.services.ports import Broker, BrokerSession, Clock, UnitOfWorkFactory
from order_service.services.writes import OrderWriter

# A read that failed: the broker refused it, could not be reached, or answered nonsense.
_READ_FAILURES: tuple[type[OrderServiceError], ...] = (*BROKER_REFUSALS, DataFormatError)


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """When an order is polled, how many per pass, and when only the book can settle one."""

    stale_after: timedelta
    per_pass: int
    unknown_grace: timedelta
    in_flight: timedelta  # how long a NEW or SUBMITTING order belongs to its placing request


@dataclass(slots=True)
class PollResult:
    """What one targeted pass over an account read and changed."""

    reads: int = 0  # order_history calls the broker answered
    updated: int = 0
    mismatched: int = 0  # reports whose broker id is ours but whose tag is not
    refused: int = 0  # orders whose history the broker would not give (the pass went on)
    unmapped_statuses: list[str] = field(default_factory=list)
    book_needed: bool = False  # an order only the book can settle is due: nothing was polled
    stopped_by: OrderServiceError | None = None  # an account-wide refusal ended the pass


class PollingService:
    """Reads back the account's quiet unsettled orders one by one, within a per-pass cap."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        broker: Broker,
        clock: Clock,
        policy: PollPolicy,
        liveness: Liveness,
    ) -> None:
        self._uow = uow_factory
        self._broker = broker
        self._clock = clock
        self._policy = policy
        self._liveness = liveness
        self._writer = OrderWriter(uow_factory, clock)
        # When each unsettled order was last polled, per account; only unsettled ones are kept.
        self._polled: dict[AccountId, dict[OrderId, datetime]] = {}
        # In-flight orders whose placer was found dead, each of which asked for one book read.
        self._orphans: set[OrderId] = set()

    async def poll_account(self, account_id: AccountId, book_read_at: datetime) -> PollResult:
        """Poll the account's quiet orders, unless one that only the book can settle is due.

        ``book_read_at`` is when the last read of the account's whole book began: every order
        in it was seen then.
        """
        async with self._uow() as uow:
            account = await uow.accounts.get(account_id)
            orders = await uow.orders.list_unsettled(account_id)
        if account is None:
            raise NotFound(f"account {account_id} not found")
        now = self._clock.now()
        if any(self._asks_for_book(order, book_read_at, now) for order in orders):
            return PollResult(book_needed=True)
        if await self._newly_orphaned(orders):
            return PollResult(book_needed=True)  # the book settles them now, not in a window
        due = self._due(account_id, orders, book_read_at, now)
        if not due:
            return PollResult()
        try:
            session = session_for(account, now)
        except AuthenticationError:
            return PollResult()  # logged out: nothing can be read until the next login
        return await self._poll_all(session, due)

    async def _newly_orphaned(self, orders: Sequence[Order]) -> bool:
        """True if an order being placed without a broker id has lost its placing process."""
        in_flight = [
            o for o in orders if o.status in IN_FLIGHT and o.broker_order_id is None and o.placed_by
        ]
        self._orphans &= {o.order_id for o in in_flight}
        unasked = [o for o in in_flight if o.order_id not in self._orphans]
        placers = {o.placed_by for o in unasked if o.placed_by is not None}
        if not placers:
            return False
        dead = placers - await self._liveness.alive(placers)
        orphans = {o.order_id for o in unasked if o.placed_by in dead}
        self._orphans |= orphans
        return bool(orphans)

    def _asks_for_book(self, order: Order, book_read_at: datetime, now: datetime) -> bool:
        """True if a book-only order passed one of its milestones since the last book read."""
        if order.broker_order_id is not None or order.status not in OUTCOME_UNKNOWN:
            return False
        grace = self._policy.in_flight if order.status in IN_FLIGHT else self._policy.unknown_grace
        milestones = (order.updated_at + self._policy.stale_after, order.updated_at + grace)
        return any(book_read_at < milestone <= now for milestone in milestones)

    def _due(
        self, account_id: AccountId, orders: Sequence[Order], book_read_at: datetime, now: datetime
    ) -> list[Order]:
        """The quiet orders with a broker id, longest unseen first, at most ``per_pass``."""
        known = self._polled.get(account_id, {})
        polled = {o.order_id: known[o.order_id] for o in orders if o.order_id in known}
        self._polled[account_id] = polled

        def last_seen(order: Order) -> datetime:
            return max(order.updated_at, book_read_at, polled.get(order.order_id, book_read_at))

        quiet = [
            order
            for order in orders
            if order.broker_order_id is not None
            and now - last_seen(order) >= self._policy.stale_after
        ]
        quiet.sort(key=lambda order: (last_seen(order), order.order_id))
        return quiet[: self._policy.per_pass]

    async def _poll_all(self, session: BrokerSession, orders: Sequence[Order]) -> PollResult:
        result = PollResult()
        for order in orders:
            await self._poll(session, order, result)
            if result.stopped_by is not None:
                break
        return result

    async def _poll(self, session: BrokerSession, order: Order, result: PollResult) -> None:
        broker_order_id = order.broker_order_id
        assert broker_order_id is not None  # only orders with a broker id are due
        try:
            history = await self._broker.order_history(session, broker_order_id)
        except _READ_FAILURES as exc:
            self._after_failure(order, exc, result)
            return
        self._mark_polled(order)
        result.reads += 1
        if history:
            await self._apply(order, history[-1], result)

    def _after_failure(self, order: Order, exc: OrderServiceError, result: PollResult) -> None:
        """Stop the pass on what holds for the whole account; skip past a refusal of one order.

        A call that was never sent (budget, circuit, unreachable broker, expired session, Redis
        down) read nothing: the order stays first in line and the account waits for the next
        pass. Any other refusal concerns this order alone; it goes to the back of the line.
        """
        if isinstance(exc, NOT_SENT):
            result.stopped_by = exc
            return
        self._mark_polled(order)
        result.refused += 1

    async def _apply(self, order: Order, report: OrderStatusReport, result: PollResult) -> None:
        if report.status is None and not report.is_update:
            result.unmapped_statuses.append(report.raw_status)
        if not order.is_reported_by(report):
            result.mismatched += 1  # drift: never adopt another order's report
            return
        if not order.would_accept(report):
            return
        await self._writer.update(order, lambda o: o.adopt(report, self._clock.now()))
        result.updated += 1

    def _mark_polled(self, order: Order) -> None:
        self._polled.setdefault(order.account_id, {})[order.order_id] = self._clock.now()
