"""Crash recovery: `kill -9` of the service mid-burst, a restart, and every order settled once.

The paper broker and the order service run in processes of their own (``benchmarks.harness``).
Clients place a burst of MARKET orders, each with its own idempotency key, spread over
``--accounts`` paper accounts (each account may send 10 orders a second, Kite's limit, so with
one account the figure would measure the rate budget, not the recovery); once ``--kill-after``
have been answered, the service process is killed with SIGKILL and started again on the same
database (its stored broker session, no new login). The clients keep going through the outage,
then retry every key: a key answers with its order, or (if its order was never sent) places it
anew. The run ends when every key's order is at a broker state. Then the broker's book is read:
a key with more than one broker order is a duplicate, a key with none (or a broker order of the
account that no key of ours owns) is lost. Target (issue 9): settled < 10 s after the restart.
Usage: python -m benchmarks.crash [--orders 500] [--clients 8] [--kill-after 250]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from benchmarks.chaos import Chaos
from benchmarks.harness import MARKET_ORDER, Stack, start_stack

SETTLE_SECONDS = 120
# Our states that still wait for the broker or for us (a MARKET order ends COMPLETE, REJECTED
# or CANCELLED at the paper broker); FAILED is ours: never sent, or refused before sending.
UNSETTLED = {"NEW", "SUBMITTING", "UNKNOWN", "PENDING", "MODIFY_PENDING", "CANCEL_PENDING"}
NOT_SENT = {"FAILED"}
RETRY_CODES = {"RATE_LIMITED", "SERVICE_UNAVAILABLE", "DATABASE_UNAVAILABLE", "BROKER_UNAVAILABLE"}
# Quick enough to finish in a test, slow enough to be the service's usual shape.
SERVICE: dict[str, Any] = {"kite_timeout_seconds": 2.0, "unknown_grace_seconds": 3.0}


@dataclass
class CrashReport:
    orders: int
    answered_before_kill: int = 0
    in_flight_at_kill: int = 0
    seconds_before_kill: float = 0.0
    duplicates: int = 0
    lost: int = 0
    settled_after_restart: float = 0.0
    restart_seconds: float = 0.0
    outcomes: Counter[str] = field(default_factory=Counter)
    phases: dict[str, float] = field(default_factory=dict)  # seconds after the restart
    retries: Counter[str] = field(default_factory=Counter)

    def lines(self) -> list[str]:
        states = " ".join(f"{name}={count}" for name, count in sorted(self.outcomes.items()))
        return [
            f"answered before the kill  {self.answered_before_kill} "
            f"in {self.seconds_before_kill:.1f} s ({self.in_flight_at_kill} requests in flight)",
            f"restart (to /health)      {self.restart_seconds:.1f} s",
            f"final states              {states}",
            "retries                   "
            + " ".join(f"{name}={count}" for name, count in sorted(self.retries.items())),
            "after the restart         "
            + ", ".join(f"{name} {at:.1f} s" for name, at in self.phases.items()),
            f"crash: {self.orders} orders, {self.duplicates} duplicates, {self.lost} lost, "
            f"settled {self.settled_after_restart:.1f} s after restart",
        ]


class CrashRun:
    """Drives clients against a stack, kills and restarts the service, checks the broker."""

    def __init__(
        self, stack: Stack, accounts: list[str], orders: int, clients: int, kill_after: int
    ) -> None:
        self.stack = stack
        self.accounts = accounts
        run = uuid.uuid4().hex[:8]
        self.keys = [f"crash-{run}-{index}" for index in range(orders)]
        self.account_of = {key: accounts[i % len(accounts)] for i, key in enumerate(self.keys)}
        self.clients = clients
        self.kill_after = kill_after
        self.api = httpx.AsyncClient(
            base_url=stack.api_url,
            headers={"Authorization": f"Bearer {stack.api_key}"},
            timeout=10,
        )
        self.orders_of: dict[str, list[str]] = {key: [] for key in self.keys}
        self.report = CrashReport(orders)
        self._answered = 0
        self._placing: set[str] = set()  # keys whose first request has no answer yet
        self._at_risk: set[str] = set()  # those when the service was killed
        self._kill_now = asyncio.Event()
        self._restarted_at = 0.0
        self._burst_started = 0.0
        self._restarted_wall = datetime.now(UTC)
        self._watch: asyncio.Task[None] | None = None

    async def run(self) -> CrashReport:
        try:
            await self._burst()
            self.report.phases["burst answered"] = self._since_restart()
            await self._retry_every_key()
            self.report.phases["every key retried"] = self._since_restart()
            await self._settle()
            await self._compare()
        finally:
            await self.api.aclose()
        return self.report

    def _since_restart(self) -> float:
        return time.monotonic() - self._restarted_at

    async def _burst(self) -> None:
        self._burst_started = time.monotonic()
        pending = iter(self.keys)
        crash = asyncio.create_task(self._crash())
        await asyncio.gather(*(self._client(pending) for _ in range(self.clients)))
        await crash
        if self._watch is not None:
            await self._watch

    async def _recovered(self) -> None:
        """Note when every order the crash put at risk (placed or placing) is settled."""
        at_risk = sorted(self._at_risk)
        for _ in itertools.count():  # polled: the service is another process
            if await self._all_settled(at_risk):
                break
            await asyncio.sleep(0.1)
        self.report.phases["orders from before the kill settled"] = self._since_restart()

    async def _client(self, keys: Any) -> None:
        for key in keys:
            self._placing.add(key)
            await self._place(key)
            self._placing.discard(key)
            self._answered += 1
            if self._answered >= self.kill_after:
                self._kill_now.set()

    async def _all_settled(self, keys: list[str]) -> bool:
        if any(not self.orders_of[key] for key in keys):
            return False  # a request in flight at the kill has no answer yet
        try:
            latest = await self._latest(keys)
        except httpx.HTTPError:
            return False
        return all(order["status"] not in UNSETTLED for order in latest.values())

    async def _crash(self) -> None:
        await self._kill_now.wait()
        self.report.answered_before_kill = self._answered
        self.report.seconds_before_kill = time.monotonic() - self._burst_started
        self.stack.kill_service()
        self.report.in_flight_at_kill = len(self._placing)
        self._at_risk = set(self._placing) | {k for k, ids in self.orders_of.items() if ids}
        started = time.monotonic()
        self._restarted_at = started
        self._restarted_wall = datetime.now(UTC)  # to compare with the orders' updated_at
        await asyncio.to_thread(self.stack.start_service, prepare=False)
        self.report.restart_seconds = time.monotonic() - started
        self._watch = asyncio.create_task(self._recovered())

    async def _place(self, key: str) -> dict[str, Any]:
        """POST the key until the service answers with its order (through the outage too)."""
        for attempt in itertools.count():
            try:
                response = await self.api.post(
                    "/api/v1/orders",
                    json={"account_id": self.account_of[key], **MARKET_ORDER},
                    headers={"Idempotency-Key": key},
                )
            except httpx.TransportError:
                self.report.retries["connection"] += 1
                await asyncio.sleep(min(0.2, 0.01 * (attempt + 1)))
                continue
            if response.status_code in (200, 201, 202):
                order: dict[str, Any] = response.json()
                if order["order_id"] not in self.orders_of[key]:
                    self.orders_of[key].append(order["order_id"])
                return order
            code = response.json()["error"]["code"]
            self.report.retries[code] += 1
            if code not in RETRY_CODES:
                raise SystemExit(f"a refusal the run does not expect: {response.text}")
            await asyncio.sleep(min(1.0, float(response.headers.get("retry-after", "0.1")) / 10))
        raise AssertionError("unreachable")

    async def _retry_every_key(self) -> None:
        gate = asyncio.Semaphore(self.clients)

        async def again(key: str) -> None:
            async with gate:
                await self._place(key)

        await asyncio.gather(*(again(key) for key in self.keys))

    async def _settle(self) -> None:
        """Until every key's order is at a broker state; a key never sent is placed again."""
        deadline = time.monotonic() + SETTLE_SECONDS
        waiting = set(self.keys)
        while waiting and time.monotonic() < deadline:
            latest = await self._latest(sorted(waiting))
            for key, order in latest.items():
                if order["status"] in NOT_SENT:
                    # A key whose order was never sent places anew; a final failure answers
                    # with the same order, and stays as it is.
                    again = await self._place(key)
                    if again["order_id"] == order["order_id"]:
                        waiting.discard(key)
                elif order["status"] not in UNSETTLED:
                    waiting.discard(key)
            if waiting:
                await asyncio.sleep(0.1)
        self.report.phases["clients saw every order settled"] = self._since_restart()
        if waiting:
            raise SystemExit(f"{len(waiting)} orders never settled")

    async def _latest(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), 100):
            chunk = keys[start : start + 100]
            replies = await asyncio.gather(
                *(self.api.get(f"/api/v1/orders/{self.orders_of[key][-1]}") for key in chunk)
            )
            for key, reply in zip(chunk, replies, strict=True):
                reply.raise_for_status()
                found[key] = reply.json()
        return found

    async def _compare(self) -> None:
        async with httpx.AsyncClient(base_url=self.stack.paper_url, timeout=30) as paper:
            state = (await paper.get("/_admin/state")).json()["data"]
        accounts = set(self.accounts)
        at_broker = Counter(
            o["tag"] for o in state["orders"] if o.get("placed_by") in accounts and o.get("tag")
        )
        ours: set[str] = set()
        final = await self._latest(self.keys)
        for key in self.keys:
            tags = [await self._tag(order_id) for order_id in self.orders_of[key]]
            ours.update(tags)
            sent = sum(at_broker[tag] for tag in tags)
            self.report.duplicates += max(0, sent - 1)
            self.report.lost += int(sent == 0)
            self.report.outcomes[final[key]["status"]] += 1
        self.report.lost += sum(count for tag, count in at_broker.items() if tag not in ours)
        # When the service recorded each order's last change (the client's polls only bound it).
        last = max(datetime.fromisoformat(order["updated_at"]) for order in final.values())
        self.report.settled_after_restart = (last - self._restarted_wall).total_seconds()

    async def _tag(self, order_id: str) -> str:
        reply = await self.api.get(f"/api/v1/orders/{order_id}")
        reply.raise_for_status()
        return str(reply.json()["broker_tag"])


async def run_crash(
    stack: Stack, accounts: int, orders: int, clients: int, kill_after: int
) -> CrashReport:
    """Add ``accounts`` logged-in paper accounts, then run the burst, crash and recovery."""
    setup = Chaos(stack.api_url, stack.paper_url, stack.api_key)
    try:
        names = await setup.add_accounts(accounts)
    finally:
        await setup.close()
    return await CrashRun(stack, names, orders, clients, kill_after).run()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--kill-after", type=int, default=250)  # mid-burst
    parser.add_argument("--accounts", type=int, default=10)
    args = parser.parse_args()
    stack = start_stack(**SERVICE)
    try:
        report = asyncio.run(
            run_crash(stack, args.accounts, args.orders, args.clients, args.kill_after)
        )
    finally:
        stack.stop()
    print("\n".join(report.lines()))
    raise SystemExit(1 if report.duplicates or report.lost else 0)


if __name__ == "__main__":
    main()
