"""Exactly-once under fire: N orders across A accounts while the paper broker misbehaves.

The paper broker injects timeouts after accepting (10 %), errors after creating the order (5 %),
429s (5 %) and, once, a revoked access token (the harness logs that account in again through
the login flow). Clients retry with the same Idempotency-Key until they get a final answer. At
the end the service's orders are compared with the broker's order book by tag.
Usage: python -m benchmarks.chaos [--orders 10000] [--accounts 20] [--clients 32]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

from benchmarks.harness import BIG_FUNDS, MARKET_ORDER, start_stack

ORDER = MARKET_ORDER
# Tried in order by the paper broker, so later probabilities are of what the earlier left.
FAULTS = [
    {"route": "place_order", "kind": "timeout_after_accept", "probability": 0.10, "delay_ms": 1500},
    {"route": "place_order", "kind": "error_after_accept", "probability": 0.05 / 0.90},
    {"route": "place_order", "kind": "http_429", "probability": 0.05 / 0.85},
]
SETTLE_SECONDS = 120
UNSETTLED = ("NEW", "SUBMITTING", "UNKNOWN", "PENDING", "MODIFY_PENDING", "CANCEL_PENDING")
BROKER_STATES = {"COMPLETE", "OPEN", "CANCELLED", "REJECTED", "TRIGGER PENDING"}


@dataclass
class ChaosReport:
    requested: int = 0
    answered: int = 0
    at_broker: int = 0
    duplicates: int = 0
    lost: int = 0
    mismatches: int = 0
    retries: Counter[str] = field(default_factory=Counter)
    relogins: int = 0
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)

    def lines(self) -> list[str]:
        return [
            f"orders requested      {self.requested}",
            f"orders answered       {self.answered}",
            f"orders at the broker  {self.at_broker}",
            f"duplicates (by tag)   {self.duplicates}",
            f"lost                  {self.lost}",
            f"state mismatches      {self.mismatches}",
            f"client retries        {dict(self.retries)}",
            f"re-logins             {self.relogins}",
            f"wall seconds          {self.seconds:.1f} "
            + " ".join(f"({name} at {at:.1f} s)" for name, at in self.phases.items()),
        ]


READ_ATTEMPTS = 3


class Chaos:
    """Drives the run against a service at ``api_url`` and a paper broker at ``paper_url``."""

    def __init__(self, api_url: str, paper_url: str, api_key: str) -> None:
        self.api = httpx.AsyncClient(
            base_url=api_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30
        )
        self.paper = httpx.AsyncClient(base_url=paper_url, timeout=30)
        self.report = ChaosReport()
        self._relogin_locks: dict[str, asyncio.Lock] = {}
        self._run = uuid.uuid4().hex[:8]

    async def close(self) -> None:
        await self.api.aclose()
        await self.paper.aclose()

    async def add_accounts(self, count: int) -> list[str]:
        accounts = [f"CH{self._run[:4].upper()}{index:02d}" for index in range(count)]
        for account in accounts:
            key, secret = f"k{account}", f"s{account}"
            user = {
                "user_id": account,
                "api_key": key,
                "api_secret": secret,
                "funds": str(BIG_FUNDS),
            }
            (await self.paper.post("/_admin/users", json=user)).raise_for_status()
            body = {"account_id": account, "api_key": key, "api_secret": secret}
            (await self.api.post("/api/v1/accounts", json=body)).raise_for_status()
            await self.login(account)
        return accounts

    async def login(self, account: str) -> None:
        """The browser's part of the Kite login: our redirect, the broker's, our callback."""
        to_broker = await self.api.get(f"/api/v1/accounts/{account}/login")
        back = await self.paper.get(to_broker.headers["location"])
        query = parse_qs(urlparse(back.headers["location"]).query)
        params = {"request_token": query["request_token"][0], "state": query["state"][0]}
        (await self.api.get("/api/v1/accounts/login/callback", params=params)).raise_for_status()

    async def run(self, orders: int, accounts: list[str], clients: int) -> ChaosReport:
        for fault in FAULTS:
            (await self.paper.post("/_admin/faults", json=fault)).raise_for_status()
        started = time.monotonic()
        phases: dict[str, float] = {}
        keys = [f"chaos-{self._run}-{index}" for index in range(orders)]
        gate = asyncio.Semaphore(clients)
        expire_at = orders // 5
        tasks = [
            self._client(gate, key, accounts[index % len(accounts)], index == expire_at)
            for index, key in enumerate(keys)
        ]
        answers = await asyncio.gather(*tasks)
        phases["placed"] = time.monotonic() - started
        await self.paper.delete("/_admin/faults")
        self.report.requested = orders
        self.report.answered = sum(1 for answer in answers if answer is not None)
        await self._settle([answer for answer in answers if answer is not None])
        phases["settled"] = time.monotonic() - started
        self.report.phases = phases
        await self._compare([answer for answer in answers if answer is not None], accounts)
        self.report.seconds = time.monotonic() - started
        return self.report

    async def _client(
        self, gate: asyncio.Semaphore, key: str, account: str, expire: bool
    ) -> str | None:
        async with gate:
            if expire:
                fault = {"route": "place_order", "kind": "token_expired", "count": 1}
                (await self.paper.post("/_admin/faults", json=fault)).raise_for_status()
            for _ in range(200):
                order_id = await self._attempt(key, account)
                if order_id is not None:
                    return order_id
            return None

    async def _attempt(self, key: str, account: str) -> str | None:
        try:
            response = await self.api.post(
                "/api/v1/orders",
                json={"account_id": account, **ORDER},
                headers={"Idempotency-Key": key},
            )
        except httpx.HTTPError as exc:
            self.report.retries[type(exc).__name__] += 1
            return None
        if response.status_code in (200, 201, 202):
            return str(response.json()["order_id"])
        code = response.json()["error"]["code"]
        self.report.retries[code] += 1
        if code == "BROKER_SESSION_EXPIRED":
            await self._relogin(account)
        elif response.status_code < 500 and code != "RATE_LIMITED":
            raise SystemExit(f"a final refusal the run does not expect: {response.text}")
        await asyncio.sleep(float(response.headers.get("retry-after", "0.05")) / 10)
        return None

    async def _relogin(self, account: str) -> None:
        lock = self._relogin_locks.setdefault(account, asyncio.Lock())
        async with lock:
            state = (await self.api.get(f"/api/v1/accounts/{account}")).json()
            if state["session_state"] != "active":
                await self.login(account)
                self.report.relogins += 1

    async def _settle(self, order_ids: list[str]) -> None:
        """Wait until every answered order has left the states the service still works on."""
        deadline = time.monotonic() + SETTLE_SECONDS
        pending = set(order_ids)
        while pending and time.monotonic() < deadline:
            found = await self._orders(sorted(pending))
            pending = {o["order_id"] for o in found if o["status"] in UNSETTLED}
            if pending:
                await asyncio.sleep(0.5)

    async def _compare(self, order_ids: list[str], accounts: list[str]) -> None:
        ours = await self._orders(order_ids)
        state = (await self.paper.get("/_admin/state")).json()["data"]
        theirs = [o for o in state["orders"] if o.get("placed_by") in accounts]
        by_tag = Counter(o["tag"] for o in theirs if o.get("tag"))
        our_tags = {o["broker_tag"] for o in ours}
        self.report.at_broker = sum(1 for tag in by_tag if tag in our_tags)
        self.report.duplicates = sum(count - 1 for count in by_tag.values() if count > 1)
        latest = {o["tag"]: o for o in theirs if o.get("tag")}
        self.report.lost = sum(1 for o in ours if _lost(o, latest))
        self.report.mismatches = sum(1 for o in ours if _mismatch(o, latest))

    async def _orders(self, order_ids: list[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for start in range(0, len(order_ids), 200):
            chunk = order_ids[start : start + 200]
            found.extend(await asyncio.gather(*(self._order(i) for i in chunk)))
        return found

    async def _order(self, order_id: str) -> dict[str, Any]:
        """Read one order. A read is safe to repeat: a connection dropped under it (a kept-alive
        one the server closed as it was reused) is tried again, on a fresh one, twice at most."""
        for attempt in range(READ_ATTEMPTS):
            try:
                return dict((await self.api.get(f"/api/v1/orders/{order_id}")).json())
            except httpx.TransportError:
                if attempt == READ_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")


def _lost(order: dict[str, Any], broker: dict[str, dict[str, Any]]) -> bool:
    """Lost: at the broker but not in our books as placed, or placed in our books but absent."""
    present = order["broker_tag"] in broker
    placed = order["status"] not in ("FAILED", "DENIED")
    return present != placed


def _mismatch(order: dict[str, Any], broker: dict[str, dict[str, Any]]) -> bool:
    theirs = broker.get(order["broker_tag"])
    if theirs is None:
        return False
    return bool(str(theirs["status"]).replace(" ", "_") != order["status"])


async def run_chaos(
    api_url: str, paper_url: str, api_key: str, orders: int, accounts: int, clients: int
) -> ChaosReport:
    chaos = Chaos(api_url, paper_url, api_key)
    try:
        names = await chaos.add_accounts(accounts)
        return await chaos.run(orders, names, clients)
    finally:
        await chaos.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()
    stack = start_stack(
        kite_timeout_seconds=1.0, unknown_grace_seconds=3.0, sync_interval_seconds=0.5
    )
    try:
        report = asyncio.run(
            run_chaos(
                stack.api_url,
                stack.paper_url,
                stack.api_key,
                args.orders,
                args.accounts,
                args.clients,
            )
        )
    finally:
        stack.stop()
    print("\n".join(report.lines()))
    failed = (
        report.duplicates or report.lost or report.mismatches or report.answered != report.requested
    )
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
