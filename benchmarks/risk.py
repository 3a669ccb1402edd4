"""Pre-trade risk: what the checks add to a placement, measured in-process.

A migrated SQLite file and the real services from ``bootstrap()`` around the in-memory broker
double (no network: what is timed is our own code and the database). The instrument master
holds ``--instruments`` instruments, the account has stored per-order limits (with
``--counts`` also the open-orders and orders-per-day limits, whose counts then run; with
``--book`` also the gross-exposure and daily-loss limits, which read the account's book and its
working orders), and the
quote is cached (as it is for every placement after the first within the quote TTL). The same
LIMIT orders are placed through ``OrderService`` with the risk collaborator and without it,
interleaved in rounds so drift on a shared machine hits both; printed: each side's p50 and p99
and the p50 difference. Target (issue 13): at most 0.2 ms p50.
Usage: python -m benchmarks.risk [--orders N] [--instruments N] [--counts] [--book]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from order_service.adapters.broker.fake import FakeBroker
from order_service.adapters.db.migrate import upgrade_async
from order_service.bootstrap import Services, bootstrap
from order_service.config import load_settings
from order_service.domain.account import Principal, Role
from order_service.domain.ids import AccountId
from order_service.domain.instrument import Instrument
from order_service.domain.order import OrderRequest
from order_service.domain.reports import QuoteReport
from order_service.domain.risk import RiskLimits, RiskScope
from order_service.domain.values import Exchange, OrderType, Product, TransactionType
from order_service.services.orders import OrderService
from order_service.services.ports import BrokerSession

TARGET_MS = 0.2
ACCOUNT = AccountId("PAPER1")
AT = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)  # a Monday, 09:30 IST: the market is open


class StoppedClock:
    def now(self) -> datetime:
        return AT


def _instruments(count: int) -> list[Instrument]:
    found = [Instrument("NSE", "INFY", 408065, "INFOSYS", "EQ", "NSE", Decimal("0.05"), 1)]
    found += [
        Instrument("NSE", f"STOCK{i}", 100_000 + i, f"STOCK {i}", "EQ", "NSE", Decimal("0.05"), 1)
        for i in range(count - 1)
    ]
    return found


async def _ready(
    var: str, instruments: int, counts: bool, book: bool
) -> tuple[Services, Principal]:
    url = f"sqlite+aiosqlite:///{var}/risk.db"
    await upgrade_async(url)
    settings = load_settings(
        database_url=url, var_dir=var, log_json=False, risk_market_hours=True,
        risk_duplicate_window_seconds=0,
    )  # fmt: skip
    broker = FakeBroker(StoppedClock())
    broker.instrument_list = _instruments(instruments)
    broker.marks["NSE:INFY"] = QuoteReport(
        "NSE", "INFY", Decimal("1520"), Decimal("1500"), Decimal("1368"), Decimal("1672")
    )
    services = bootstrap(settings, broker=broker, clock=StoppedClock())
    admin = await services.users.create_user("bench", frozenset({Role.ADMIN, Role.TRADER}))
    await services.accounts.add_account(admin, ACCOUNT, "paper", "paper-secret")
    login_url = (await services.logins.start(admin, ACCOUNT)).url
    await services.logins.complete(_state(login_url), "request-token")
    await services.instruments.refresh_if_due()
    many = 10**6 if counts else None
    most = Decimal(10**12) if book else None
    limits = RiskLimits.create(max_quantity=1000, max_order_value=Decimal(10**9),
                               max_open_orders=many, max_orders_per_day=many,
                               max_gross_exposure=most, max_daily_loss=most)  # fmt: skip
    await services.risk_limits.set_limits(admin, RiskScope.ACCOUNT, ACCOUNT, limits)
    return services, await services.users.get_user(admin.user_id)


def _state(login_url: str) -> str:
    """The one-time state our login redirect hands to the broker."""
    return parse_qs(urlsplit(login_url).query)["state"][0]


def _request(quantity: int) -> OrderRequest:
    return OrderRequest.create(
        account_id=ACCOUNT, exchange=Exchange.NSE, tradingsymbol="INFY",
        transaction_type=TransactionType.BUY, quantity=quantity, product=Product.CNC,
        order_type=OrderType.LIMIT, price=Decimal("1520.50"),
    )  # fmt: skip


# With the book limits set, every stored order is marked complete after this many placements:
# an account keeps a few dozen orders working, not the thousands the benchmark places.
SETTLE_EVERY = 20
Settle = Callable[[], Awaitable[None]] | None


async def _time(
    orders: OrderService, principal: Principal, count: int, settle: Settle = None
) -> list[float]:
    taken = []
    for index in range(count):
        request = _request(1 + index % 500)
        start = time.perf_counter()
        await orders.place_order(principal, request, None)
        taken.append((time.perf_counter() - start) * 1000)
        if settle is not None and index % SETTLE_EVERY == SETTLE_EVERY - 1:
            await settle()
    return taken


def _settler(url: str) -> Callable[[], Awaitable[None]]:
    engine = create_async_engine(url)

    async def settle() -> None:
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE orders SET status = 'COMPLETE'"))

    return settle


async def _run(count: int, instruments: int, counts: bool, book: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="order-service-risk-") as var:
        services, principal = await _ready(var, instruments, counts, book)
        checked = services.orders
        unchecked = OrderService(
            checked._uow, services.broker, services.clock, checked._gate,
            services.liveness, services.instruments,
        )  # fmt: skip
        settle = _settler(f"sqlite+aiosqlite:///{var}/risk.db") if book else None
        await _time(checked, principal, 50, settle)  # warm: the quote is read and cached
        await _time(unchecked, principal, 50, settle)
        with_checks: list[float] = []
        without: list[float] = []
        for _ in range(10):
            with_checks += await _time(checked, principal, count // 10, settle)
            without += await _time(unchecked, principal, count // 10, settle)
        alone = await _time_checks(services, principal, count)
        await services.close()
    limits = (
        "count and book limits"
        if counts and book
        else ("count limits" if counts else "book limits" if book else "per-order limits only")
    )
    print(f"with {limits} set")
    _report(with_checks, without, instruments)
    print(
        f"  the checks alone (RiskGuard.check_placement in a transaction): "
        f"p50 {statistics.median(alone):.3f} ms   p99 {_p(alone, 99):.3f} ms"
    )


async def _time_checks(services: Services, principal: Principal, count: int) -> list[float]:
    """The checks of one stored order's terms, timed by themselves: no noise of the rest."""
    order = (await services.orders.place_order(principal, _request(7), None)).order
    guard = services.orders._risk
    assert guard is not None
    session = BrokerSession(ACCOUNT, "paper", "token")
    taken = []
    async with services.orders._uow() as uow:
        for _ in range(count):
            start = time.perf_counter()
            await guard.check_placement(uow, session, order, True)
            taken.append((time.perf_counter() - start) * 1000)
    return taken


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


def _report(with_checks: list[float], without: list[float], instruments: int) -> None:
    added = statistics.median(with_checks) - statistics.median(without)
    print(f"placements: {len(with_checks)} each side, master of {instruments} instruments")
    for name, values in (("with checks", with_checks), ("without", without)):
        print(f"  {name:12} p50 {statistics.median(values):.3f} ms   p99 {_p(values, 99):.3f} ms")
    verdict = "within" if added <= TARGET_MS else "OVER"
    print(f"  added p50    {added:.3f} ms ({verdict} the {TARGET_MS} ms target)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--instruments", type=int, default=100_000)
    parser.add_argument("--counts", action="store_true", help="set the count limits too")
    parser.add_argument(
        "--book", action="store_true", help="set the gross-exposure and daily-loss limits too"
    )
    args = parser.parse_args()
    asyncio.run(_run(args.orders, args.instruments, args.counts, args.book))


if __name__ == "__main__":
    main()
