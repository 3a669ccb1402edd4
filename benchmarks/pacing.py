"""Pacing: a burst of orders to one account lands at Kite's rate with zero broker 429s.

The paper broker enforces Kite's per-user limits (orders 10/s, 400/min, 5,000/day) and answers
429 past them. N MARKET orders to PAPER1 are sent at once (N concurrent HTTP requests); the
service's rate budget must pace them so the broker never has to refuse one. Prints orders, wall
seconds, orders/s, answers by status, the broker's 429s (from the service's broker call counter,
``order_service_broker_requests_total{outcome="RateLimitError"}``) and whether every order was
placed. DESIGN.md section 13: >= 9.5 orders/s with zero broker 429s.
Usage: python -m benchmarks.pacing [--orders 100] [--redis-url redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from benchmarks.harness import MARKET_ORDER, Stack, keyed, start_stack

ORDER = {"account_id": "PAPER1", **MARKET_ORDER}
TARGET_RATE = 9.5


@dataclass
class PacingReport:
    orders: int = 0
    seconds: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    broker_429s: int = 0
    at_broker: int = 0

    @property
    def rate(self) -> float:
        return self.orders / self.seconds if self.seconds else 0.0

    @property
    def all_placed(self) -> bool:
        return self.statuses[201] == self.orders and self.at_broker == self.orders

    def lines(self) -> list[str]:
        statuses = ", ".join(f"{code}: {count}" for code, count in sorted(self.statuses.items()))
        return [
            f"orders                {self.orders}",
            f"wall seconds          {self.seconds:.2f}",
            f"orders/s              {self.rate:.2f}  (target >= {TARGET_RATE})",
            f"answers by status     {statuses}",
            f"broker 429s           {self.broker_429s}  (target 0)",
            f"orders at the broker  {self.at_broker}",
            f"all placed            {'yes' if self.all_placed else 'no'}",
        ]


async def broker_429s(api: httpx.AsyncClient) -> int:
    """Sum the service's broker calls answered 429 (counted as RateLimitError), any operation."""
    text = (await api.get("/metrics")).text
    return sum(
        int(float(line.rsplit(" ", 1)[1]))
        for line in text.splitlines()
        if line.startswith("order_service_broker_requests_total{")
        and 'outcome="RateLimitError"' in line
    )


async def run_pacing(stack: Stack, orders: int) -> PacingReport:
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    limits = httpx.Limits(max_connections=orders, max_keepalive_connections=orders)
    report = PacingReport(orders=orders)
    async with (
        httpx.AsyncClient(
            base_url=stack.api_url, headers=headers, limits=limits, timeout=120
        ) as api,
        httpx.AsyncClient(base_url=stack.paper_url, timeout=30) as paper,
    ):
        before = await broker_429s(api)
        tags_before = await _tags_at_broker(paper)
        started = time.perf_counter()
        answers = await asyncio.gather(
            *(api.post("/api/v1/orders", json=ORDER, headers=keyed()) for _ in range(orders))
        )
        report.seconds = time.perf_counter() - started
        report.statuses = Counter(answer.status_code for answer in answers)
        report.broker_429s = await broker_429s(api) - before
        placed = {a.json()["broker_tag"] for a in answers if a.status_code == 201}
        report.at_broker = len((await _tags_at_broker(paper) - tags_before) & placed)
    return report


async def _tags_at_broker(paper: httpx.AsyncClient) -> set[str]:
    state = (await paper.get("/_admin/state")).json()["data"]
    return {o["tag"] for o in state["orders"] if o.get("placed_by") == "PAPER1" and o.get("tag")}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--orders", type=int, default=100)
    parser.add_argument("--redis-url", help="keep the budget in Redis (shared by processes)")
    args = parser.parse_args()
    # Every request of the burst waits for its slot: the last one about orders/10 seconds.
    service: dict[str, Any] = {"rate_max_wait_seconds": max(15.0, args.orders / 8)}
    if args.redis_url:
        service["redis_url"] = args.redis_url
    stack = start_stack(rate_limits=True, **service)
    try:
        report = asyncio.run(run_pacing(stack, args.orders))
    finally:
        stack.stop()
    print("\n".join(report.lines()))


if __name__ == "__main__":
    main()
