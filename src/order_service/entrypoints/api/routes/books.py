"""The books: positions, holdings, trades and P&L of the caller's accounts, JSON and CSV."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator, Iterable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from order_service.domain.ids import AccountId
from order_service.domain.pnl import PnlMethod
from order_service.entrypoints.api.book_schemas import (
    PNL_COLUMNS,
    TRADE_COLUMNS,
    HoldingsAnswer,
    PnlAnswer,
    PnlOut,
    PositionOut,
    TradeOut,
    TradePage,
    trade_row,
)
from order_service.entrypoints.api.deps import PrincipalDep, ServicesDep
from order_service.entrypoints.api.schemas import ErrorBody
from order_service.services.book_lines import GroupBy
from order_service.services.books import BooksService, PnlQuery

router = APIRouter(prefix="/api/v1", tags=["books"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 422, 429, 502, 503)
}
AccountParam = Annotated[str | None, Query(max_length=64)]
# The days the books answer for (``services.books``: 1990-01-01 to 2999-12-31), as ISO dates
# and nothing looser (Pydantic alone would take a datetime at midnight, or "0").
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DAY = {"pattern": r"^(?:199[0-9]|2[0-9]{3})-[0-9]{2}-[0-9]{2}$"}


def _iso_day(value: object) -> object:
    if isinstance(value, str) and not _ISO_DAY.fullmatch(value):
        raise PydanticCustomError("date_format", "a date as YYYY-MM-DD")
    return value


Day = Annotated[date, BeforeValidator(_iso_day)]
From = Annotated[
    Day | None,
    Query(alias="from", description="first trading day (IST)", json_schema_extra=_DAY),
]
To = Annotated[
    Day | None,
    Query(alias="to", description="last trading day (IST), included", json_schema_extra=_DAY),
]
CHARGE_NAMES = ("brokerage", "stt", "exchange_transaction", "sebi_fee", "stamp_duty", "gst", "dp")


@router.get("/positions", response_model=list[PositionOut], responses=ERRORS)
async def positions(
    services: ServicesDep,
    principal: PrincipalDep,
    account_id: AccountParam = None,
    group_by: GroupBy = GroupBy.ACCOUNT,
    day: Annotated[
        Day | None,
        Query(description="trading day (IST); today if absent", json_schema_extra=_DAY),
    ] = None,
) -> list[PositionOut]:
    """A day's positions as Kite shows them (``net`` and ``day``), per account or strategy.

    ``group_by=portfolio`` lists each visible portfolio's strategies' positions under its
    ``portfolio_id``: a strategy in several portfolios appears in each.
    """
    books = services.books
    lines = await books.positions(principal, _account(account_id), group_by, day or books.today())
    return [PositionOut.of(line) for line in lines]


@router.get("/holdings", response_model=HoldingsAnswer, responses=ERRORS)
async def holdings(
    services: ServicesDep, principal: PrincipalDep, account_id: AccountParam = None
) -> HoldingsAnswer:
    """The broker's holdings, with the quantity each strategy's delivery fills left in them;
    an account the broker could not be asked about is in ``unavailable`` with its error."""
    return HoldingsAnswer.of(await services.books.holdings(principal, _account(account_id)))


@router.get("/trades", response_model=TradePage, responses=ERRORS)
async def trades(
    services: ServicesDep,
    principal: PrincipalDep,
    account_id: AccountParam = None,
    start: From = None,
    end: To = None,
    cursor: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> TradePage:
    """The fill ledger, by sequence; pass ``next_cursor`` back as ``cursor`` for the next page."""
    books = services.books
    first, last = _days(books, start, end)
    found = await books.trades(principal, _account(account_id), first, last, cursor, limit)
    next_cursor = found[-1].sequence if len(found) == limit else None
    return TradePage(items=[TradeOut.of(fill) for fill in found], next_cursor=next_cursor)


@router.get("/trades.csv", response_class=StreamingResponse, responses=ERRORS)
async def trades_csv(
    services: ServicesDep,
    principal: PrincipalDep,
    account_id: AccountParam = None,
    start: From = None,
    end: To = None,
) -> StreamingResponse:
    """The range's fills as CSV, streamed page by page."""
    books = services.books
    first, last = _days(books, start, end)
    pages = books.stream_trades(principal, _account(account_id), first, last)
    rows = _trade_lines(pages, await anext(pages, None))  # refusals answer before the stream
    return _csv_response(rows, f"trades-{first}-{last}.csv")


def _pnl_query(
    services: ServicesDep,
    account_id: AccountParam = None,
    group_by: GroupBy = GroupBy.ACCOUNT,
    method: PnlMethod = PnlMethod.AVERAGE,
    start: From = None,
    end: To = None,
) -> PnlQuery:
    """The P&L question both P&L routes take (a dependency: its parameters are theirs)."""
    first, last = _days(services.books, start, end)
    return PnlQuery(_account(account_id), group_by, method, first, last)


PnlQueryDep = Annotated[PnlQuery, Depends(_pnl_query)]


@router.get("/pnl", response_model=PnlAnswer, responses=ERRORS)
async def pnl(services: ServicesDep, principal: PrincipalDep, query: PnlQueryDep) -> PnlAnswer:
    """Realised and unrealised P&L, each charge by name, total charges and net.

    ``group_by=portfolio`` answers one line per visible portfolio (``account_id`` null: it
    spans accounts), the sum of its strategies' lines; a strategy in several portfolios
    counts in each, so the portfolio lines need not add up to the accounts'.
    """
    return PnlAnswer.of(query, await services.books.pnl(principal, query))


@router.get("/pnl.csv", response_class=StreamingResponse, responses=ERRORS)
async def pnl_csv(
    services: ServicesDep, principal: PrincipalDep, query: PnlQueryDep
) -> StreamingResponse:
    """The P&L answer as CSV: one row per account or strategy, one column per charge."""
    lines = [PnlOut.of(line) for line in (await services.books.pnl(principal, query)).lines]
    return _csv_response(_pnl_lines(lines), f"pnl-{query.start}-{query.end}.csv")


def _account(account_id: str | None) -> AccountId | None:
    return AccountId(account_id) if account_id else None


def _days(books: BooksService, start: date | None, end: date | None) -> tuple[date, date]:
    """Default to today (IST); one bound alone means that one day."""
    last = end or start or books.today()
    return start or last, last


async def _trade_lines(
    pages: AsyncIterator[list[Any]], first: list[Any] | None
) -> AsyncIterator[str]:
    yield _line(TRADE_COLUMNS)
    page = first
    while page:
        yield "".join(_line(trade_row(fill).values()) for fill in page)
        page = await anext(pages, None)


async def _pnl_lines(lines: list[PnlOut]) -> AsyncIterator[str]:
    yield _line((*PNL_COLUMNS, *CHARGE_NAMES, "net"))
    for line in lines:
        head = [getattr(line, name) for name in PNL_COLUMNS]
        yield _line((*head, *(line.charges[name] for name in CHARGE_NAMES), line.net))


def _line(values: Iterable[object]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(["" if v is None else v for v in values])
    return out.getvalue()


def _csv_response(rows: AsyncIterator[str], filename: str) -> StreamingResponse:
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return StreamingResponse(rows, media_type="text/csv; charset=utf-8", headers=headers)
