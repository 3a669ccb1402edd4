"""Compare each account's net positions with the broker's position book; record what differs.

Ours are the account-level net quantities of the day (IST) that the fill ledger gives
(``position_book`` over the account's fills up to the day's end, one group per exchange,
tradingsymbol and product); the broker's are the rows of its net position book. A key whose
net quantities differ is drift: the account event ``PositionDriftFound`` with both figures.

A difference that lasts is recorded once a day, not once a pass: a pass skips each
(key, ours, broker) that an event of the same day already holds, and counts only what it
records in ``order_service_reconciliation_drift_total{kind="position"}``, so the events and
the count agree. A difference that changes (either figure) is a new one.

The broker's book is read before the ledger: the ledger lags the broker (by up to the trade
sync's interval), and reading it second leaves the least room for a fill to be in one read
and not the other. What room is left, a fill the broker shows that the trade sync has not
stored yet, is not drift: a difference is recorded only when the previous pass of the account
(a position-sync interval earlier, far longer than the trade sync's) found it too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from order_service.domain.account import EVERY_ACCOUNT
from order_service.domain.account_events import POSITION_DRIFT_FOUND, AccountEvent
from order_service.domain.fill import Fill
from order_service.domain.ids import AccountId
from order_service.domain.position import IST, Mark, position_book
from order_service.domain.reports import PositionReport
from order_service.errors import AuthenticationError, NotFound
from order_service.services.access import session_for
from order_service.services.ledger import LedgerCache
from order_service.services.ports import (
    Broker,
    Clock,
    FillPage,
    FillRepository,
    UnitOfWorkFactory,
)

DRIFT_POSITION = "position"
# How many of an account's newest drift events a pass looks at for today's (a day of more
# distinct differences than this is not an account to reconcile by events).
RECENT_DRIFTS = 500
# How many of today's fills one look-up of the accounts that traded reads.
TRADED_PAGE = 100

PositionKey = tuple[str, str, str]  # exchange, tradingsymbol, product


@dataclass(slots=True)
class PositionSyncResult:
    """What one comparison of an account's positions with the broker's found."""

    compared: int = 0  # keys either side holds
    differing: int = 0  # keys whose net quantities differ
    recorded: int = 0  # differences recorded for the first time today

    def drift(self) -> dict[str, int]:
        """Return the drift this pass found, by kind (the metric's label values)."""
        return {DRIFT_POSITION: self.recorded}


class PositionSyncService:
    """Finds where the broker's net positions differ from the ledger's, and records it."""

    def __init__(self, uow_factory: UnitOfWorkFactory, broker: Broker, clock: Clock) -> None:
        self._uow = uow_factory
        self._broker = broker
        self._clock = clock
        self._ledger = LedgerCache(uow_factory, clock, attributed=False)  # the account as a whole
        # Each account's differences of its last pass: only one seen twice is recorded.
        self._seen: dict[AccountId, set[tuple[object, ...]]] = {}

    async def accounts_to_sync(self) -> list[AccountId]:
        """Return the accounts with a live session or with fills today."""
        now = self._clock.now()
        start = _start_of(_day_of(now))
        async with self._uow() as uow:
            accounts = [a for a in await uow.accounts.list(EVERY_ACCOUNT) if not a.is_removed]
            live = {a.account_id for a in accounts if a.has_live_session(now)}
            others = {a.account_id for a in accounts} - live
            traded = await _traded(uow.fills, others, start, start + timedelta(days=1))
        return sorted(live | traded)

    async def sync_account(self, account_id: AccountId) -> PositionSyncResult:
        """Compare the account's net positions with the broker's; record new differences."""
        async with self._uow() as uow:
            account = await uow.accounts.get(account_id)
        if account is None:
            raise NotFound(f"account {account_id} not found")
        now = self._clock.now()
        try:
            session = session_for(account, now)
        except AuthenticationError:
            return PositionSyncResult()
        theirs = _broker_quantities(await self._broker.positions(session))
        day = _day_of(now)
        fills = await self._ledger.history([account_id], _start_of(day + timedelta(days=1)))
        ours = _our_quantities(fills, day)
        differences = _differences(ours, theirs)
        result = PositionSyncResult(len(ours.keys() | theirs.keys()), len(differences))
        lasting = self._lasting(account_id, differences)
        if lasting:
            result.recorded = await self._record(account_id, lasting, now)
        return result

    def _lasting(
        self, account_id: AccountId, differences: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Return the differences the account's previous pass found too; remember these."""
        before = self._seen.get(account_id, set())
        self._seen[account_id] = {_fingerprint(data) for data in differences}
        return [data for data in differences if _fingerprint(data) in before]

    async def _record(
        self, account_id: AccountId, differences: list[dict[str, Any]], now: datetime
    ) -> int:
        """Store the differences no event of today holds yet; return how many were new."""
        day = _day_of(now)
        async with self._uow() as uow:
            events = uow.account_events
            recent = await events.recent(account_id, POSITION_DRIFT_FOUND, RECENT_DRIFTS)
            seen = {_fingerprint(e.data) for e in recent if _day_of(e.occurred_at) == day}
            new = [data for data in differences if _fingerprint(data) not in seen]
            for data in new:
                await events.add(AccountEvent(account_id, POSITION_DRIFT_FOUND, data, now))
            if new:
                await uow.commit()
        return len(new)


async def _traded(
    fills: FillRepository, candidates: Collection[AccountId], start: datetime, end: datetime
) -> set[AccountId]:
    """Return those of ``candidates`` with a fill in [start, end).

    Each look-up leaves out the accounts already found, so it finds at least one more or ends
    the search: one query when none traded.
    """
    remaining = set(candidates)
    found: set[AccountId] = set()
    while remaining:
        page = await fills.page(FillPage(frozenset(remaining), start, end, limit=TRADED_PAGE))
        if not page:
            break
        traded = {fill.account_id for fill in page}
        found |= traded
        remaining -= traded
    return found


def _our_quantities(fills: Iterable[Fill], day: date) -> dict[PositionKey, int]:
    """The account's net quantity of each key the ledger's position book of ``day`` holds."""
    book = position_book(fills, day, _key_of, _no_mark)
    return {key: pair.net.quantity for key, pair in book.items()}


def _broker_quantities(reports: Iterable[PositionReport]) -> dict[PositionKey, int]:
    quantities: defaultdict[PositionKey, int] = defaultdict(int)
    for report in reports:
        quantities[(report.exchange, report.tradingsymbol, report.product)] += report.quantity
    return dict(quantities)


def _differences(
    ours: dict[PositionKey, int], theirs: dict[PositionKey, int]
) -> list[dict[str, Any]]:
    """Return the data of a drift event for each key whose net quantities differ, by key."""
    found: list[dict[str, Any]] = []
    for key in sorted(ours.keys() | theirs.keys()):
        mine, broker = ours.get(key, 0), theirs.get(key, 0)
        if mine != broker:
            exchange, tradingsymbol, product = key
            found.append(
                {
                    "exchange": exchange,
                    "tradingsymbol": tradingsymbol,
                    "product": product,
                    "ours": mine,
                    "broker": broker,
                }
            )
    return found


def _fingerprint(data: dict[str, Any]) -> tuple[object, ...]:
    """What makes two drift events the same difference: the key and both quantities."""
    names = ("exchange", "tradingsymbol", "product", "ours", "broker")
    return tuple(data.get(name) for name in names)


def _key_of(fill: Fill) -> PositionKey:
    report = fill.report
    return report.exchange, report.tradingsymbol, report.product


def _no_mark(exchange: str, tradingsymbol: str) -> Mark | None:
    return None  # only quantities are compared: no position needs a price


def _day_of(at: datetime) -> date:
    return at.astimezone(IST).date()


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=IST)
