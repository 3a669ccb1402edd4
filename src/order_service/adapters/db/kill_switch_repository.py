"""The kill switch in the database: a row per engaged scope, an audit event per change."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, RowMapping, and_, delete, insert, select

from order_service.adapters.db.repositories import SqlRepository
from order_service.adapters.db.tables import kill_switch_events, kill_switches
from order_service.domain.halt import Halt, HaltKind, HaltScope
from order_service.domain.ids import UserId


class SqlKillSwitchRepository(SqlRepository):
    async def engage(self, halt: Halt, *, flatten: bool) -> Halt:
        """Engage ``halt`` unless its scope is engaged already; return the halt in force.

        A scope is engaged once (its primary key): engaging it again records the audit event
        (someone asked, perhaps to flatten) but keeps who engaged it first and when.
        """
        held = await self._held(halt.scope)
        if held is None:
            await self._execute(insert(kill_switches).values(_row(halt)))
        await self._event(halt.scope, "engaged", halt.engaged_by, halt.engaged_at, flatten=flatten)
        return held or halt

    async def release(self, scope: HaltScope, by: UserId, at: datetime) -> None:
        """Remove the scope's halt and record who released it, and when."""
        await self._execute(delete(kill_switches).where(_key(scope)))
        await self._event(scope, "released", by, at, flatten=False)

    async def get(self, scope: HaltScope) -> Halt | None:
        return await self._held(scope)

    async def in_force(self) -> list[Halt]:
        """Every halt in force (a handful at most: one per scope)."""
        return [_halt(row) for row in await self._all(select(kill_switches))]

    async def _held(self, scope: HaltScope) -> Halt | None:
        row = await self._one_or_none(select(kill_switches).where(_key(scope)))
        return None if row is None else _halt(row)

    async def _event(
        self, scope: HaltScope, action: str, by: UserId, at: datetime, *, flatten: bool
    ) -> None:
        values = {
            "scope_kind": scope.kind.value,
            "scope_key": scope.key,
            "action": action,
            "user_id": by,
            "occurred_at": at,
            "flatten": flatten,
        }
        await self._execute(insert(kill_switch_events).values(values))

    async def events(self) -> list[RowMapping]:
        """The audit trail, oldest first."""
        statement = select(kill_switch_events).order_by(kill_switch_events.c.sequence)
        return list(await self._all(statement))


def _key(scope: HaltScope) -> ColumnElement[bool]:
    return and_(
        kill_switches.c.scope_kind == scope.kind.value,
        kill_switches.c.scope_key == scope.key,
    )


def _row(halt: Halt) -> dict[str, object]:
    return {
        "scope_kind": halt.scope.kind.value,
        "scope_key": halt.scope.key,
        "engaged_by": halt.engaged_by,
        "engaged_at": halt.engaged_at,
        "by_admin": halt.by_admin,
    }


def _halt(row: RowMapping) -> Halt:
    scope = HaltScope(HaltKind(row["scope_kind"]), row["scope_key"])
    return Halt(scope, UserId(row["engaged_by"]), row["engaged_at"], bool(row["by_admin"]))
