"""Keep our orders in step with the broker's order book, and settle orders of unknown outcome.

One pass (``sync_account``) reads the account's order book once and applies it as a set: our
orders for the book are loaded in a few queries, the changes are worked out in memory by the
domain, and everything is written in one transaction (one bulk update that keeps each row's
version check, bulk inserts of events and of external orders). An order another writer
changed meanwhile lost that race: it is read again and settled on its own, as before.

Drift (``order_service_reconciliation_drift_total{kind}``), each kind also an order event:
``order_status`` an order's state was behind the book and took it (the change's events say
``found_by``); ``unknown_failed`` an order given up as not at the broker; ``tag_mismatch`` a
book row with our order's broker id but another tag, never adopted (``OrderReportMismatched``,
once per order); ``external_order`` an order placed outside the service, recorded
(``ExternalOrderRecorded``). Without an order to hold an event: ``unknown_tag`` a row with the
tag of an order of ours under a broker id that order does not hold (left alone; an order we
gave up that the broker shows after all is one), ``external_unreadable`` a row of
an external order we cannot record (an unmapped status, terms we do not know), ``unreadable``
an order of ours missing from the book while a row we could not read may be it: left as it was,
never given up, until a pass reads a book without such a row.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from order_service.domain.account import EVERY_ACCOUNT
from order_service.domain.events import (
    FOUND_BY_ORDER_BOOK,
    NOT_FOUND_AT_BROKER,
    ORDER_REPORT_MISMATCHED,
)
from order_service.domain.external import external_order, has_our_tag_shape
from order_service.domain.ids import AccountId, BrokerOrderId, OrderId, new_order_id
from order_service.domain.order import Order
from order_service.domain.reports import OrderBook, OrderStatusReport
from order_service.domain.slicing import found_slices
from order_service.domain.status import IN_FLIGHT, OUTCOME_UNKNOWN, OrderStatus, OrderTrigger
from order_service.errors import AuthenticationError, NotFound
from order_service.services.access import session_for
from order_service.services.liveness import Liveness
from order_service.services.ports import Broker, Clock, OrderQuery, UnitOfWorkFactory
from order_service.services.writes import OrderWriter

# Orders whose send may have happened (or, for NEW, surely did not) and whose broker id we lack.

DRIFT_ORDER_STATUS = "order_status"
DRIFT_UNKNOWN_FAILED = "unknown_failed"
DRIFT_TAG_MISMATCH = "tag_mismatch"
DRIFT_UNKNOWN_TAG = "unknown_tag"
DRIFT_EXTERNAL_ORDER = "external_order"
DRIFT_EXTERNAL_UNREADABLE = "external_unreadable"
DRIFT_UNREADABLE = "unreadable"
DRIFT_SLICE_FOUND = "slice_found"


@dataclass(slots=True)
class SyncResult:
    """What one pass over an account's order book changed."""

    updated: int = 0
    resolved: int = 0
    failed: int = 0
    mismatched: int = 0  # reports whose broker id is ours but whose tag is not
    unmapped_statuses: list[str] = field(default_factory=list)
    external: int = 0  # orders placed outside the service, recorded for the first time
    unknown_tags: int = 0  # rows with the tag of an order of ours under another broker id
    unreadable: int = 0  # rows of external orders that could not be recorded
    unreadable_ours: int = 0  # our orders left as they were: an unreadable row may be theirs
    slices: int = 0  # slices of an autoslice order of ours, found unrecorded and recorded

    def drift(self) -> dict[str, int]:
        """Return the drift this pass found, by kind (the metric's label values)."""
        return {
            DRIFT_ORDER_STATUS: self.updated,
            DRIFT_UNKNOWN_FAILED: self.failed,
            DRIFT_TAG_MISMATCH: self.mismatched,
            DRIFT_UNKNOWN_TAG: self.unknown_tags,
            DRIFT_EXTERNAL_ORDER: self.external,
            DRIFT_EXTERNAL_UNREADABLE: self.unreadable,
            DRIFT_UNREADABLE: self.unreadable_ours,
            DRIFT_SLICE_FOUND: self.slices,
        }


class _Action(Enum):
    ADOPT = "adopt"
    GIVE_UP = "give_up"
    MISMATCH = "mismatch"
    LEAVE = "leave"  # absent from the book, but a row we could not read may be this order


@dataclass(frozen=True, slots=True)
class _Decision:
    action: _Action
    report: OrderStatusReport | None = None


@dataclass(slots=True)
class _Change:
    """One of our orders, changed in memory by a decision, waiting to be written."""

    order: Order
    decision: _Decision
    was_unresolved: bool
    by_tag: bool = False  # the order had no broker id: the book's row was found by its tag


@dataclass(frozen=True, slots=True)
class _Moment:
    """What every decision of one pass is taken against."""

    book: _Book
    fetched_at: datetime
    dead: Set[str]  # instance ids of placers known to have ended


class ReconcileService:
    """Applies broker order reports to our orders; forward-only, idempotent."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        broker: Broker,
        clock: Clock,
        unknown_grace: timedelta,
        request_window: timedelta,
        liveness: Liveness | None = None,
    ) -> None:
        self._uow = uow_factory
        self._broker = broker
        self._clock = clock
        self._grace = unknown_grace
        # A NEW or SUBMITTING order belongs to the request placing it for as long as that
        # request can live (its wait for a rate-budget slot plus the broker's timeout); only a
        # crash leaves one behind longer. Once its placing process is known to have ended, the
        # book decides at once; without liveness, every placer is taken to be alive.
        self._in_flight = max(unknown_grace, request_window)
        self._liveness = liveness
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
        """Read the account's order book once and apply all of it: a full pass.

        Every unsettled order is settled as far as the book allows, and rows of orders placed
        outside the service are recorded.
        """
        async with self._uow() as uow:
            account = await uow.accounts.get(account_id)
            unsettled = await uow.orders.list_unsettled(account_id) if account else []
        if account is None:
            raise NotFound(f"account {account_id} not found")
        try:
            session = session_for(account, self._clock.now())
        except AuthenticationError:
            return SyncResult()
        dead = await self._dead_placers(unsettled)
        # Read after liveness: whatever a dead placer sent is in this book.
        fetched_at = self._clock.now()
        moment = _Moment(_Book(await self._broker.orders(session)), fetched_at, dead)
        result = SyncResult(unmapped_statuses=moment.book.unmapped())
        changes = [c for c in (self._change(o, moment) for o in unsettled) if c is not None]
        claimed = {c.order.broker_order_id for c in changes} | _held_ids(unsettled)
        # Only an order this pass settles from its tag's first row (its placer is done with
        # it: the answer lost, or the placer ended) may have its other rows taken as slices.
        adopted = {
            c.order.order_id for c in changes if c.by_tag and c.decision.action is _Action.ADOPT
        }
        external, slices = await self._strangers(account_id, moment, claimed, adopted, result)
        await self._mark_mismatches_once(changes)
        lost = await self._write(changes, external, slices, result)
        for change in lost:
            await self._settle_alone(change.order, moment, result)
        return result

    async def _dead_placers(self, orders: list[Order]) -> Set[str]:
        placers = {o.placed_by for o in orders if o.status in IN_FLIGHT and o.placed_by}
        if not placers or self._liveness is None:
            return frozenset()
        return placers - await self._liveness.alive(placers)

    def _decide(self, order: Order, moment: _Moment) -> _Decision | None:
        in_flight = order.status in IN_FLIGHT
        abandoned = in_flight and order.placed_by in moment.dead
        waited = moment.fetched_at - order.updated_at
        past_grace = abandoned or waited >= (self._in_flight if in_flight else self._grace)
        if in_flight and not past_grace:
            return None  # the placing request is still running; it records its own outcome
        report = moment.book.find(order)
        if report is None:
            if moment.book.may_hold(order):
                return _Decision(_Action.LEAVE)  # never judge absent what we could not read
            if order.status in OUTCOME_UNKNOWN and past_grace:
                return _Decision(_Action.GIVE_UP)
            return None
        if not order.is_reported_by(report):
            return _Decision(_Action.MISMATCH, report)  # drift: never adopt another's report
        if not order.would_accept(report):
            return None
        return _Decision(_Action.ADOPT, report)

    def _change(self, order: Order, moment: _Moment) -> _Change | None:
        """Decide what the book means for ``order`` and apply it in memory."""
        decision = self._decide(order, moment)
        if decision is None:
            return None
        was_unresolved = order.status in OUTCOME_UNKNOWN
        by_tag = order.broker_order_id is None
        self._apply(order, decision)
        return _Change(order, decision, was_unresolved, by_tag)

    def _apply(self, order: Order, decision: _Decision) -> None:
        at = self._clock.now()
        if decision.action is _Action.ADOPT:
            assert decision.report is not None
            order.adopt(decision.report, at, found_by=FOUND_BY_ORDER_BOOK)
        elif decision.action is _Action.GIVE_UP:
            # Absent from a book fetched after the grace window (or after its placer ended):
            # never placed.
            trigger = (
                OrderTrigger.FAIL if order.status is OrderStatus.NEW else OrderTrigger.NOT_FOUND
            )
            order.move(trigger, at, reason=NOT_FOUND_AT_BROKER)

    async def _mark_mismatches_once(self, changes: list[_Change]) -> None:
        """Record a mismatch on the order the first time it is seen; later passes only count."""
        mismatched = [c for c in changes if c.decision.action is _Action.MISMATCH]
        if not mismatched:
            return
        async with self._uow() as uow:
            marked = await uow.orders.with_event(
                [c.order.order_id for c in mismatched], ORDER_REPORT_MISMATCHED
            )
        at = self._clock.now()
        for change in mismatched:
            if change.order.order_id not in marked:
                assert change.decision.report is not None
                change.order.record(ORDER_REPORT_MISMATCHED, at, **_mismatch(change.decision))

    async def _strangers(
        self,
        account_id: AccountId,
        moment: _Moment,
        claimed: Set[BrokerOrderId | None],
        adopted: Set[OrderId],
        result: SyncResult,
    ) -> tuple[list[Order], list[Order]]:
        """Return the book's orders placed outside the service that we have not recorded yet,
        and the unrecorded slices of autoslice orders of ours.

        A row carrying the tag of an order of ours is never external: it is a slice of that
        order if this pass settles the order from its tag's first row (``adopted``) and the
        rows under the tag add up to the quantity it asked for, else drift. A tag of our shape
        that no order of ours holds is someone else's: every order of ours is stored before it
        is sent, so its row exists before the broker can show it.
        """
        rows = [r for r in moment.book.reports if r.broker_order_id not in claimed]
        if not rows:
            return [], []
        async with self._uow() as uow:
            known = await uow.orders.known_broker_ids(account_id, [r.broker_order_id for r in rows])
            rows = [r for r in rows if r.broker_order_id not in known]
            shaped = [r.tag for r in rows if r.tag is not None and has_our_tag_shape(r.tag)]
            tags = await uow.orders.known_tags(account_id, shaped) if shaped else set()
            parents = [await uow.orders.get_by_tag(tag) for tag in sorted(tags)]
            foreign = [r for r in rows if r.tag is None or r.tag not in tags]
            strategy = await uow.strategies.get_default(account_id) if foreign else None
        ours = [r for r in rows if r.tag is not None and r.tag in tags]
        settling = [p for p in parents if p is not None and p.order_id in adopted]
        slices = self._lost_slices(settling, ours, moment)
        result.slices += len(slices)
        result.unknown_tags += len(ours) - len(slices)
        if strategy is None:
            result.unreadable += len(foreign)
            return [], slices
        at = self._clock.now()
        found = [
            external_order(new_order_id(), account_id, r, strategy.strategy_id, at) for r in foreign
        ]
        result.unreadable += sum(1 for order in found if order is None)
        return [order for order in found if order is not None], slices

    def _lost_slices(
        self, parents: list[Order], rows: list[OrderStatusReport], moment: _Moment
    ) -> list[Order]:
        """The orders of the unrecorded ``rows`` that are slices of one of ``parents``."""
        at = self._clock.now()
        found: list[Order] = []
        for parent in parents:
            tagged = moment.book.tagged(parent.tag)
            unrecorded = [r for r in tagged if r in rows]
            if unrecorded and _sliced(parent, tagged):
                ids = [new_order_id() for _ in unrecorded]
                found += found_slices(parent, unrecorded, ids, at)
        return found

    async def _write(
        self,
        changes: list[_Change],
        external: list[Order],
        slices: list[Order],
        result: SyncResult,
    ) -> list[_Change]:
        """Write the pass in one transaction; return the changes that lost a race.

        A mismatch already recorded changes nothing: it is counted, never written again.
        """
        writes = [c.order for c in changes if c.order.pending_events]
        if not writes and not external and not slices:
            for change in changes:
                _count(change, result)
            return []
        async with self._uow() as uow:
            recorded = await uow.orders.add_absent([*external, *slices])
            lost_orders = await uow.orders.save_all(writes)
            await uow.commit()
        outside = {o.order_id for o in external}
        result.external += sum(1 for o in recorded if o.order_id in outside)
        lost_ids = {o.order_id for o in lost_orders}
        for change in changes:
            if change.order.order_id not in lost_ids:
                _count(change, result)
        return [c for c in changes if c.order.order_id in lost_ids]

    async def _settle_alone(self, stale: Order, moment: _Moment, result: SyncResult) -> None:
        """Settle an order that changed under the pass: read it again, decide again, alone."""
        async with self._uow() as uow:
            fresh = await uow.orders.get(stale.order_id)
        decision = self._decide(fresh, moment) if fresh is not None else None
        if fresh is None or decision is None:
            return
        if decision.action is _Action.MISMATCH:
            result.mismatched += 1  # counted; the event waits for a pass that writes it
            return
        if decision.action is _Action.LEAVE:
            result.unreadable_ours += 1  # nothing to write
            return
        applied: list[_Change] = []

        def change(order: Order) -> None:
            applied.clear()
            found = self._change(order, moment)
            if found is not None:
                applied.append(found)

        await self._writer.update(fresh, change)
        for found in applied:
            _count(found, result)


def _count(change: _Change, result: SyncResult) -> None:
    action = change.decision.action
    if action is _Action.ADOPT:
        result.updated += 1
        result.resolved += int(change.was_unresolved)
    elif action is _Action.GIVE_UP:
        result.failed += 1
    elif action is _Action.LEAVE:
        result.unreadable_ours += 1
    else:
        result.mismatched += 1


def _sliced(parent: Order, tagged: list[OrderStatusReport]) -> bool:
    """True if the rows under the order's tag are its slices: several, of its instrument,
    adding up to the quantity it asked for (as stored, before any slice was taken)."""
    request = parent.request
    return (
        len(tagged) > 1
        and parent.broker_order_id is None
        and sum(r.quantity for r in tagged) == request.quantity
        and all(r.tradingsymbol in (None, request.tradingsymbol) for r in tagged)
    )


def _held_ids(orders: list[Order]) -> set[BrokerOrderId | None]:
    return {o.broker_order_id for o in orders if o.broker_order_id is not None}


def _mismatch(decision: _Decision) -> dict[str, str | None]:
    assert decision.report is not None
    return {"broker_order_id": decision.report.broker_order_id, "reported_tag": decision.report.tag}


class _Book:
    """The broker's order book indexed by broker id and by tag."""

    def __init__(self, book: OrderBook) -> None:
        self.reports = book.reports
        self._book = book
        self._by_id = {report.broker_order_id: report for report in self.reports}
        self._by_tag: dict[str, list[OrderStatusReport]] | None = None  # built when asked

    @property
    def _tagged(self) -> dict[str, list[OrderStatusReport]]:
        """The rows under each tag, in the order placed (Kite tags every slice of an
        autoslice alike); only orders without a broker id are looked up by tag."""
        if self._by_tag is None:
            self._by_tag = {}
            for report in sorted(self.reports, key=_placed_order):
                if report.tag:
                    self._by_tag.setdefault(report.tag, []).append(report)
        return self._by_tag

    def may_hold(self, order: Order) -> bool:
        """True if a row we could not read may be ``order``'s."""
        return self._book.may_hold(order.broker_order_id, order.tag)

    def find(self, order: Order) -> OrderStatusReport | None:
        if order.broker_order_id is not None:
            return self._by_id.get(order.broker_order_id)
        tagged = self._tagged.get(order.tag) if order.tag is not None else None
        return tagged[0] if tagged else None  # a sliced order is its first slice

    def tagged(self, tag: str | None) -> list[OrderStatusReport]:
        """The rows under ``tag``, in the order the broker placed them."""
        return list(self._tagged.get(tag, ())) if tag is not None else []

    def unmapped(self) -> list[str]:
        return sorted({r.raw_status for r in self.reports if r.status is None})


def _placed_order(report: OrderStatusReport) -> tuple[int, str]:
    """Kite's order ids grow with each order placed: compared as numbers when they are."""
    key = report.broker_order_id
    return (int(key), "") if key.isdigit() else (0, key)
