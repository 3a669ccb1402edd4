"""Sync cost benchmark: the order sync's CPU per minute, a day's order book against an empty one.

A paper broker runs in a process of its own (its CPU is not counted). This process runs the
order sync worker as ``order-service worker`` does: the real services from ``bootstrap`` over a
migrated SQLite file, the real ``KiteBroker`` adapter (the official SDK) behind the account's
rate budgets. One account, PAPER1, holds ``--open`` resting LIMIT orders and, for the day's
book, ``--done`` MARKET orders besides (COMPLETE at the broker), all placed through the service,
so our database holds the same orders as the broker; the worker's first pass (the start-up read
of the whole book) settles them and is not measured.

Then ``--minutes`` of the worker's passes with the default settings: a pass a second, the whole
book every 30 s while the stream is up, an order without news for 5 s polled with one
``order_history``, at most 5 a pass. The service's clock (the Clock port) steps one interval
between passes instead of sleeping, so a minute costs what its 60 passes cost and nothing of
its idle time (the rate budget still paces the broker calls in real time). CPU is
``time.process_time()`` around each pass: every thread of this process, the SDK's pool included.

Printed per book: CPU per minute with the stream marked up (the schedule) and down (a whole book
read every pass: the old behaviour), the reads by kind, and the ratio of the day's book to the
empty one (target, DESIGN.md section 13: within 2x with the stream up).
With the stream down every pass is alike (a whole book read), so ``--down-minutes`` of them
(a quarter minute by default) stand for the minute. Figures vary by some 10 % between runs.
Usage: python -m benchmarks.sync_cost [--done N] [--open N] [--minutes M] [--down-minutes M]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from prometheus_client import REGISTRY

from benchmarks.harness import BIG_FUNDS, free_port, wait_http
from order_service.adapters.db.migrate import upgrade_async
from order_service.bootstrap import Services, bootstrap
from order_service.config import Settings, load_settings
from order_service.domain.account import Principal
from order_service.domain.order import OrderRequest
from order_service.domain.status import OrderStatus
from order_service.domain.values import Exchange, OrderType, Product, TransactionType
from order_service.entrypoints.demo import DEMO_ACCOUNT, prepare_demo
from order_service.entrypoints.server import run_process
from order_service.entrypoints.workers.order_sync import OrderSyncWorker
from order_service.observability.logging import configure_logging
from order_service.services.ports import OrderFilter

TARGET_RATIO = 2.0
CONCURRENT_PLACEMENTS = 32
TERMS = {
    "account_id": DEMO_ACCOUNT,
    "exchange": Exchange.NSE,
    "tradingsymbol": "INFY",
    "transaction_type": TransactionType.BUY,
    "quantity": 1,
    "product": Product.CNC,
}
DONE = OrderRequest.create(**TERMS, order_type=OrderType.MARKET)
# Well below INFY's price and inside its daily band: rests OPEN for the whole run.
OPEN = OrderRequest.create(**TERMS, order_type=OrderType.LIMIT, price=Decimal("1450.00"))
# Seeding only: the day's placements go through at once instead of at Kite's 10 a second.
SEEDING_BUDGET = {
    "rate_orders_per_second": 100_000,
    "rate_orders_per_minute": 1_000_000,
    "rate_orders_per_day": 1_000_000,
}


class SteppedClock:
    """The service's clock: still while a pass runs, stepped by the test between passes."""

    def __init__(self) -> None:
        self.current = datetime.now(UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


@dataclass
class Figures:
    book: str
    stream_up: bool
    passes: int
    minutes: float
    cpu_seconds: float
    book_pass_cpu_seconds: float  # of which in the passes that read the whole book
    book_reads: int
    history_reads: int
    mismatched: int

    @property
    def cpu_per_minute(self) -> float:
        return self.cpu_seconds / self.minutes

    @property
    def book_cpu_per_minute(self) -> float:
        return self.book_pass_cpu_seconds / self.minutes


def _serve_paper(port: int) -> None:
    from paper_broker.config import PaperBrokerConfig
    from paper_broker.server import PaperBrokerServer

    PaperBrokerServer(
        PaperBrokerConfig(port=port, rate_limits=False, funds=BIG_FUNDS, seed=1)
    ).start()
    while True:
        time.sleep(3600)


def _sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _counters() -> tuple[float, float, float]:
    reads = "order_service_sync_reads_total"
    return (
        _sample(reads, {"kind": "book"}),
        _sample(reads, {"kind": "history"}),
        _sample("order_service_reconciliation_drift_total", {"kind": "tag_mismatch"}),
    )


async def _place(services: Services, principal: Principal, request: OrderRequest, n: int) -> None:
    gate = asyncio.Semaphore(CONCURRENT_PLACEMENTS)

    async def one() -> None:
        async with gate:
            placement = await services.orders.place_order(principal, request, None)
        if not placement.order.status.is_working:
            raise SystemExit(f"seeding: an order is {placement.order.status}")

    await asyncio.gather(*(one() for _ in range(n)))


async def _seed(settings: Settings, clock: SteppedClock, done: int, open_: int) -> None:
    """Log PAPER1 in and place the day's orders through the service (not measured)."""
    services = bootstrap(settings.model_copy(update=SEEDING_BUDGET), clock=clock)
    try:
        key = await prepare_demo(services, settings)
        await services.startup.run(DEMO_ACCOUNT)  # a login holds new orders until reconciled
        principal = await services.directory.authenticate(key)
        await _place(services, principal, DONE, done)
        await _place(services, principal, OPEN, open_)
    finally:
        await services.close()


async def _check(services: Services, done: int, open_: int) -> None:
    """After the start-up read our book holds the broker's: ``done`` COMPLETE, ``open_`` OPEN."""
    statuses = {OrderStatus.COMPLETE: 0, OrderStatus.OPEN: 0}
    principal = await services.directory.authenticate(
        (Path(services.settings.var_dir) / "demo-api-key").read_text().strip()
    )
    for status in statuses:
        after = None
        while True:
            page = await services.orders.list_orders(
                principal, OrderFilter(status=status, after=after, limit=500)
            )
            statuses[status] += len(page)
            if len(page) < 500:
                break
            after = page[-1].order_id
    if statuses != {OrderStatus.COMPLETE: done, OrderStatus.OPEN: open_}:
        raise SystemExit(f"after the start-up read our book holds {statuses}")


async def _measure(
    settings: Settings, clock: SteppedClock, book: str, stream_up: bool, minutes: float
) -> tuple[Figures, Services]:
    services = bootstrap(settings, clock=clock)
    if stream_up:
        services.streams.mark_up(DEMO_ACCOUNT)
    worker = OrderSyncWorker(services)
    await worker.run_once()  # a fresh worker's first pass: the whole book, not measured
    before = _counters()
    passes = round(minutes * 60 / worker.interval)
    cpu = book_cpu = 0.0
    for _ in range(passes):
        clock.advance(worker.interval)
        books_before = _counters()[0]
        started = time.process_time()
        await worker.run_once()
        spent = time.process_time() - started
        cpu += spent
        book_cpu += spent if _counters()[0] > books_before else 0.0
    books, histories, mismatched = (a - b for a, b in zip(_counters(), before, strict=True))
    figures = Figures(
        book, stream_up, passes, minutes, cpu, book_cpu, int(books), int(histories), int(mismatched)
    )
    return figures, services


async def _book(name: str, done: int, open_: int, minutes: tuple[float, float]) -> list[Figures]:
    """Run one book (its own paper broker and database) with the stream up, then down."""
    port = free_port()
    paper = mp.get_context("spawn").Process(target=_serve_paper, args=(port,), daemon=True)
    paper.start()
    try:
        paper_url = f"http://127.0.0.1:{port}"
        wait_http(f"{paper_url}/_admin/state")
        with tempfile.TemporaryDirectory(prefix="order-service-sync-cost-") as var:
            url = f"sqlite+aiosqlite:///{var}/sync-cost.db"
            await upgrade_async(url)
            settings = load_settings(
                database_url=url, var_dir=var, kite_root=paper_url, log_level="ERROR",
                risk_duplicate_window_seconds=0,  # the seeding repeats one order on purpose
            )  # fmt: skip
            clock = SteppedClock()
            started = time.perf_counter()
            await _seed(settings, clock, done, open_)
            print(f"{name}: seeded {done + open_} orders in {time.perf_counter() - started:.1f} s")
            results = []
            for stream_up, span in zip((True, False), minutes, strict=True):
                figures, services = await _measure(settings, clock, name, stream_up, span)
                try:
                    await _check(services, done, open_)
                finally:
                    await services.close()
                results.append(figures)
            return results
    finally:
        paper.terminate()
        paper.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--done", type=int, default=5000, help="completed orders in the day's book")
    parser.add_argument("--open", type=int, default=20, help="resting orders in both books")
    parser.add_argument("--minutes", type=float, default=1.0, help="of passes, stream up")
    parser.add_argument("--down-minutes", type=float, default=0.25, help="of passes, stream down")
    args = parser.parse_args()
    configure_logging("ERROR")
    spans = (args.minutes, args.down_minutes)
    # As `order-service worker` runs its passes: uvloop, the collector tuned.
    day = run_process(_book(f"day ({args.done} + {args.open})", args.done, args.open, spans))
    empty = run_process(_book(f"empty ({args.open})", 0, args.open, spans))
    _report(day, empty)
    problems = [f for f in (*day, *empty) if f.mismatched]
    if problems:
        raise SystemExit("history reports were not recognised as our orders (tag mismatch)")


def _report(day: list[Figures], empty: list[Figures]) -> None:
    print(
        f"{'book':<20} {'stream':<7} {'passes':>6} {'book reads':>10} {'history reads':>13}"
        f" {'CPU s/min':>10} {'in book passes':>14}"
    )
    for f in (*day, *empty):
        stream = "up" if f.stream_up else "down"
        print(
            f"{f.book:<20} {stream:<7} {f.passes:>6} {f.book_reads:>10} {f.history_reads:>13}"
            f" {f.cpu_per_minute:>10.3f} {f.book_cpu_per_minute:>14.3f}"
        )
    up = day[0].cpu_per_minute / empty[0].cpu_per_minute
    down = day[1].cpu_per_minute / empty[1].cpu_per_minute
    met = "met" if up <= TARGET_RATIO else "not met"
    print(
        f"day / empty, stream up (the schedule): {up:.2f}x (target within {TARGET_RATIO:g}x: {met})"
    )
    print(f"day / empty, stream down (a whole book every pass, the old behaviour): {down:.2f}x")
    print(
        f"day's book, stream down / up: {day[1].cpu_per_minute / day[0].cpu_per_minute:.1f}x"
        " (what the schedule saves)"
    )
    print(
        "(CPU: time.process_time() around the worker's passes, per minute of 60 passes at the"
        " default 1 s interval, the clock stepped between passes; 'in book passes': the share"
        " spent in passes that read the whole book)"
    )


if __name__ == "__main__":
    main()
