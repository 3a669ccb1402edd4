"""The books: positions, holdings, trades and P&L of the caller's accounts, from the fill ledger.

Every figure is computed from our fills (``domain.position``, ``domain.pnl``,
``domain.charges``); the broker is read only for what the ledger cannot know: the marks (its
quotes, within the quote budget, cached a few seconds) and its holdings. An account's view is
computed from all its fills together (average-price P&L does not add up across strategies);
a strategy's from that strategy's fills alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from time import monotonic

from order_service.domain.account import Account, AccountScope, Principal
from order_service.domain.charges import DELIVERY_PRODUCTS, Charges, ChargeSchedules
from order_service.domain.fill import Fill
from order_service.domain.ids import AccountId, StrategyId
from order_service.domain.pnl import PnlFigures, PnlMethod, average_pnl, pnl
from order_service.domain.portfolio import Portfolio
from order_service.domain.position import IST, MarkLookup, position_book
from order_service.domain.reports import HoldingReport
from order_service.domain.risk_book import HeldPosition, ScopeBook
from order_service.domain.values import TransactionType
from order_service.errors import (
    BROKER_UNREAD,
    OrderServiceError,
    ValidationError,
)
from order_service.services.access import session_for, visible_account
from order_service.services.book_charges import GroupCharges, Uncharged
from order_service.services.book_lines import (
    BookKey,
    GroupBy,
    PnlLine,
    PositionLine,
    added,
    portfolio_pnl,
    portfolio_positions,
)
from order_service.services.book_runs import BookRuns
from order_service.services.ledger import LedgerCache
from order_service.services.marks import MarkBoard, Traded, traded_instruments
from order_service.services.portfolios import visible_portfolios
from order_service.services.ports import (
    AllocationMark,
    Broker,
    Clock,
    FillPage,
    UnitOfWork,
    UnitOfWorkFactory,
)

PAGE = 1000  # fills per read when a range is streamed
# The days a book may be asked about: electronic trading in India, and far ahead of it.
FIRST_DAY, LAST_DAY = date(1990, 1, 1), date(2999, 12, 31)
_MEMO_SIZE = 64


@dataclass(frozen=True, slots=True)
class HoldingLine:
    account_id: AccountId
    holding: HoldingReport
    by_strategy: dict[StrategyId, int]


@dataclass(frozen=True, slots=True)
class PnlBook:
    lines: list[PnlLine]
    uncharged: list[Uncharged]  # executed orders no charge schedule covers: left out, named


@dataclass(frozen=True, slots=True)
class Holdings:
    items: list[HoldingLine]
    unavailable: list[tuple[AccountId, OrderServiceError]]


@dataclass(frozen=True, slots=True)
class PnlQuery:
    account_id: AccountId | None
    group_by: GroupBy
    method: PnlMethod
    start: date
    end: date


# An instrument's position of one book key: (key, exchange, tradingsymbol, product).
InstrumentKey = tuple[BookKey, str, str, str]
# Whose P&L, grouped how, over which days.
# (and the accounts' allocations as read: see ``LedgerCache.marked_history``).
_Question = tuple[tuple[AccountId, ...], "GroupBy", date, date, tuple[AllocationMark, ...]]


class BooksService:
    """Read-only use cases over the fill ledger."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        broker: Broker,
        clock: Clock,
        schedules: ChargeSchedules,
        marks: MarkBoard,
        max_days: int,
    ) -> None:
        self._uow = uow_factory
        self._broker = broker
        self._clock = clock
        self._schedules = schedules
        self._marks = marks
        self._max_days = max_days
        self._ledger = LedgerCache(uow_factory, clock)
        self._holdings: dict[AccountId, tuple[float, list[HoldingReport]]] = {}
        self._runs: BookRuns[_Question, InstrumentKey, BookKey] = BookRuns(schedules, _MEMO_SIZE)

    def today(self) -> date:
        return self._clock.now().astimezone(IST).date()

    async def positions(
        self, principal: Principal, account_id: AccountId | None, group_by: GroupBy, day: date
    ) -> list[PositionLine]:
        """Return a day's positions (Kite's net and day views) per account or strategy; per
        portfolio, each of its strategies' positions (a strategy in two portfolios is in both)."""
        _check_day(day, "day")
        accounts = await self._accounts(principal, account_id)
        fills = await self._history(accounts, day)
        marks = await self._marks_on(day, accounts, traded_instruments(fills))
        book = position_book(fills, day, _instrument_key(group_by), marks)
        lines = [PositionLine(key[0], pair) for key, pair in book.items()]
        if group_by is GroupBy.PORTFOLIO:
            lines = portfolio_positions(lines, await self._portfolios(principal))
        return sorted(lines, key=_position_order)

    async def pnl(self, principal: Principal, query: PnlQuery) -> PnlBook:
        """Return realised, unrealised, charges by name and net per account or strategy; per
        portfolio, the sums of its strategies' (a strategy in two portfolios counts in both)."""
        _check_range(query.start, query.end, self._max_days)
        accounts = await self._accounts(principal, query.account_id)
        figures, charges = await self._figures(accounts, query)
        lines = _pnl_lines(figures, charges.totals)
        if query.group_by is GroupBy.PORTFOLIO:
            lines = portfolio_pnl(lines, await self._portfolios(principal))
        return PnlBook(lines, charges.uncharged)

    async def scope_book(
        self, uow: UnitOfWork, account: Account, strategy_id: StrategyId | None
    ) -> ScopeBook:
        """Return today's book of the account (of one of its strategies, if given): its open
        positions as marked, and its day P&L (average price, as Kite's) net of charges. The
        new fills are read in the caller's ``uow`` (a placement's transaction)."""
        today = self.today()
        group_by = GroupBy.ACCOUNT if strategy_id is None else GroupBy.STRATEGY
        query = PnlQuery(account.account_id, group_by, PnlMethod.AVERAGE, today, today)
        figures, charges = await self._figures([account], query, uow)
        key = BookKey(account.account_id, strategy_id)
        mine = {k[1:]: figure for k, figure in figures.items() if k[0] == key}
        positions = {
            instrument: HeldPosition(figure.open_quantity, figure.mark.last_price)
            for instrument, figure in mine.items()
            if figure.open_quantity and figure.mark is not None
        }
        gross = sum((figure.gross for figure in mine.values()), Decimal(0))
        return ScopeBook(positions, gross - charges.totals.get(key, Charges.ZERO).total)

    async def _figures(
        self, accounts: Sequence[Account], query: PnlQuery, uow: UnitOfWork | None = None
    ) -> tuple[dict[InstrumentKey, PnlFigures], GroupCharges[BookKey]]:
        """The figures of each instrument of each book key, and the charges of each key."""
        owners = tuple(sorted(a.account_id for a in accounts))
        before = _start_of(query.end + timedelta(days=1))
        fills, allocated = await self._ledger.marked_history(owners, before, uow)
        group = _instrument_key(query.group_by)
        # An attribution applied since changes fills already fed: then the runs start afresh.
        question = (owners, query.group_by, query.start, query.end, allocated)
        run = self._runs.figures(
            question, fills, query.start, query.end, group, lambda fill: group(fill)[0]
        )
        # Only what is open at the end is marked (the net quantity is every method's).
        open_at_end = {
            (key[0].account_id, key[1], key[2])
            for key, tally in run.tallies.items()
            if tally.quantity and key[0].account_id is not None
        }
        marks = await self._marks_on(query.end, accounts, open_at_end)
        if query.method is PnlMethod.AVERAGE:
            figures = average_pnl(run.tallies, query.start, marks)
        else:
            figures = pnl(fills, query.method, query.start, query.end, group, marks)
        return figures, run.charges

    async def _portfolios(self, principal: Principal) -> list[Portfolio]:
        async with self._uow() as uow:
            return await visible_portfolios(uow, principal)

    async def _marks_on(
        self, day: date, accounts: Sequence[Account], traded: Iterable[Traded]
    ) -> MarkLookup:
        """Today's quotes for today; a past day is marked by its own last fills, not today's."""
        if day < self.today():
            return _no_quote
        return await self._marks.board(accounts, traded)

    async def holdings(self, principal: Principal, account_id: AccountId | None) -> Holdings:
        """Return each account's holdings as the broker reports them, attributed by our fills.

        An account the broker cannot be asked about now (no session, unreachable, out of
        budget, a reply we cannot read) is named with its error; the others are answered.
        """
        accounts = await self._accounts(principal, account_id)
        fills = await self._history(accounts, self.today() - timedelta(days=1))
        answer = Holdings([], [])
        for account in accounts:
            try:
                reports = await self._holdings_of(account)
            except BROKER_UNREAD as exc:
                answer.unavailable.append((account.account_id, exc))
                continue
            delivered = _delivered(fills, account.account_id)
            for holding in reports:
                owned = delivered.get(holding.tradingsymbol, {})
                answer.items.append(HoldingLine(account.account_id, holding, owned))
        return answer

    async def _holdings_of(self, account: Account) -> list[HoldingReport]:
        """The broker's holdings of the account, read at most once per quote TTL: a dashboard
        polling them must not spend the budget its cancels and syncs share."""
        held = self._holdings.get(account.account_id)
        if held is not None and monotonic() - held[0] < self._marks.ttl_seconds:
            return held[1]
        reports = await self._broker.holdings(session_for(account, self._clock.now()))
        self._holdings[account.account_id] = (monotonic(), reports)
        return reports

    async def trades(
        self,
        principal: Principal,
        account_id: AccountId | None,
        start: date,
        end: date,
        after: int | None,
        limit: int,
    ) -> list[Fill]:
        """Return one page of the fills executed on the days [start, end], by sequence."""
        _check_range(start, end, self._max_days)
        accounts = await self._accounts(principal, account_id)
        wanted = _page(accounts, start, end, after, limit)
        async with self._uow() as uow:
            return await uow.fills.page(wanted)

    async def stream_trades(
        self, principal: Principal, account_id: AccountId | None, start: date, end: date
    ) -> AsyncIterator[list[Fill]]:
        """Yield the range's fills page by page (a tax year never sits in memory at once)."""
        _check_range(start, end, self._max_days)
        accounts = await self._accounts(principal, account_id)
        after: int | None = None
        while True:
            async with self._uow() as uow:
                page = await uow.fills.page(_page(accounts, start, end, after, PAGE))
            if not page:
                return
            yield page
            after = page[-1].sequence

    async def _accounts(self, principal: Principal, account_id: AccountId | None) -> list[Account]:
        async with self._uow() as uow:
            if account_id is not None:
                return [await visible_account(uow, principal, account_id)]
            found = await uow.accounts.list(AccountScope.of(principal))
        return [account for account in found if not account.is_removed]

    async def _history(
        self, accounts: Sequence[Account], last_day: date, uow: UnitOfWork | None = None
    ) -> list[Fill]:
        before = _start_of(last_day + timedelta(days=1))
        return await self._ledger.history([a.account_id for a in accounts], before, uow)


def _no_quote(exchange: str, tradingsymbol: str) -> None:
    return None


def _instrument_key(group_by: GroupBy) -> Callable[[Fill], InstrumentKey]:
    """Return the grouping of fills by book key and instrument (one key object per owner)."""
    keys: dict[tuple[AccountId, StrategyId | None], BookKey] = {}
    # A portfolio's figures are its strategies': computed per strategy, then rolled up.
    by_strategy = group_by is not GroupBy.ACCOUNT

    def key_of(fill: Fill) -> InstrumentKey:
        report = fill.report
        owner = (fill.account_id, fill.strategy_id if by_strategy else None)
        key = keys.get(owner)
        if key is None:
            key = keys[owner] = BookKey(*owner)
        return key, report.exchange, report.tradingsymbol, report.product

    return key_of


def _pnl_lines(
    figures: dict[InstrumentKey, PnlFigures], charges: dict[BookKey, Charges]
) -> list[PnlLine]:
    """Sum the instruments' figures per book key (instruments add up; a key's own do not)."""
    totals: dict[BookKey, PnlFigures] = {}
    for (key, *_), figure in figures.items():
        held = totals.get(key)
        totals[key] = figure if held is None else added(held, figure)
    keys = sorted(set(totals) | set(charges), key=_key_order)
    return [PnlLine(key, totals.get(key, _NOTHING), charges.get(key, Charges.ZERO)) for key in keys]


def _delivered(fills: Sequence[Fill], account_id: AccountId) -> dict[str, dict[StrategyId, int]]:
    """Return, per scrip and strategy, the delivery quantity the account's fills left.

    By tradingsymbol across NSE and BSE (a holding is one row per scrip, wherever bought);
    a strategy that sold more than its fills bought (shares held from before) counts as none.
    """
    owned: dict[str, dict[StrategyId, int]] = {}
    for fill in fills:
        report = fill.report
        if fill.account_id != account_id or report.product not in DELIVERY_PRODUCTS:
            continue
        signed = (
            report.quantity if report.transaction_type is TransactionType.BUY else -report.quantity
        )
        by_strategy = owned.setdefault(report.tradingsymbol, {})
        by_strategy[fill.strategy_id] = by_strategy.get(fill.strategy_id, 0) + signed
    return {
        scrip: {strategy: held for strategy, held in strategies.items() if held > 0}
        for scrip, strategies in owned.items()
    }


def _page(
    accounts: Sequence[Account], start: date, end: date, after: int | None, limit: int
) -> FillPage:
    ids = frozenset(a.account_id for a in accounts)
    return FillPage(ids, _start_of(start), _start_of(end + timedelta(days=1)), after, limit)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=IST)


def _check_day(day: date, name: str) -> None:
    """Refuse a day no trading book can hold (the calendar's ends would overflow)."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValidationError(
            f"{name} must be between {FIRST_DAY} and {LAST_DAY}",
            field=name,
            details={name: str(day)},
        )


def _check_range(start: date, end: date, max_days: int) -> None:
    _check_day(start, "from")
    _check_day(end, "to")
    if start > end:
        raise ValidationError(
            "from is after to", field="from", details={"from": str(start), "to": str(end)}
        )
    if (end - start).days + 1 > max_days:
        raise ValidationError(
            f"the range is longer than {max_days} days; ask for a shorter one",
            field="to",
            details={"max_days": max_days},
        )


def _key_order(key: BookKey) -> tuple[str, str, str]:
    return key.portfolio_id or "", key.account_id or "", key.strategy_id or ""


def _position_order(line: PositionLine) -> tuple[str, str, str, str, str, str]:
    view = line.pair.net
    return (*_key_order(line.key), view.exchange, view.tradingsymbol, view.product)


_NOTHING = PnlFigures(realised=Decimal(0), unrealised=Decimal(0), open_quantity=0, mark=None)
