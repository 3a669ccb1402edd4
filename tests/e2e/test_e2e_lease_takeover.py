"""Two real ``order-service worker`` processes share ten accounts on PostgreSQL; one is killed.

Ten logged-in paper accounts, each with an order resting OPEN (so every order sync pass works
on it). Both workers own some accounts; one is killed with SIGKILL; the survivor owns every
account again within 10 s. Each worker logs every account pass (account, token, monotonic
start and end, comparable between processes of one machine): no account is ever worked on by
both at once, and the dead worker's token is refused by the database afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest
import pytest_asyncio
from sqlalchemy import make_url

from order_service.adapters.db.crypto import SecretCipher
from order_service.adapters.db.engine import create_engine
from order_service.adapters.db.migrate import upgrade_async
from order_service.adapters.db.unit_of_work import sql_uow_factory
from order_service.bootstrap import Services, bootstrap
from order_service.config import load_settings
from order_service.domain.account import Principal, Role
from order_service.domain.ids import AccountId
from order_service.domain.values import OrderType
from order_service.errors import ServiceUnavailableError, StaleLease
from order_service.services.fencing import Fence, fence_of
from paper_broker.config import PaperBrokerConfig
from paper_broker.server import PaperBrokerServer
from tests.factories import make_request

BASE_URL = os.environ.get("ORDER_SERVICE_TEST_POSTGRES_URL")
pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.skipif(not BASE_URL, reason="ORDER_SERVICE_TEST_POSTGRES_URL not set"),
]
ACCOUNTS = [AccountId(f"LEASE{n:02}") for n in range(10)]
SECRET_KEY = "lease-takeover-test-secret"
TAKEOVER_LIMIT = 10.0  # seconds: the promise, with the default lease settings
WORKER = Path(sys.executable).parent / "order-service"


@dataclass
class Pass:
    account: str
    token: int
    started: float
    ended: float


class WorkerProcess:
    """One ``order-service worker`` subprocess, its JSON log lines in a file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("w")
        self.process = subprocess.Popen(  # noqa: S603 - our own command
            [str(WORKER), "worker"], env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def lines(self) -> list[dict[str, Any]]:
        parsed = []
        for line in self.log_path.read_text().splitlines():
            if line.startswith("{"):
                parsed.append(json.loads(line))
        return parsed

    def instance(self) -> str | None:
        running = [line for line in self.lines() if line.get("event") == "workers running"]
        return running[0]["instance"] if running else None

    def passes(self) -> list[Pass]:
        return [
            Pass(line["account"], line["token"], line["started"], line["ended"])
            for line in self.lines()
            if line.get("event") == "account pass"
        ]

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(15)
        self._log.close()


async def _admin(sql: str) -> None:
    assert BASE_URL is not None
    dsn = make_url(BASE_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest_asyncio.fixture
async def database() -> AsyncIterator[str]:
    """A database of its own, migrated, dropped afterwards."""
    assert BASE_URL is not None
    name = f"order_service_leases_{uuid.uuid4().hex[:8]}"
    await _admin(f'CREATE DATABASE "{name}"')
    url = make_url(BASE_URL).set(database=name).render_as_string(hide_password=False)
    await upgrade_async(url)
    yield url
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def paper() -> Iterator[str]:
    server = PaperBrokerServer(PaperBrokerConfig(port=0, rate_limits=False, seed=11))
    url = server.start()
    httpx.post(f"{url}/_admin/prices", json={"NSE:INFY": "1500.00"}).raise_for_status()
    for account in ACCOUNTS:
        user = {"user_id": account, "api_key": f"key{account}", "api_secret": f"sec{account}"}
        httpx.post(f"{url}/_admin/users", json=user).raise_for_status()
    yield url
    server.stop()


def worker_env(database: str, paper: str, var_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "ORDER_SERVICE_DATABASE_URL": database,
        "ORDER_SERVICE_KITE_ROOT": paper,
        "ORDER_SERVICE_SECRET_KEY": SECRET_KEY,
        "ORDER_SERVICE_VAR_DIR": str(var_dir),
        "ORDER_SERVICE_LOG_LEVEL": "DEBUG",
        "ORDER_SERVICE_LOG_JSON": "true",
        "ORDER_SERVICE_SYNC_INTERVAL_SECONDS": "0.2",
        "ORDER_SERVICE_KITE_TIMEOUT_SECONDS": "2",
    }


async def logged_in_accounts(services: Services, paper: str) -> Principal:
    user = await services.users.create_user("trader", frozenset({Role.TRADER}))
    for account in ACCOUNTS:
        await services.accounts.add_account(user, account, f"key{account}", f"sec{account}")
    user = await services.users.get_user(user.user_id)
    async with httpx.AsyncClient() as browser:
        for account in ACCOUNTS:
            login = (await services.logins.start(user, account)).url
            back = (await browser.get(login)).headers["location"]
            query = parse_qs(urlsplit(back).query)
            await services.logins.complete(query["state"][0], query["request_token"][0])
    return user


async def place_resting_orders(services: Services, user: Principal) -> None:
    """One LIMIT BUY below the market per account, once its books are reconciled."""
    for account in ACCOUNTS:
        request = make_request(
            account_id=account, order_type=OrderType.LIMIT, price=Decimal("1450.00")
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                await services.orders.place_order(user, request, None)
                break
            except ServiceUnavailableError:  # the owning worker has not reconciled it yet
                assert time.monotonic() < deadline, f"{account} never took an order"


async def holders(database: str) -> dict[str, str]:
    """Return each account's holder whose lease is live by the database's clock."""
    dsn = make_url(database).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT account_id, holder_id FROM leases WHERE holder_id IS NOT NULL"
            " AND expires_at > statement_timestamp()"
        )
    finally:
        await connection.close()
    return {row["account_id"]: row["holder_id"] for row in rows}


async def until(condition: Any, limit: float, what: str) -> float:
    """Wait for an async ``condition()``; return the seconds it took."""
    started = time.monotonic()
    while not await condition():
        assert time.monotonic() - started < limit, f"{what} within {limit} s"
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def assert_refused(database: str, fence: Fence) -> None:
    """A write under ``fence`` (the dead worker's token) is refused by the database."""
    engine = create_engine(database)
    try:
        with fence_of(fence):
            async with sql_uow_factory(engine, SecretCipher(SECRET_KEY))() as uow:
                with pytest.raises(StaleLease):
                    await uow.commit()
    finally:
        await engine.dispose()


def overlapping(mine: list[Pass], theirs: list[Pass]) -> list[tuple[Pass, Pass]]:
    return [
        (a, b)
        for a in mine
        for b in theirs
        if a.account == b.account and a.started < b.ended and b.started < a.ended
    ]


async def test_a_killed_workers_accounts_are_owned_again_within_ten_seconds(
    database: str, paper: str, tmp_path: Path
) -> None:
    settings = load_settings(
        database_url=database, kite_root=paper, secret_key=SECRET_KEY, var_dir=str(tmp_path)
    )
    services = bootstrap(settings)
    env = worker_env(database, paper, tmp_path)
    doomed = WorkerProcess(env, tmp_path / "doomed.log")
    survivor = WorkerProcess(env, tmp_path / "survivor.log")
    try:
        user = await logged_in_accounts(services, paper)
        await place_resting_orders(services, user)

        async def both_own_some() -> bool:
            held = await holders(database)
            ids = {doomed.instance(), survivor.instance()}
            return len(held) == 10 and set(held.values()) == ids

        await until(both_own_some, 30, "both workers own some of the ten accounts")
        split = await holders(database)
        doomed_id, survivor_id = doomed.instance(), survivor.instance()
        orphaned = {a for a, h in split.items() if h == doomed_id}

        async def doomed_at_work() -> bool:
            return {p.account for p in doomed.passes()} >= orphaned

        await until(doomed_at_work, 15, "the doomed worker syncs its accounts")
        doomed.stop(signal.SIGKILL)
        killed_at = time.monotonic()

        async def survivor_owns_all() -> bool:
            held = await holders(database)
            return len(held) == 10 and set(held.values()) == {survivor_id}

        await until(survivor_owns_all, TAKEOVER_LIMIT + 5, "the survivor owns every account")
        takeover = time.monotonic() - killed_at
        print(f"\nleases: {len(orphaned)} of 10 accounts taken over {takeover:.1f} s after SIGKILL")

        async def survivor_at_work() -> bool:
            return {p.account for p in survivor.passes() if p.started > killed_at} == set(ACCOUNTS)

        await until(survivor_at_work, 15, "the survivor syncs every account")
        dead_passes, live_passes = doomed.passes(), survivor.passes()
        dead_tokens = {p.account: p.token for p in dead_passes}
        stale_account = AccountId(sorted(orphaned)[0])

        assert takeover <= TAKEOVER_LIMIT
        assert 0 < len(orphaned) < 10
        assert overlapping(dead_passes, live_passes) == []
        assert all(
            p.token > dead_tokens[p.account]
            for p in live_passes
            if p.account in orphaned and p.started > killed_at
        )
        await assert_refused(database, Fence(stale_account, dead_tokens[stale_account]))
    finally:
        doomed.stop(signal.SIGKILL)
        survivor.stop()
        await services.close()
