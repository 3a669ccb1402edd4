"""In-memory doubles of our own ports (fakes, not mocks)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self

from order_service.adapters.broker.fake import FakeBroker
from order_service.domain.ids import BrokerOrderId
from order_service.domain.order import OrderRequest
from order_service.domain.status import OrderStatus
from order_service.services.fencing import Fence, current_fence, stale
from order_service.services.ports import (
    AccountEventRepository,
    AccountRepository,
    AttributionRepository,
    BrokerSession,
    Clock,
    ControlModeRepository,
    FillRepository,
    HandoffRepository,
    InstrumentRepository,
    KillSwitchRepository,
    LoginStateRepository,
    OrderFeedRepository,
    OrderRepository,
    PortfolioRepository,
    RiskLimitRepository,
    SignalTokenRepository,
    StoredSecretRepository,
    StrategyRepository,
    UserRepository,
    WebhookRepository,
)
from tests.unit.fake_account_events import FakeAccountEventRepository
from tests.unit.fake_accounts import (
    FakeAccountRepository,
    FakeLoginStateRepository,
    FakeStrategyRepository,
    FakeUserRepository,
)
from tests.unit.fake_attributions import FakeAttributionRepository
from tests.unit.fake_control_modes import FakeControlModeRepository
from tests.unit.fake_events import FakeOrderFeedRepository, FakeWebhookRepository
from tests.unit.fake_fills import FakeFillRepository
from tests.unit.fake_handoffs import FakeHandoffRepository
from tests.unit.fake_instruments import FakeInstrumentRepository
from tests.unit.fake_kill_switches import FakeKillSwitchRepository
from tests.unit.fake_orders import FakeOrderRepository
from tests.unit.fake_portfolios import FakePortfolioRepository
from tests.unit.fake_risk_limits import FakeRiskLimitRepository
from tests.unit.fake_signal_tokens import FakeSignalTokenRepository
from tests.unit.fake_store import ApiKeyRow, Change, FakeStore

__all__ = [
    "ApiKeyRow",
    "FakeClock",
    "FakeStore",
    "FakeUnitOfWork",
    "GatedBroker",
    "StoreCheckingBroker",
]


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 30, 4, 0, tzinfo=UTC)  # 09:30 IST

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


class FakeStoredSecretRepository:
    """The fake store keeps secrets in memory, unencrypted: every one is readable."""

    async def unreadable(self) -> list[str]:
        return []

    async def rotate(self) -> int:
        return 0


class FakeUnitOfWork:
    """Stages writes, checked as they come and again at commit; rolls back otherwise.

    ``tests.unit.fake_store`` explains how it keeps the contract of ``SqlUnitOfWork``.
    """

    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self._changes: list[Change] = []
        self.orders: OrderRepository = FakeOrderRepository(self)
        self.accounts: AccountRepository = FakeAccountRepository(self)
        self.strategies: StrategyRepository = FakeStrategyRepository(self)
        self.portfolios: PortfolioRepository = FakePortfolioRepository(self)
        self.users: UserRepository = FakeUserRepository(self)
        self.login_states: LoginStateRepository = FakeLoginStateRepository(self)
        self.fills: FillRepository = FakeFillRepository(self)
        self.account_events: AccountEventRepository = FakeAccountEventRepository(self)
        self.feed: OrderFeedRepository = FakeOrderFeedRepository(self)
        self.webhooks: WebhookRepository = FakeWebhookRepository(self)
        self.instruments: InstrumentRepository = FakeInstrumentRepository(self)
        self.risk_limits: RiskLimitRepository = FakeRiskLimitRepository(self)
        self.control_modes: ControlModeRepository = FakeControlModeRepository(self)
        self.kill_switches: KillSwitchRepository = FakeKillSwitchRepository(self)
        self.secrets: StoredSecretRepository = FakeStoredSecretRepository()
        self.handoffs: HandoffRepository = FakeHandoffRepository(self)
        self.signal_tokens: SignalTokenRepository = FakeSignalTokenRepository(self)
        self.attributions: AttributionRepository = FakeAttributionRepository(self)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.rollback()

    def view(self) -> FakeStore:
        """Return the store as this unit of work sees it: committed rows and its own changes."""
        state = self.store.scratch()
        for change in self._changes:
            change(state)
        return state

    def stage(self, change: Change) -> None:
        """Keep ``change`` for the commit, if it holds now (its refusal is raised if not)."""
        change(self.view())
        self._changes.append(change)

    async def commit(self) -> None:
        changes, self._changes = self._changes, []
        fence = current_fence()
        if fence is not None:  # checked in the same all-or-nothing step, as SQL does
            changes.append(_fence_check(fence))
        trial = self.store.scratch()
        for change in changes:  # all or nothing: a refusal leaves the store as it was
            change(trial)
        for change in changes:
            change(self.store)
        self.store.commits += 1

    async def rollback(self) -> None:
        self._changes.clear()


def _fence_check(fence: Fence) -> Change:
    """Raise the account's fence to the token, or refuse the commit if a newer one was seen."""

    def check(store: FakeStore) -> None:
        if store.fences.get(fence.account_id, 0) > fence.token:
            raise stale(fence)
        store.fences[fence.account_id] = fence.token

    return check


class StoreCheckingBroker(FakeBroker):
    """A FakeBroker that notes what the store held for the order when ``place_order`` began."""

    def __init__(self, clock: Clock, store: FakeStore) -> None:
        super().__init__(clock)
        self._store = store
        self.seen: list[tuple[OrderStatus, list[str]]] = []

    async def place_order(
        self, session: BrokerSession, request: OrderRequest, tag: str
    ) -> BrokerOrderId:
        (order,) = [o for o in self._store.orders.values() if o.tag == tag]
        events = [e.name for e in self._store.events if e.order_id == order.order_id]
        self.seen.append((order.status, events))
        return await super().place_order(session, request, tag)


class GatedBroker(FakeBroker):
    """A FakeBroker whose ``place_order`` waits at a gate until the test opens it."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock)
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()

    async def place_order(
        self, session: BrokerSession, request: OrderRequest, tag: str
    ) -> BrokerOrderId:
        self.entered.set()
        await self.gate.wait()
        return await super().place_order(session, request, tag)
