"""The SQL unit of work: one session, one transaction, rolled back unless committed."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Self

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from order_service.adapters.db.crypto import SecretCipher
from order_service.adapters.db.orders_repository import SqlOrderRepository
from order_service.adapters.db.repositories import (
    SqlAccountRepository,
    SqlStrategyRepository,
    translated_errors,
)
from order_service.adapters.db.users_repository import SqlUserRepository
from order_service.errors import DatabaseError
from order_service.services.ports import (
    AccountRepository,
    OrderRepository,
    StrategyRepository,
    UnitOfWork,
    UserRepository,
)


class SqlUnitOfWork:
    """Gives the repositories one session; ``async with`` rolls back whatever was not committed."""

    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], cipher: SecretCipher
    ) -> None:
        # A session holds no connection until its first statement, so making one here is cheap.
        self._session = session_factory()
        self.orders: OrderRepository = SqlOrderRepository(self._session)
        self.accounts: AccountRepository = SqlAccountRepository(self._session, cipher)
        self.strategies: StrategyRepository = SqlStrategyRepository(self._session)
        self.users: UserRepository = SqlUserRepository(self._session)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self._session.rollback()
        except (SQLAlchemyError, OSError) as rollback_error:
            # A failed rollback must not hide the error that caused it.
            if exc is None:
                raise DatabaseError("could not roll back the transaction") from rollback_error
        finally:
            await self._session.close()

    async def commit(self) -> None:
        with translated_errors():
            await self._session.commit()

    async def rollback(self) -> None:
        with translated_errors():
            await self._session.rollback()


def sql_uow_factory(engine: AsyncEngine, cipher: SecretCipher) -> Callable[[], SqlUnitOfWork]:
    """Return a factory of units of work bound to ``engine``."""
    sessions = async_sessionmaker(engine, expire_on_commit=False)

    def new_unit_of_work() -> SqlUnitOfWork:
        return SqlUnitOfWork(sessions, cipher)

    return new_unit_of_work


if TYPE_CHECKING:
    _implements_port: type[UnitOfWork] = SqlUnitOfWork
