"""Keep the fill ledger in step with the broker's trade book, and orders with their fills.

One pass reads the trade book and drops the trades the ledger holds (one lookup by trade id):
when none is new, that is the whole pass, and the order book is not read. Otherwise it reads
the order book once, loads our orders for the new trades' broker ids and their ledgers in a
few queries, works out each order's new fills and totals with the domain (``record_fills``),
and writes it all in one transaction: the orders whose totals moved first (one bulk update
keeping each row's version check), then the fills (one insert-if-new by account and trade id),
then the events of the orders that already held their fills' totals (the order book reported
them first), whose rows are left as they are. An order another writer changed meanwhile is
redone on its own. An order placed outside the service is recorded with its fills.

Drift (``order_service_reconciliation_drift_total{kind}``): ``fill_missed`` a fill the ledger
lacked (``OrderFillRecorded``); ``fill`` an order whose fills do not add up to the order
book's filled quantity (``OrderFillDriftFound`` when new fills leave it so); ``fill_tag_mismatch``
fills of our order's broker id in a book row with another tag (never attributed);
``fill_unknown_order`` fills of a broker order that is neither ours nor recordable as external;
``fill_unreadable`` fills whose order-book row could not be read (tried again the next pass).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from order_service.domain.account import EVERY_ACCOUNT
from order_service.domain.external import external_order, has_our_tag_shape
from order_service.domain.fill import Fill, FillSource, FillTotals, record_fills
from order_service.domain.ids import AccountId, BrokerOrderId, OrderId, StrategyId, new_order_id
from order_service.domain.instrument import fill_refusal
from order_service.domain.order import Order
from order_service.domain.reports import FillReport, OrderBook, OrderStatusReport, TradeId
from order_service.errors import (
    BROKER_REFUSALS,
    AuthenticationError,
    Conflict,
    DataFormatError,
    NotFound,
    StaleWrite,
)
from order_service.services.access import session_for
from order_service.services.instruments import InstrumentService
from order_service.services.ports import (
    Broker,
    BrokerSession,
    Clock,
    OrderQuery,
    UnitOfWorkFactory,
)
from order_service.services.reconcile import DRIFT_EXTERNAL_ORDER

_ATTEMPTS = 3
# An order's trades that cannot be read now: refused, unreachable, or answered nonsense.
_TRADES_UNREAD: tuple[type[Exception], ...] = (*BROKER_REFUSALS, DataFormatError)
# How many of the newest orders are looked at for ones completed within the recent window.
RECENT_PAGE = 500

DRIFT_FILL = "fill"
DRIFT_FILL_MISSED = "fill_missed"
DRIFT_FILL_UNKNOWN_ORDER = "fill_unknown_order"
DRIFT_FILL_TAG_MISMATCH = "fill_tag_mismatch"
DRIFT_FILL_UNREADABLE = "fill_unreadable"
DRIFT_FILL_REFUSED = "fill_refused"  # a fill the instrument master says cannot be


@dataclass(slots=True)
class TradeSyncResult:
    """What one pass over an account's trade book found and stored."""

    recorded: int = 0  # fills stored for the first time
    unknown: int = 0  # fills of broker orders that are neither ours nor recordable as external
    mismatched: int = 0  # fills of a broker id that is ours, in a book row whose tag is not
    drifted: int = 0  # orders whose order-book filled quantity differs from their fills
    external: int = 0  # orders placed outside the service, recorded for the first time
    unreadable: int = 0  # fills left for a later pass: their order-book row could not be read
    refused: list[RefusedFill] = field(default_factory=list)  # the instrument master refused

    def drift(self) -> dict[str, int]:
        """Return the drift this pass found, by kind (the metric's label values)."""
        return {
            DRIFT_FILL_MISSED: self.recorded,
            DRIFT_FILL: self.drifted,
            DRIFT_FILL_UNKNOWN_ORDER: self.unknown,
            DRIFT_FILL_TAG_MISMATCH: self.mismatched,
            DRIFT_EXTERNAL_ORDER: self.external,
            DRIFT_FILL_UNREADABLE: self.unreadable,
            DRIFT_FILL_REFUSED: len(self.refused),
        }


@dataclass(frozen=True, slots=True)
class RefusedFill:
    """A fill the instrument master says cannot be, and why."""

    report: FillReport
    reason: str


@dataclass(slots=True)
class _OrderFills:
    """One order's new fills, applied to it in memory, waiting to be written."""

    order: Order
    reports: list[FillReport]
    book_filled: int
    new: list[Fill] = field(default_factory=list)
    moved: bool = False  # the fills moved the order's totals: its row is rewritten


@dataclass(frozen=True, slots=True)
class _Books:
    """What one pass read: the trade book by broker id, and the order book's rows."""

    trades: dict[BrokerOrderId, list[FillReport]]
    rows: dict[BrokerOrderId, OrderStatusReport]
    book: OrderBook


class TradeSyncService:
    """Stores each fill of our orders once and makes the orders agree with their fills."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        broker: Broker,
        clock: Clock,
        recent: timedelta,
        instruments: InstrumentService | None = None,
    ) -> None:
        self._uow = uow_factory
        self._broker = broker
        self._clock = clock
        self._recent = recent
        self._instruments = instruments
        self._refused: set[TradeId] = set()  # named once: a lasting refusal is one report

    async def accounts_to_sync(self) -> list[AccountId]:
        """Return the accounts with working orders or orders that changed recently."""
        since = self._clock.now() - self._recent
        async with self._uow() as uow:
            unsettled = await uow.orders.accounts_with_unsettled()
            newest = await uow.orders.list(OrderQuery(EVERY_ACCOUNT, limit=RECENT_PAGE))
        recent = {o.account_id for o in newest if o.broker_order_id and o.updated_at >= since}
        return sorted(set(unsettled) | recent)

    async def accounts_short(self, account_ids: Collection[AccountId]) -> frozenset[AccountId]:
        """Return those of the accounts with a recent order whose fills the ledger lacks in
        part."""
        since = self._clock.now() - self._recent
        async with self._uow() as uow:
            return frozenset(await uow.fills.accounts_short(account_ids, since))

    async def fills_of(self, order_id: OrderId) -> list[Fill]:
        """Return the order's fills as the ledger holds them."""
        async with self._uow() as uow:
            return await uow.fills.for_order(order_id)

    async def sync_account(self, account_id: AccountId) -> TradeSyncResult:
        """Read the account's trade book once and store what is new of its orders' fills."""
        async with self._uow() as uow:
            account = await uow.accounts.get(account_id)
        if account is None:
            raise NotFound(f"account {account_id} not found")
        try:
            session = session_for(account, self._clock.now())
        except AuthenticationError:
            return TradeSyncResult()
        result = TradeSyncResult()
        listed = self._admitted(await self._broker.trades(session), result)
        trades = await self._unrecorded(account_id, listed)
        if not trades:
            return result
        # The book says which order a broker id is (its tag) and how much of it is filled.
        book = await self._broker.orders(session)
        rows = {report.broker_order_id: report for report in book.reports}
        books = _Books(_by_order(trades), rows, book)
        ours, external = await self._plan(account_id, books, result)
        for lost in await self._write(ours, external, result):
            recorded, totals = await self._store(lost.order, lost.reports, lost.book_filled)
            result.recorded += recorded
            result.drifted += int(totals.quantity != lost.book_filled)
        return result

    def _admitted(
        self, reports: list[FillReport], result: TradeSyncResult | None = None
    ) -> list[FillReport]:
        """The reports a loaded instrument master admits. The others never enter the ledger
        (a later pass, with a newer master, may admit them); each is named in ``result`` the
        first time this process refuses it, so a lasting refusal is counted once."""
        master = self._instruments.master if self._instruments is not None else None
        if master is None or not master.is_loaded:
            return reports
        admitted: list[FillReport] = []
        for report in reports:
            reason = fill_refusal(master, report)
            if reason is None:
                admitted.append(report)
            elif report.trade_id not in self._refused and result is not None:
                self._refused.add(report.trade_id)
                result.refused.append(RefusedFill(report, reason))
        return admitted

    async def _unrecorded(
        self, account_id: AccountId, trades: list[FillReport]
    ) -> list[FillReport]:
        """Return the trades whose trade id the account's ledger does not hold."""
        if not trades:
            return []
        async with self._uow() as uow:
            known = await uow.fills.known_trade_ids(account_id, {t.trade_id for t in trades})
        return [trade for trade in trades if trade.trade_id not in known]

    async def _plan(
        self, account_id: AccountId, books: _Books, result: TradeSyncResult
    ) -> tuple[list[_OrderFills], list[_OrderFills]]:
        """Work out, in memory, each traded order's new fills: ours, and external orders'."""
        async with self._uow() as uow:
            found = await uow.orders.by_broker_ids(account_id, list(books.trades))
            ledgers = _by_order_id(await uow.fills.for_orders([o.order_id for o in found]))
            strangers = len(found) < len(books.trades)
            default = await uow.strategies.get_default(account_id) if strangers else None
        default_id = default.strategy_id if default is not None else None
        orders = {o.broker_order_id: o for o in found}
        at = self._clock.now()
        ours: list[_OrderFills] = []
        external: list[_OrderFills] = []
        for broker_order_id, reports in books.trades.items():
            order, row = orders.get(broker_order_id), books.rows.get(broker_order_id)
            if row is None and books.book.may_hold(broker_order_id, None):
                result.unreadable += len(reports)  # whose fills these are, the next pass reads
            elif order is None:
                stranger = _stranger(account_id, row, default_id, at)
                if stranger is None or row is None:
                    result.unknown += len(reports)
                else:
                    pending = _OrderFills(stranger, reports, row.filled_quantity)
                    external.append(_applied(pending, [], at, result))
            elif row is None or not order.is_reported_by(row):
                result.mismatched += len(reports)  # never attribute another order's fills
            else:
                pending = _OrderFills(order, reports, row.filled_quantity)
                ours.append(_applied(pending, ledgers.get(order.order_id, []), at, result))
        return [o for o in ours if o.new or o.order.pending_events], external

    async def _write(
        self, ours: list[_OrderFills], external: list[_OrderFills], result: TradeSyncResult
    ) -> list[_OrderFills]:
        """Write the pass in one transaction; return the orders that lost a race, unwritten."""
        if not ours and not external:
            return []
        async with self._uow() as uow:
            recorded = {
                o.order_id for o in await uow.orders.add_absent([e.order for e in external])
            }
            moved = [p.order for p in ours if p.moved]
            lost = {o.order_id for o in await uow.orders.save_all(moved)}
            await uow.orders.append_events([p.order for p in ours if not p.moved])
            written = [p for p in ours if p.order.order_id not in lost]
            fills = [fill for pending in written for fill in pending.new]
            fills += [fill for e in external if e.order.order_id in recorded for fill in e.new]
            stored = await uow.fills.add_new(fills)
            if len(stored) != len(fills):
                # Another writer stored some of these fills since the ledger was read (it is
                # unique by trade id): write nothing of the pass, and settle each order alone.
                await uow.rollback()
                return ours
            await uow.commit()
        result.recorded += len(stored)
        result.external += len(recorded)
        return [p for p in ours if p.order.order_id in lost]

    async def record_external(
        self, account_id: AccountId, report: OrderStatusReport, session: BrokerSession
    ) -> bool:
        """Record an order placed outside the service that the account's stream names, with
        the fills ``order_trades`` gives (opened with ``session``), in one transaction.

        False if the row makes no record (a tag of our shape, a status or terms we cannot
        read, no default strategy) or another writer recorded the order first.
        """
        async with self._uow() as uow:
            default = await uow.strategies.get_default(account_id)
        at = self._clock.now()
        default_id = default.strategy_id if default is not None else None
        stranger = _stranger(account_id, report, default_id, at)
        if stranger is None:
            return False
        filled = report.filled_quantity
        reports = await self.order_trades(session, report.broker_order_id) if filled else []
        pending = _applied(_OrderFills(stranger, reports, filled), [], at, TradeSyncResult())
        result = TradeSyncResult()
        await self._write([], [pending], result)
        return result.external == 1

    async def order_trades(
        self, session: BrokerSession, broker_order_id: BrokerOrderId
    ) -> list[FillReport]:
        """Return one order's trades as the instrument master admits them; none if unreadable
        now (refused, unreachable, nonsense): the trade book's pass reads them later."""
        try:
            reports = await self._broker.order_trades(session, broker_order_id)
        except _TRADES_UNREAD:
            return []
        return self._admitted(reports)  # the trade book's pass names what it refuses

    async def store_change(
        self, order: Order, change: Callable[[Order], bool], reports: list[FillReport]
    ) -> tuple[Order, int]:
        """Apply ``change`` (True if it changed the order) and store the order with its new
        fills, in one transaction.

        The fills are those of ``reports`` (``order_trades``) the ledger lacks; the order takes
        the ledger's totals. If the row moved meanwhile, it is read again and both are applied
        again. Return the order as written and how many fills were new.
        """
        current = order
        for _ in range(_ATTEMPTS):
            changed = change(current)
            try:
                recorded, _ = await self._store_once(
                    current, reports, current.filled_quantity, FillSource.ORDER_TRADES, changed
                )
                return current, recorded
            except StaleWrite:
                current = await self._reload(order)
        raise _changed_concurrently(order)

    async def _store(
        self,
        order: Order,
        reports: list[FillReport],
        book_filled: int,
        source: FillSource = FillSource.TRADES,
    ) -> tuple[int, FillTotals]:
        """Store the new fills and the order's change in one transaction; retry a stale order."""
        current = await self._reload(order)
        for _ in range(_ATTEMPTS):
            try:
                return await self._store_once(current, reports, book_filled, source)
            except StaleWrite:
                current = await self._reload(order)
        raise _changed_concurrently(order)

    async def _store_once(
        self,
        order: Order,
        reports: list[FillReport],
        book_filled: int,
        source: FillSource,
        changed: bool = False,  # the order holds a change of its own to write
    ) -> tuple[int, FillTotals]:
        at = self._clock.now()
        fills = [Fill.of(order, report, source, at) for report in reports]
        async with self._uow() as uow:
            new = await uow.fills.add_new(fills)
            ledger = await uow.fills.for_order(order.order_id)
            if record_fills(order, new, ledger, book_filled, at) or changed:
                await uow.orders.save(order)
            await uow.commit()
        return len(new), FillTotals.of(ledger)

    async def _reload(self, order: Order) -> Order:
        async with self._uow() as uow:
            fresh = await uow.orders.get(order.order_id)
        if fresh is None:
            raise Conflict("the order disappeared", details={"order_id": order.order_id})
        return fresh


def _changed_concurrently(order: Order) -> Conflict:
    """The refusal once every attempt to write ``order`` lost to another writer."""
    return Conflict(
        "the order changed concurrently; retry",
        details={"order_id": order.order_id},
        retryable=True,
    )


def _stranger(
    account_id: AccountId,
    row: OrderStatusReport | None,
    default: StrategyId | None,
    at: datetime,
) -> Order | None:
    """Return the record of an order placed outside the service, if the book row makes one."""
    if row is None or default is None or has_our_tag_shape(row.tag):
        return None  # a row with a tag of our shape is ours or nobody's, never external
    return external_order(new_order_id(), account_id, row, default, at)


def _applied(
    pending: _OrderFills, ledger: list[Fill], at: datetime, result: TradeSyncResult
) -> _OrderFills:
    """Apply the reports the ledger lacks to the order in memory; count a lasting drift."""
    known = {fill.trade_id for fill in ledger}
    for report in pending.reports:
        if report.trade_id not in known:
            known.add(report.trade_id)
            pending.new.append(Fill.of(pending.order, report, FillSource.TRADES, at))
    combined = [*ledger, *pending.new]
    order = pending.order
    before = (order.filled_quantity, order.average_price)
    record_fills(order, pending.new, combined, pending.book_filled, at)
    pending.moved = (order.filled_quantity, order.average_price) != before
    result.drifted += int(FillTotals.of(combined).quantity != pending.book_filled)
    return pending


def _by_order(trades: list[FillReport]) -> dict[BrokerOrderId, list[FillReport]]:
    grouped: defaultdict[BrokerOrderId, list[FillReport]] = defaultdict(list)
    for report in trades:
        grouped[report.broker_order_id].append(report)
    return dict(grouped)


def _by_order_id(fills: list[Fill]) -> dict[OrderId, list[Fill]]:
    grouped: defaultdict[OrderId, list[Fill]] = defaultdict(list)
    for fill in fills:
        grouped[fill.order_id].append(fill)
    return dict(grouped)
