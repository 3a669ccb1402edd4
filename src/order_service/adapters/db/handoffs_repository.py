"""Handoffs: one row each, its steps a JSON list; the partial unique index allows one
unfinished handoff per scope, the backstop of the scope lock taken in ``lock_scope``."""

from __future__ import annotations

from sqlalchemy import RowMapping, bindparam, insert, select, update

from order_service.adapters.db.mapping import Values
from order_service.adapters.db.repositories import SqlRepository
from order_service.adapters.db.tables import UNFINISHED_HANDOFF, accounts, handoffs, strategies
from order_service.domain.control import ControlMode, ControlTrigger
from order_service.domain.handoff import Handoff, HandoffId, HandoffStatus, HandoffStep
from order_service.domain.ids import AccountId, StrategyId, UserId
from order_service.errors import StaleWrite

# Row locks on PostgreSQL; SQLite renders no FOR UPDATE: its writer transaction (the gate)
# already holds the whole database until the unit of work ends.
_HOLD_ACCOUNT = (
    select(accounts.c.account_id)
    .where(accounts.c.account_id == bindparam("account_id"))
    .with_for_update()
)
_HOLD_STRATEGY = (
    select(strategies.c.strategy_id)
    .where(strategies.c.strategy_id == bindparam("strategy_id"))
    .with_for_update()
)


class SqlHandoffRepository(SqlRepository):
    async def lock_scope(self, account_id: AccountId, strategy_id: StrategyId | None) -> None:
        # Always the account first, then the strategy: two handoffs never wait on each other.
        await self._all(_HOLD_ACCOUNT.params(account_id=account_id))
        if strategy_id is not None:
            await self._all(_HOLD_STRATEGY.params(strategy_id=strategy_id))

    async def add(self, handoff: Handoff) -> None:
        await self._execute(insert(handoffs), [handoff_values(handoff)])

    async def get(self, handoff_id: HandoffId) -> Handoff | None:
        row = await self._one_or_none(select(handoffs).where(handoffs.c.handoff_id == handoff_id))
        return handoff_from_row(row) if row is not None else None

    async def unfinished(self, account_id: AccountId) -> list[Handoff]:
        statement = (
            select(handoffs)
            .where(handoffs.c.account_id == account_id, UNFINISHED_HANDOFF)
            .order_by(handoffs.c.created_at, handoffs.c.handoff_id)
        )
        return [handoff_from_row(row) for row in await self._all(statement)]

    async def accounts_unfinished(self) -> list[AccountId]:
        statement = select(handoffs.c.account_id).where(UNFINISHED_HANDOFF).distinct()
        return sorted(AccountId(row["account_id"]) for row in await self._all(statement))

    async def save(self, handoff: Handoff) -> None:
        values = handoff_values(handoff)
        values["version"] = handoff.version + 1
        statement = (
            update(handoffs)
            .where(
                handoffs.c.handoff_id == handoff.handoff_id,
                handoffs.c.version == handoff.version,
            )
            .values(**values)
        )
        await self._expect_rows(statement, None, StaleWrite(handoff.handoff_id))
        handoff.version += 1


def handoff_values(handoff: Handoff) -> Values:
    return {
        "handoff_id": handoff.handoff_id,
        "account_id": handoff.account_id,
        "strategy_id": handoff.strategy_id,
        "scope_key": handoff.scope_key,
        "trigger": handoff.trigger.value,
        "from_mode": handoff.from_mode.value,
        "target_mode": handoff.target_mode.value,
        "status": handoff.status.value,
        "force": handoff.force,
        "requested_by": handoff.requested_by,
        "failure": handoff.failure,
        "steps": [step.as_dict() for step in handoff.steps],
        "version": handoff.version,
        "created_at": handoff.created_at,
        "updated_at": handoff.updated_at,
        "deadline": handoff.deadline,
    }


def handoff_from_row(row: RowMapping) -> Handoff:
    strategy_id = row["strategy_id"]
    return Handoff(
        handoff_id=HandoffId(row["handoff_id"]),
        account_id=AccountId(row["account_id"]),
        strategy_id=StrategyId(strategy_id) if strategy_id is not None else None,
        trigger=ControlTrigger(row["trigger"]),
        from_mode=ControlMode(row["from_mode"]),
        target_mode=ControlMode(row["target_mode"]),
        status=HandoffStatus(row["status"]),
        force=row["force"],
        requested_by=UserId(row["requested_by"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        deadline=row["deadline"],
        failure=row["failure"],
        steps=[HandoffStep.from_dict(dict(step)) for step in row["steps"]],
        version=row["version"],
    )
