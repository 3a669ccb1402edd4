"""The account event log: appended to, read back newest first by name."""

from __future__ import annotations

from sqlalchemy import RowMapping, insert, select

from order_service.adapters.db.mapping import Values
from order_service.adapters.db.repositories import SqlRepository
from order_service.adapters.db.tables import account_events
from order_service.domain.account_events import AccountEvent
from order_service.domain.ids import AccountId

_INSERT_EVENT = insert(account_events)


class SqlAccountEventRepository(SqlRepository):
    """Events get their sequence from the database; it orders the log."""

    async def add(self, event: AccountEvent) -> None:
        await self._execute(_INSERT_EVENT, [account_event_values(event)])

    async def recent(self, account_id: AccountId, name: str, limit: int) -> list[AccountEvent]:
        statement = (
            select(account_events)
            .where(account_events.c.account_id == account_id, account_events.c.name == name)
            .order_by(account_events.c.sequence.desc())
            .limit(limit)
        )
        return [account_event_from_row(row) for row in await self._all(statement)]


def account_event_values(event: AccountEvent) -> Values:
    return {
        "account_id": event.account_id,
        "name": event.name,
        "data": event.data,
        "occurred_at": event.occurred_at,
    }


def account_event_from_row(row: RowMapping) -> AccountEvent:
    return AccountEvent(
        account_id=AccountId(row["account_id"]),
        name=row["name"],
        data=dict(row["data"]),
        occurred_at=row["occurred_at"],
        sequence=row["sequence"],
    )
