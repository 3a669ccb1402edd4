"""Order path benchmark: the service end to end vs the SDK straight to the paper broker.

One run, same machine, same paper broker: N MARKET orders placed (a) with the official SDK
directly against the paper broker and (b) over HTTP through the order service (API, SQLite,
SDK, paper broker), first with C concurrent clients (throughput) and then one client at a time
(latency overhead). Prints orders/s, p50 and p99 for each and the ratios DESIGN.md section 13
sets targets for. Usage: python -m benchmarks.order_path [--orders N] [--clients C]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from kiteconnect import KiteConnect

from benchmarks.harness import MARKET_ORDER, Stack, keyed, start_stack

ORDER = MARKET_ORDER


def _sdk_client(paper_url: str) -> KiteConnect:
    """Log in to the paper broker exactly as a Kite program would."""
    kite = KiteConnect("paper", root=paper_url)
    login = httpx.get(f"{paper_url}/connect/login", params={"api_key": "paper", "v": 3})
    token = parse_qs(urlparse(login.headers["location"]).query)["request_token"][0]
    kite.generate_session(token, api_secret="paper-secret")  # noqa: S106 - the paper default
    return kite


def _drive(total: int, clients: int, make: Callable[[], Callable[[], None]]) -> list[float]:
    """Run ``total`` calls spread over ``clients`` threads; return per-call latencies."""
    latencies: list[float] = []
    lock = threading.Lock()
    per_client = [total // clients + (1 if i < total % clients else 0) for i in range(clients)]

    def worker(count: int) -> None:
        call, mine = make(), []
        for _ in range(count):
            started = time.perf_counter()
            call()
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(n,)) for n in per_client]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.append(-(time.perf_counter() - started))  # the wall time rides along, negated
    return latencies


def _direct(paper_url: str) -> Callable[[], Callable[[], None]]:
    def make() -> Callable[[], None]:
        kite = _sdk_client(paper_url)
        return lambda: kite.place_order(variety="regular", market_protection=-1, **ORDER)

    return make


def _service(api_url: str, key: str) -> Callable[[], Callable[[], None]]:
    def make() -> Callable[[], None]:
        client = httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {key}"})

        def place() -> None:
            response = client.post(
                "/api/v1/orders", json={"account_id": "PAPER1", **ORDER}, headers=keyed()
            )
            if response.status_code != 201:
                print(f"placement failed: {response.status_code} {response.text}", flush=True)
                raise SystemExit(1)

        return place

    return make


def _figures(latencies: list[float]) -> tuple[float, float, float]:
    wall = -latencies.pop()
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return len(ordered) / wall, statistics.median(ordered) * 1000, p99 * 1000


def _row(name: str, clients: int, figures: tuple[float, float, float]) -> None:
    rate, p50, p99 = figures
    print(f"{name:<28} {clients:>7} {rate:>10.0f} {p50:>9.2f} {p99:>9.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--sequential", type=int, default=300, help="orders for the 1-client run")
    parser.add_argument(
        "--without-workers", action="store_true", help="no order sync (isolates the API path)"
    )
    args = parser.parse_args()
    # Kite's per-account limits (10 orders/s) are not what this measures: the paper broker runs
    # without them, and the service's budget is opened up to match.
    unlimited: dict[str, Any] = {
        "rate_orders_per_second": 1_000_000,
        "rate_orders_per_minute": 1_000_000,
        "rate_orders_per_day": 1_000_000_000,
        "rate_other_per_second": 1_000_000,
    }
    stack: Stack = start_stack(workers=not args.without_workers, **unlimited)
    try:
        _report(args, stack.paper_url, stack.api_url, stack.api_key)
    finally:
        stack.stop()


def _report(args: argparse.Namespace, paper_url: str, api_url: str, key: str) -> None:
    _drive(50, 2, _direct(paper_url))  # warm both paths up
    _drive(50, 2, _service(api_url, key))
    print(f"{'path':<28} {'clients':>7} {'orders/s':>10} {'p50 ms':>9} {'p99 ms':>9}")
    direct = _figures(_drive(args.orders, args.clients, _direct(paper_url)))
    _row("SDK -> paper broker", args.clients, direct)
    service = _figures(_drive(args.orders, args.clients, _service(api_url, key)))
    _row("HTTP -> service -> paper", args.clients, service)
    direct_1 = _figures(_drive(args.sequential, 1, _direct(paper_url)))
    _row("SDK -> paper broker", 1, direct_1)
    service_1 = _figures(_drive(args.sequential, 1, _service(api_url, key)))
    _row("HTTP -> service -> paper", 1, service_1)
    print()
    print(
        f"throughput ratio (service / direct, {args.clients} clients): "
        f"{service[0] / direct[0]:.2f}  (target >= 0.50)"
    )
    print(f"overhead p50 (1 client): {service_1[1] - direct_1[1]:+.2f} ms  (target <= 2 ms)")
    print(f"overhead p99 (1 client): {service_1[2] - direct_1[2]:+.2f} ms  (target <= 10 ms)")


if __name__ == "__main__":
    main()
