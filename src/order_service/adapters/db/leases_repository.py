"""``SqlLeaseStore``: the LeaseStore port as a row per account, and the fence check of commits.

Why a row per account rather than PostgreSQL advisory locks: an advisory lock lives as long as
one connection, so it needs a connection held open per process, is lost silently when a pooler
or a network blip swaps that connection, expires only when the server notices the peer gone
(TCP keepalive, not a TTL we choose), carries no token, and cannot be seen by an operator. A
row with a holder, a token and an expiry judged by the server's clock has none of these
problems, works the same on SQLite, and is one short statement per operation. The row is kept
once made, so an account's token only grows.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Executable, delete, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncEngine

from order_service.adapters.db.coordination import ServerClock, transaction
from order_service.adapters.db.tables import lease_fences, lease_holders, leases
from order_service.domain.ids import AccountId
from order_service.services.fencing import Fence


class SqlLeaseStore:
    """Account leases in the ``leases`` table; holders in ``lease_holders``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._clock = ServerClock(engine.dialect.name)

    async def announce(self, holder: str, ttl: float) -> int:
        now, until = self._clock.now(), self._clock.later(ttl)
        upsert = self._clock.upsert(lease_holders).values(holder_id=holder, expires_at=until)
        upsert = upsert.on_conflict_do_update(
            index_elements=[lease_holders.c.holder_id], set_={"expires_at": until}
        )
        async with transaction(self._engine) as connection:
            await connection.execute(delete(lease_holders).where(lease_holders.c.expires_at <= now))
            await connection.execute(upsert)
            count = select(func.count()).where(lease_holders.c.expires_at > now)
            return int((await connection.execute(count)).scalar_one())

    async def withdraw(self, holder: str) -> None:
        async with transaction(self._engine) as connection:
            await connection.execute(
                delete(lease_holders).where(lease_holders.c.holder_id == holder)
            )

    async def acquire(self, account_id: AccountId, holder: str, ttl: float) -> int | None:
        now, until = self._clock.now(), self._clock.later(ttl)
        grant = {"holder_id": holder, "acquired_at": now, "expires_at": until}
        statement = (
            self._clock.upsert(leases)
            .values(account_id=account_id, token=1, **grant)
            .on_conflict_do_update(
                index_elements=[leases.c.account_id],
                set_={**grant, "token": leases.c.token + 1},
                where=or_(
                    leases.c.holder_id.is_(None),
                    leases.c.holder_id == holder,
                    leases.c.expires_at <= now,
                ),
            )
            .returning(leases.c.token)
        )
        async with transaction(self._engine) as connection:
            token = (await connection.execute(statement)).scalar_one_or_none()
        return int(token) if token is not None else None

    async def renew(
        self, holder: str, tokens: Mapping[AccountId, int], ttl: float
    ) -> set[AccountId]:
        if not tokens:
            return set()
        statement = (
            update(leases)
            .where(leases.c.holder_id == holder, leases.c.expires_at > self._clock.now())
            .where(tuple_(leases.c.account_id, leases.c.token).in_(list(tokens.items())))
            .values(expires_at=self._clock.later(ttl))
            .returning(leases.c.account_id)
        )
        async with transaction(self._engine) as connection:
            return {AccountId(row) for row in (await connection.execute(statement)).scalars()}

    async def release(self, account_id: AccountId, holder: str, token: int) -> None:
        statement = (
            update(leases)
            .where(
                leases.c.account_id == account_id,
                leases.c.holder_id == holder,
                leases.c.token == token,
            )
            .values(holder_id=None, expires_at=self._clock.now())
        )
        async with transaction(self._engine) as connection:
            await connection.execute(statement)

    async def close(self) -> None:
        """Nothing of its own to close: the engine belongs to whoever made it."""


def fence_check(dialect: str, fence: Fence) -> Executable:
    """Return the write that raises the account's fence to ``fence.token``, or changes no row.

    It changes no row when a newer token has written for the account (or raised its fence on
    a grant): then the commit must be refused.
    """
    statement = ServerClock(dialect).upsert(lease_fences)
    statement = statement.values(account_id=fence.account_id, token=fence.token)
    excluded = statement.excluded
    checked: Executable = statement.on_conflict_do_update(
        index_elements=[lease_fences.c.account_id],
        set_={"token": excluded.token},
        where=lease_fences.c.token <= excluded.token,
    )
    return checked
