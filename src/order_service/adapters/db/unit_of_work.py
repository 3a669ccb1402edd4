"""The SQL unit of work: one transaction, rolled back unless committed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Self

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from order_service.adapters.db.account_events_repository import SqlAccountEventRepository
from order_service.adapters.db.attributions_repository import SqlAttributionRepository
from order_service.adapters.db.control_modes_repository import SqlControlModeRepository
from order_service.adapters.db.crypto import SecretCipher
from order_service.adapters.db.engine import is_sqlite_file, sqlite_gate
from order_service.adapters.db.feed_repository import SqlOrderFeedRepository
from order_service.adapters.db.fills_repository import SqlFillRepository
from order_service.adapters.db.handoffs_repository import SqlHandoffRepository
from order_service.adapters.db.instruments_repository import SqlInstrumentRepository
from order_service.adapters.db.kill_switch_repository import SqlKillSwitchRepository
from order_service.adapters.db.leases_repository import fence_check
from order_service.adapters.db.logins_repository import SqlLoginStateRepository
from order_service.adapters.db.orders_repository import SqlOrderRepository
from order_service.adapters.db.portfolios_repository import SqlPortfolioRepository
from order_service.adapters.db.repositories import SqlAccountRepository, translated_errors
from order_service.adapters.db.risk_limits_repository import SqlRiskLimitRepository
from order_service.adapters.db.runners import (
    SessionRunner,
    StatementRunner,
    ThreadedSqliteRunner,
)
from order_service.adapters.db.signal_tokens_repository import SqlSignalTokenRepository
from order_service.adapters.db.stored_secrets_repository import SqlStoredSecretRepository
from order_service.adapters.db.strategies_repository import SqlStrategyRepository
from order_service.adapters.db.users_repository import SqlUserRepository
from order_service.adapters.db.webhooks_repository import SqlWebhookRepository
from order_service.errors import DatabaseError, StaleLease
from order_service.observability.metrics import STALE_WRITES_REFUSED
from order_service.services.fencing import Fence, current_fence, stale
from order_service.services.ports import (
    AccountEventRepository,
    AccountRepository,
    AttributionRepository,
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
    UnitOfWork,
    UserRepository,
    WebhookRepository,
)

AfterCommit = Callable[[], None] | None


class SqlUnitOfWork:
    """Gives the repositories one transaction; ``async with`` rolls back what was not committed."""

    def __init__(
        self, runner: StatementRunner, cipher: SecretCipher, after_commit: AfterCommit = None
    ) -> None:
        # No connection is taken until the first statement, so making one here is cheap.
        self._runner = runner
        self._after_commit = after_commit
        self.orders: OrderRepository = SqlOrderRepository(runner)
        self.accounts: AccountRepository = SqlAccountRepository(runner, cipher)
        self.strategies: StrategyRepository = SqlStrategyRepository(runner)
        self.portfolios: PortfolioRepository = SqlPortfolioRepository(runner)
        self.users: UserRepository = SqlUserRepository(runner)
        self.login_states: LoginStateRepository = SqlLoginStateRepository(runner)
        self.fills: FillRepository = SqlFillRepository(runner)
        self.account_events: AccountEventRepository = SqlAccountEventRepository(runner)
        self.feed: OrderFeedRepository = SqlOrderFeedRepository(runner)
        self.webhooks: WebhookRepository = SqlWebhookRepository(runner, cipher)
        self.instruments: InstrumentRepository = SqlInstrumentRepository(runner)
        self._risk_limits = SqlRiskLimitRepository(runner)
        self.risk_limits: RiskLimitRepository = self._risk_limits
        self.control_modes: ControlModeRepository = SqlControlModeRepository(runner)
        self.kill_switches: KillSwitchRepository = SqlKillSwitchRepository(runner)
        self.secrets: StoredSecretRepository = SqlStoredSecretRepository(runner, cipher)
        self.handoffs: HandoffRepository = SqlHandoffRepository(runner)
        self.signal_tokens: SignalTokenRepository = SqlSignalTokenRepository(runner)
        self.attributions: AttributionRepository = SqlAttributionRepository(runner)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self._runner.rollback()
        except (SQLAlchemyError, OSError) as rollback_error:
            # A failed rollback must not hide the error that caused it.
            if exc is None:
                raise DatabaseError("could not roll back the transaction") from rollback_error
        finally:
            await self._runner.close()

    async def commit(self) -> None:
        fence = current_fence()
        self._risk_limits.release()  # the transaction's row locks end with it
        try:
            with translated_errors():
                if fence is not None:  # a worker's write: refused once its lease moved on
                    await self._fence(fence)
                await self._runner.commit()
        except StaleLease:  # from the check, or from the commit where SQLite runs it
            STALE_WRITES_REFUSED.inc()
            raise
        if self._after_commit is not None:  # wakes this process's event readers
            self._after_commit()

    async def _fence(self, fence: Fence) -> None:
        statement = fence_check(self._runner.dialect_name, fence)
        await self._runner.run_checked(statement, None, stale(fence))

    async def rollback(self) -> None:
        self._risk_limits.release()
        with translated_errors():
            await self._runner.rollback()


class SqlUnitOfWorkFactory:
    """Makes units of work for one database; SQLite files get their own connection thread."""

    def __init__(
        self, engine: AsyncEngine, cipher: SecretCipher, after_commit: AfterCommit = None
    ) -> None:
        self._cipher = cipher
        self._after_commit = after_commit
        self._gate = sqlite_gate(engine.url) if is_sqlite_file(engine.url) else None
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    def __call__(self) -> SqlUnitOfWork:
        runner: StatementRunner
        if self._gate is not None:
            runner = ThreadedSqliteRunner(self._gate)
        else:
            runner = SessionRunner(self._sessions())
        return SqlUnitOfWork(runner, self._cipher, self._after_commit)

    async def close(self) -> None:
        if self._gate is not None:
            await asyncio.to_thread(self._gate.dispose)


def sql_uow_factory(
    engine: AsyncEngine, cipher: SecretCipher, after_commit: AfterCommit = None
) -> SqlUnitOfWorkFactory:
    """Return a factory of units of work bound to ``engine``; ``after_commit`` is called
    after each commit (the event signal's ``notify``)."""
    return SqlUnitOfWorkFactory(engine, cipher, after_commit)


if TYPE_CHECKING:
    _implements_port: type[UnitOfWork] = SqlUnitOfWork
