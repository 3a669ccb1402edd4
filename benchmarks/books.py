"""Books benchmark: the computation's fills per second, and ``GET /api/v1/pnl`` over a busy day.

1. Computation (no database): ``--fills`` synthetic fills (one account, two strategies, 20
   instruments across equity intraday and delivery, futures and options, executed orders of 5
   fills each, over five trading days) through the position book, average and FIFO P&L, and
   the charges of every executed order (``services.book_charges``). CPU is
   ``time.process_time()`` of one thread; target (issue 10): >= 200,000 fills/s for each.
2. The API: a migrated SQLite file (the embedded default) and the real services from
   ``bootstrap`` with the in-memory ``FakeBroker`` (quotes included); ``--orders`` LIMIT orders
   placed through the service, each then filled in 25 trades stored by one trade-sync pass
   (``--orders`` x 25 fills in the day; 2,000 makes 50,000). Then ``GET /api/v1/pnl`` through
   the ASGI app in-process (httpx): ``--repeat`` times the same question (the first answer
   reads the ledger; the median of the rest is printed), then ``--repeat`` times each after one
   more fill was stored (its median printed). Target: < 200 ms.
The API is measured first, before the computation's synthetic fills fill this process's heap.
Usage: python -m benchmarks.books [--fills N] [--orders N] [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx

from order_service.adapters.broker.fake import FakeBroker
from order_service.adapters.charges_file import load_charge_schedules
from order_service.adapters.db.migrate import upgrade_async
from order_service.bootstrap import Services, bootstrap
from order_service.config import load_settings
from order_service.domain.account import Principal, Role
from order_service.domain.fill import Fill, FillSource
from order_service.domain.ids import AccountId, BrokerOrderId, OrderId, StrategyId
from order_service.domain.order import OrderRequest
from order_service.domain.pnl import PnlMethod, pnl
from order_service.domain.position import IST, position_book
from order_service.domain.reports import FillReport, QuoteReport, TradeId
from order_service.domain.values import Exchange, OrderType, Product, TransactionType
from order_service.entrypoints.api.app import create_app
from order_service.entrypoints.server import run_process
from order_service.observability.logging import configure_logging
from order_service.services.book_charges import charges_by_group
from order_service.services.ports import OrderUpdate

TARGET_FILLS_PER_SECOND = 200_000
TARGET_PNL_SECONDS = 0.2
ACCOUNT = AccountId("BOOKS1")
FILLS_PER_ORDER = 25
# A Monday, 09:30 IST, in UTC as the ledger stores its instants.
START = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
INSTRUMENTS = (
    *(("NSE", symbol, "MIS") for symbol in ("INFY", "TCS", "SBIN", "RELIANCE", "HDFCBANK")),
    *(("NSE", symbol, "CNC") for symbol in ("ITC", "LT", "WIPRO", "AXISBANK", "KOTAKBANK")),
    *(("NFO", f"NIFTY26DEC{strike}CE", "NRML") for strike in (26000, 26100, 26200, 26300, 26400)),
    *(("NFO", f"{name}26DECFUT", "NRML") for name in ("NIFTY", "BANKNIFTY", "FINNIFTY", "A", "B")),
)


def synthetic_fills(count: int) -> list[Fill]:
    """Fills of executed orders of 5, alternating sides, prices drifting around 1,000."""
    strategies = (StrategyId("S" * 26), StrategyId("T" * 26))
    fills: list[Fill] = []
    for index in range(count):
        order = index // 5
        exchange, symbol, product = INSTRUMENTS[order % len(INSTRUMENTS)]
        at = START + timedelta(days=(index * 5) // count, seconds=index % 20_000)
        side = TransactionType.BUY if order % 2 == 0 else TransactionType.SELL
        price = Decimal(1000 + (index % 97)) + Decimal(index % 20) / 20
        report = FillReport(
            TradeId(f"T{index:09d}"),
            BrokerOrderId(f"B{order:09d}"),
            exchange,
            symbol,
            product,
            side,
            1 + index % 3,
            price,
            at,
        )
        fills.append(
            Fill(
                ACCOUNT,
                OrderId(f"{order:026d}"),
                strategies[order % 2],
                report,
                FillSource.TRADES,
                at,
                index,
            )
        )
    return fills


def _by_strategy(fill: Fill) -> tuple[str, str, str, str]:
    report = fill.report
    return fill.strategy_id, report.exchange, report.tradingsymbol, report.product


def _timed(work: Callable[[], object]) -> float:
    started = time.process_time()
    work()
    return time.process_time() - started


def computation(count: int) -> dict[str, float]:
    """Fills per second of each computation over ``count`` fills."""
    fills = synthetic_fills(count)
    schedules = load_charge_schedules()
    first = fills[0].report.exchange_timestamp
    last = fills[-1].report.exchange_timestamp
    assert first is not None
    assert last is not None
    start, end = first.astimezone(IST).date(), last.astimezone(IST).date()
    works: dict[str, Callable[[], object]] = {
        "positions": lambda: position_book(fills, end, _by_strategy, _no_marks),
        "pnl average": lambda: pnl(fills, PnlMethod.AVERAGE, start, end, _by_strategy, _no_marks),
        "pnl fifo": lambda: pnl(fills, PnlMethod.FIFO, start, end, _by_strategy, _no_marks),
        "charges": lambda: charges_by_group(schedules, fills, start, end, lambda f: f.strategy_id),
    }
    return {name: count / _timed(work) for name, work in works.items()}


def _no_marks(exchange: str, tradingsymbol: str) -> None:
    return None


async def _seed(services: Services, broker: FakeBroker, orders: int) -> tuple[str, Principal]:
    user = await services.users.create_user("books", frozenset({Role.TRADER}))
    key = await services.users.create_api_key(user.user_id)
    await services.accounts.add_account(user, ACCOUNT, "paper", "paper-secret")
    url = (await services.logins.start(user, ACCOUNT)).url
    state = url.split("state=")[1].split("&")[0]
    await services.logins.complete(state, "request-token")
    principal = await services.users.get_user(user.user_id)
    for index in range(orders):
        exchange, symbol, product = INSTRUMENTS[index % 10]  # equities: NSE LIMIT orders
        request = OrderRequest.create(
            account_id=ACCOUNT,
            exchange=Exchange(exchange),
            tradingsymbol=symbol,
            transaction_type=TransactionType.BUY if index % 2 == 0 else TransactionType.SELL,
            quantity=FILLS_PER_ORDER,
            product=Product(product),
            order_type=OrderType.LIMIT,
            price=Decimal(1000 + index % 50),
        )
        placed = (await services.orders.place_order(principal, request, None)).order
        assert placed.broker_order_id is not None
        for _ in range(FILLS_PER_ORDER):
            broker.fill(
                placed.broker_order_id, broker.book[placed.broker_order_id].filled_quantity + 1
            )
        broker.marks[f"{exchange}:{symbol}"] = QuoteReport(
            exchange, symbol, Decimal(1025), Decimal(1000)
        )
    recorded = await services.trades.sync_account(ACCOUNT)
    assert recorded.recorded == orders * FILLS_PER_ORDER, recorded
    return key, principal


@dataclass
class ApiFigures:
    lines: int = 0
    asked: list[float] = field(default_factory=list)  # the same question again and again
    fresh: list[float] = field(default_factory=list)  # each after one more fill was stored


async def api_pnl(orders: int, repeat: int) -> ApiFigures:
    with tempfile.TemporaryDirectory(prefix="order-service-books-") as var:
        url = f"sqlite+aiosqlite:///{Path(var) / 'books.db'}"
        await upgrade_async(url)
        settings = load_settings(
            database_url=url, var_dir=var, log_level="ERROR",
            risk_duplicate_window_seconds=0,  # the seeding repeats one order on purpose
        )  # fmt: skip
        clock = _Clock()
        broker = FakeBroker(clock)
        services = bootstrap(settings, broker=broker, clock=clock)
        try:
            key, principal = await _seed(services, broker, orders)
            clock.current += timedelta(hours=5)
            return await _measure(services, broker, principal, key, repeat)
        finally:
            await services.close()


async def _measure(
    services: Services, broker: FakeBroker, principal: Principal, key: str, repeat: int
) -> ApiFigures:
    transport = httpx.ASGITransport(app=create_app(services))
    headers = {"Authorization": f"Bearer {key}"}
    figures = ApiFigures()
    async with httpx.AsyncClient(transport=transport, base_url="http://b", headers=headers) as api:
        for _ in range(repeat):
            figures.asked.append(await _timed_pnl(api, figures))
        for index in range(repeat):
            await _one_more_fill(services, broker, principal, index)  # not timed
            figures.fresh.append(await _timed_pnl(api, figures))
    return figures


async def _timed_pnl(api: httpx.AsyncClient, figures: ApiFigures) -> float:
    started = time.perf_counter()
    answer = await api.get("/api/v1/pnl", params={"account_id": ACCOUNT})
    elapsed = time.perf_counter() - started
    answer.raise_for_status()
    figures.lines = len(answer.json()["items"])
    return elapsed


async def _one_more_fill(
    services: Services, broker: FakeBroker, principal: Principal, index: int
) -> None:
    request = OrderRequest.create(
        account_id=ACCOUNT,
        exchange=Exchange.NSE,
        tradingsymbol="INFY",
        transaction_type=TransactionType.BUY,
        quantity=1,
        product=Product.MIS,
        order_type=OrderType.LIMIT,
        price=Decimal(1000 + index),
    )
    placed = (await services.orders.place_order(principal, request, None)).order
    assert placed.broker_order_id is not None
    broker.fill(placed.broker_order_id)
    # As the order stream delivers the fill: the order and its trades, stored together.
    (session,) = await services.order_updates.live_sessions()
    update = OrderUpdate(broker.book[placed.broker_order_id], user_id=ACCOUNT)
    await services.order_updates.apply(ACCOUNT, update, session)


class _Clock:
    """The seeded day: 10:00 IST while the orders are placed and filled, 15:00 once asked."""

    def __init__(self) -> None:
        self.current = datetime(2026, 11, 30, 4, 30, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--fills", type=int, default=200_000)
    parser.add_argument("--orders", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=6)
    args = parser.parse_args()
    configure_logging("ERROR")
    # The service first, in a process that holds nothing else (as a server would).
    api = run_process(api_pnl(args.orders, args.repeat))  # as `order-service serve` runs
    rates = computation(args.fills)
    print(f"computation over {args.fills} fills (one core, process CPU):")
    for name, rate in rates.items():
        met = "met" if rate >= TARGET_FILLS_PER_SECOND else "not met"
        print(f"  {name:<12} {rate:>12,.0f} fills/s   target >= 200,000   {met}")
    fills = args.orders * FILLS_PER_ORDER
    again = statistics.median(api.asked[1:]) if len(api.asked) > 1 else api.asked[0]
    fresh = statistics.median(api.fresh)
    print(
        f"GET /api/v1/pnl, {fills} fills in the day on SQLite ({api.lines} line), target < 200 ms:"
    )
    print(f"  first ask (the ledger read)           {api.asked[0] * 1000:>6.0f} ms")
    print(f"  asked again, median                   {again * 1000:>6.0f} ms   {_met(again)}")
    print(f"  after one more fill each time, median {fresh * 1000:>6.0f} ms   {_met(fresh)}")


def _met(seconds: float) -> str:
    return "met" if seconds < TARGET_PNL_SECONDS else "not met"


if __name__ == "__main__":
    main()
