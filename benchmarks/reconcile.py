"""Reconciliation benchmark: one account's broker order book and trade book applied to our orders.

Per database (SQLite in a temporary file, then PostgreSQL in a database of its own): the real
services from ``bootstrap`` over a migrated database, with the in-memory ``FakeBroker`` as the
broker. N LIMIT orders are placed through ``services.orders.place_order`` (they rest OPEN at
the broker, PENDING in our book; the seeding is not timed), then the broker fills every one
(COMPLETE, one trade each). Timed: one order sync pass (``services.reconcile.sync_account``)
and one trade sync pass (``services.trades.sync_account``). Afterwards every order must be
COMPLETE and every fill stored once (a second trade pass records none), else the run exits
non-zero. DESIGN.md section 13 sets the target: 10,000 orders + fills reconciled in < 1 s.
Usage: python -m benchmarks.reconcile [--orders N] [--databases sqlite,postgresql]
    [--postgres-url URL] [--profile sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import text

from benchmarks.databases import DEFAULT_POSTGRES, scratch_database
from order_service.adapters.broker.fake import FakeBroker
from order_service.adapters.db.engine import create_engine
from order_service.bootstrap import Services, bootstrap
from order_service.config import load_settings
from order_service.domain.account import Role
from order_service.domain.ids import AccountId
from order_service.domain.order import OrderRequest
from order_service.domain.values import Exchange, OrderType, Product, TransactionType
from order_service.entrypoints.server import run_process
from order_service.observability.logging import configure_logging

ACCOUNT = AccountId("BENCH1")
TARGET_SECONDS = 1.0
LIMIT = {
    "account_id": ACCOUNT,
    "exchange": Exchange.NSE,
    "tradingsymbol": "INFY",
    "transaction_type": TransactionType.BUY,
    "quantity": 1,
    "product": Product.CNC,
    "order_type": OrderType.LIMIT,
    "price": Decimal("1500.00"),
}


@dataclass
class Figures:
    database: str
    orders: int
    fills: int
    seed_seconds: float
    order_sync_seconds: float
    trade_sync_seconds: float
    cpu_seconds: float  # of this process (every thread) over both passes
    ok: bool
    problems: list[str]

    @property
    def total(self) -> float:
        return self.order_sync_seconds + self.trade_sync_seconds


async def _seed(services: Services, broker: FakeBroker, count: int) -> None:
    """One trader with a logged-in account, ``count`` resting LIMIT orders, all then filled."""
    user = await services.users.create_user("bench", frozenset({Role.TRADER}))
    await services.accounts.add_account(user, ACCOUNT, "paper", "paper-secret")
    url = (await services.logins.start(user, ACCOUNT)).url
    state = parse_qs(urlsplit(url).query)["state"][0]
    await services.logins.complete(state, "request-token")
    principal = await services.users.get_user(user.user_id)
    request = OrderRequest.create(**LIMIT)
    for _ in range(count):
        placement = await services.orders.place_order(principal, request, None)
        if not placement.order.status.is_working:
            raise SystemExit(f"seeding: an order is {placement.order.status}, not working")
    for broker_order_id in list(broker.book):
        broker.fill(broker_order_id)


async def _counts(url: str) -> tuple[int, int, int, int]:
    """Orders, COMPLETE orders, fills and distinct trade ids of the account, read with SQL."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            row = (
                await connection.execute(
                    text(
                        "SELECT (SELECT count(*) FROM orders WHERE account_id = :a),"
                        " (SELECT count(*) FROM orders WHERE account_id = :a"
                        "  AND status = 'COMPLETE'),"
                        " (SELECT count(*) FROM fills WHERE account_id = :a),"
                        " (SELECT count(DISTINCT trade_id) FROM fills WHERE account_id = :a)"
                    ),
                    {"a": ACCOUNT},
                )
            ).one()
    finally:
        await engine.dispose()
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


async def _run(kind: str, count: int, postgres_url: str, profile: bool) -> Figures:
    with tempfile.TemporaryDirectory(prefix="order-service-reconcile-") as var:
        var_dir = Path(var)
        async with scratch_database(kind, postgres_url, var_dir, "reconcile") as url:
            settings = load_settings(
                database_url=url, var_dir=str(var_dir), log_level="ERROR",
                risk_duplicate_window_seconds=0,  # the seeding repeats one order on purpose
            )  # fmt: skip
            broker = FakeBroker()
            services = bootstrap(settings, broker=broker)
            try:
                return await _measure(kind, url, services, broker, count, profile)
            finally:
                await services.close()


async def _measure(
    kind: str, url: str, services: Services, broker: FakeBroker, count: int, profile: bool
) -> Figures:
    started = time.perf_counter()
    await _seed(services, broker, count)
    seeded = time.perf_counter() - started
    profiler = cProfile.Profile() if profile else None

    if profiler:
        profiler.enable()
    cpu = time.process_time()
    started = time.perf_counter()
    synced = await services.reconcile.sync_account(ACCOUNT)
    order_sync = time.perf_counter() - started
    started = time.perf_counter()
    traded = await services.trades.sync_account(ACCOUNT)
    trade_sync = time.perf_counter() - started
    cpu = time.process_time() - cpu
    if profiler:
        profiler.disable()
        _print_profile(kind, profiler)

    again = await services.trades.sync_account(ACCOUNT)  # not timed: nothing new to store
    orders, complete, fills, trade_ids = await _counts(url)
    problems = []
    if orders != count or complete != count or synced.updated != count:
        problems.append(f"orders {orders}, COMPLETE {complete}, sync updated {synced.updated}")
    if fills != count or trade_ids != count or traded.recorded != count:
        problems.append(f"fills {fills}, trade ids {trade_ids}, recorded {traded.recorded}")
    if again.recorded:
        problems.append(f"a second trade pass recorded {again.recorded} more")
    ok = not problems
    return Figures(kind, complete, fills, seeded, order_sync, trade_sync, cpu, ok, problems)


def _print_profile(kind: str, profiler: cProfile.Profile) -> None:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)
    print(f"--- profile of one order pass + one trade pass on {kind} ---")
    print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--profile", choices=["sqlite", "postgresql"], default=None)
    args = parser.parse_args()
    configure_logging("ERROR")
    kinds = [kind.strip() for kind in args.databases.split(",") if kind.strip()]
    results = []
    for kind in kinds:
        if kind not in ("sqlite", "postgresql"):
            raise SystemExit(f"unknown database {kind!r}")
        profile = args.profile == kind
        # As `order-service worker` runs its passes: uvloop, the collector tuned.
        results.append(run_process(_run(kind, args.orders, args.postgres_url, profile)))
    _report(results)
    failed = [figures for figures in results if not figures.ok]
    for figures in failed:
        print(f"{figures.database}: verification failed: {'; '.join(figures.problems)}")
    if failed:
        raise SystemExit(1)


def _report(results: list[Figures]) -> None:
    header = (
        f"{'database':<11} {'orders':>7} {'fills':>7} {'seed s':>8} {'order s':>8}"
        f" {'trade s':>8} {'total s':>8} {'cpu s':>7} {'target':>7} {'met':>8}"
    )
    print(header)
    for f in results:
        met = "met" if f.total < TARGET_SECONDS else "not met"
        print(
            f"{f.database:<11} {f.orders:>7} {f.fills:>7} {f.seed_seconds:>8.2f}"
            f" {f.order_sync_seconds:>8.3f} {f.trade_sync_seconds:>8.3f} {f.total:>8.3f}"
            f" {f.cpu_seconds:>7.3f} {'< ' + format(TARGET_SECONDS, 'g') + ' s':>7} {met:>8}"
        )
    print("(seed: placing the orders through the service, not timed against the target;")
    print(" cpu: this process's CPU time over both passes, every thread; the database server's")
    print(" own work is not in it on PostgreSQL)")


if __name__ == "__main__":
    main()
