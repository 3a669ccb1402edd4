"""Ticker: one real-time order stream per logged-in account this process owns.

Each pass compares the accounts that should stream (a live session, owned here) with the running
connections: a login starts one, a session that expired, was revoked or was replaced by a new
login stops it (a new token starts a fresh one), and so does losing the account's ownership.

A connection applies each update as it arrives, marks the account's stream up while it is open,
and reconnects after a drop with capped exponential backoff and jitter. The backoff starts over
only after a connection has stayed up for ``STABLE_SECONDS``, so a ticker that keeps dropping
keeps backing off. A refused handshake (a revoked token) moves the account to ``login_required``
and ends its connection until the account logs in again. Bad frames and per-update errors are
logged and counted, never applied. Anything unexpected in a connection crashes the worker: every
connection is closed (``close``, which the supervisor calls whenever a worker instance ends: a
crash or a stop), then the supervisor logs it and starts a fresh instance.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from order_service.bootstrap import Services
from order_service.domain.ids import AccountId
from order_service.entrypoints.workers.supervisor import Backoff
from order_service.errors import AuthenticationError, BrokerUnavailable, OrderServiceError
from order_service.observability.logging import get_logger
from order_service.observability.metrics import (
    ORDER_UPDATES,
    RECONCILIATION_DRIFT,
    TICKER_CONNECTIONS,
    TICKER_RECONNECTS,
)
from order_service.services.fencing import fenced
from order_service.services.order_updates import UpdateOutcome
from order_service.services.ports import BrokerSession, OrderUpdate

log = get_logger(__name__)
CHANNEL = "ticker"
FAILED = "failed"  # an update that could not be applied (the database, a conflict)
INTERVAL_SECONDS = 1.0  # how soon a login, a logout or a handover changes the connections
STABLE_SECONDS = 30.0  # a connection that lasted this long starts its backoff over
_NOTEWORTHY = frozenset(
    {UpdateOutcome.MALFORMED, UpdateOutcome.UNKNOWN_ACCOUNT, UpdateOutcome.MISMATCH}
)
Pause = Callable[[float], Awaitable[None]]
Monotonic = Callable[[], float]


class TickerWorker:
    """Keeps the set of running ticker connections equal to the accounts that should stream."""

    name = "ticker"

    def __init__(
        self,
        services: Services,
        *,
        pause: Pause = asyncio.sleep,
        monotonic: Monotonic = time.monotonic,
    ) -> None:
        self._services = services
        settings = services.settings
        backoff = Backoff(settings.ticker_backoff_seconds, settings.ticker_backoff_max_seconds)
        self._connection = _ConnectionPolicy(backoff, pause, monotonic)
        self.interval = INTERVAL_SECONDS
        self._running: dict[AccountId, _Running] = {}

    async def run_once(self) -> None:
        """Start and stop connections; raise what crashed one (the supervisor then closes all)."""
        self._raise_crashed()
        await self._converge(await self._wanted())

    async def close(self) -> None:
        """Close every connection and mark its stream down; the supervisor calls it at the end."""
        for account_id in list(self._running):
            await self._end(account_id)

    def streaming(self) -> frozenset[AccountId]:
        """Return the accounts with a running connection task."""
        return frozenset(a for a, running in self._running.items() if not running.task.done())

    async def _wanted(self) -> dict[AccountId, BrokerSession]:
        sessions = await self._services.order_updates.live_sessions()
        owns = self._services.ownership.owns
        return {s.account_id: s for s in sessions if owns(s.account_id)}

    async def _converge(self, wanted: dict[AccountId, BrokerSession]) -> None:
        for account_id, running in list(self._running.items()):
            if wanted.get(account_id) != running.session:
                _raise_if_crashed(await self._end(account_id))
        for account_id, session in wanted.items():
            if account_id not in self._running:
                self._start(session)

    def _start(self, session: BrokerSession) -> None:
        connection = _Connection(session, self._services, self._connection)
        task = asyncio.create_task(connection.run(), name=f"ticker:{session.account_id}")
        self._running[session.account_id] = _Running(session, task)
        log.info("ticker started", account=session.account_id)

    async def _end(self, account_id: AccountId) -> asyncio.Task[None]:
        running = self._running.pop(account_id)
        running.task.cancel()
        await asyncio.wait([running.task])
        self._services.streams.mark_down(account_id)
        log.info("ticker stopped", account=account_id)
        return running.task

    def _raise_crashed(self) -> None:
        for running in self._running.values():
            _raise_if_crashed(running.task)


def _raise_if_crashed(task: asyncio.Task[None]) -> None:
    if task.done() and not task.cancelled() and (error := task.exception()) is not None:
        raise error


@dataclass(frozen=True, slots=True)
class _Running:
    session: BrokerSession
    task: asyncio.Task[None]


@dataclass(frozen=True, slots=True)
class _ConnectionPolicy:
    backoff: Backoff
    pause: Pause
    monotonic: Monotonic


class _Connection:
    """One account's ticker: connected, reconnected, until its session is refused."""

    def __init__(
        self, session: BrokerSession, services: Services, policy: _ConnectionPolicy
    ) -> None:
        self._session = session
        self._account = session.account_id
        self._services = services
        self._policy = policy
        # Bound when the connection starts: each of its lines names the account.
        self._log = get_logger(__name__).bind(account=session.account_id)

    async def run(self) -> None:
        failures = 0
        while True:
            began = self._policy.monotonic()
            try:
                await self._serve()
            except AuthenticationError:
                if await self._expire():
                    return  # the token is dead: no stream until the account logs in again
            except BrokerUnavailable as exc:
                self._log.warning("ticker disconnected", error=exc.message, **exc.details)
            if self._policy.monotonic() - began >= STABLE_SECONDS:
                failures = 0
            failures += 1
            TICKER_RECONNECTS.inc()
            await self._policy.pause(self._policy.backoff.delay(failures))

    async def _serve(self) -> None:
        async with self._services.order_stream.connect(self._session) as updates:
            self._services.streams.mark_up(self._account)
            TICKER_CONNECTIONS.inc()
            try:
                async for update in updates:
                    await self._apply(update)
            finally:
                TICKER_CONNECTIONS.dec()
                self._services.streams.mark_down(self._account)
        raise BrokerUnavailable("the order stream ended", details={"account_id": self._account})

    async def _apply(self, update: OrderUpdate) -> None:
        order_id = update.report.broker_order_id if update.report else None
        try:
            with fenced(self._services.ownership, self._account):  # no write after a handover
                outcome = await self._services.order_updates.apply(
                    self._account, update, self._session
                )
        except OrderServiceError as exc:
            ORDER_UPDATES.labels(CHANNEL, FAILED).inc()
            self._log.warning(
                "order update not applied",
                broker_order_id=order_id,
                code=exc.error_code,
            )
            return
        ORDER_UPDATES.labels(CHANNEL, outcome.value).inc()
        if outcome is UpdateOutcome.MISMATCH:
            RECONCILIATION_DRIFT.labels("tag_mismatch").inc()
        if outcome in _NOTEWORTHY:
            self._log.warning(
                "order update refused",
                outcome=outcome.value,
                broker_order_id=order_id,
                user_id=update.user_id,
                problem=update.problem,
            )

    async def _expire(self) -> bool:
        """Confirm a refused handshake with the broker; True once the account must log in."""
        try:
            with fenced(self._services.ownership, self._account):
                dead = await self._services.order_updates.session_refused(self._session)
        except OrderServiceError as exc:
            self._log.warning("refused session not confirmed", code=exc.error_code)
            return False
        if dead:
            self._log.warning("ticker session refused; the account must log in")
        else:
            self._log.warning("ticker handshake refused, but the broker accepts the token")
        return dead
