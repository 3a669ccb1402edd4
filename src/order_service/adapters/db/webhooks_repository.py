"""Webhook endpoints (secrets encrypted at rest) and their deliveries."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, Select, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from order_service.adapters.db.crypto import SecretCipher
from order_service.adapters.db.mapping import Values
from order_service.adapters.db.repositories import SqlRepository
from order_service.adapters.db.runners import StatementRunner
from order_service.adapters.db.tables import webhook_deliveries, webhook_events, webhooks
from order_service.domain.ids import UserId
from order_service.domain.webhook import (
    Delivery,
    DeliveryStatus,
    WebhookEndpoint,
    WebhookEvent,
    WebhookEventType,
)

_SENDABLE = (DeliveryStatus.PENDING.value, DeliveryStatus.RETRYING.value)


class SqlWebhookRepository(SqlRepository):
    def __init__(self, runner: StatementRunner, cipher: SecretCipher) -> None:
        super().__init__(runner)
        self._cipher = cipher

    async def add(self, endpoint: WebhookEndpoint, cursor: int) -> None:
        values = {**self._endpoint_values(endpoint), "cursor": cursor}
        await self._execute(insert(webhooks), [values])

    async def get(self, webhook_id: str) -> WebhookEndpoint | None:
        row = await self._one_or_none(select(webhooks).where(webhooks.c.webhook_id == webhook_id))
        return self._endpoint(row) if row is not None else None

    async def list(self, user_id: UserId) -> builtins.list[WebhookEndpoint]:
        statement = (
            select(webhooks).where(webhooks.c.user_id == user_id).order_by(webhooks.c.webhook_id)
        )
        return [self._endpoint(row) for row in await self._all(statement)]

    async def remove(self, webhook_id: str) -> None:
        await self._execute(
            delete(webhook_deliveries).where(webhook_deliveries.c.webhook_id == webhook_id)
        )
        await self._execute(delete(webhook_events).where(webhook_events.c.webhook_id == webhook_id))
        await self._execute(delete(webhooks).where(webhooks.c.webhook_id == webhook_id))

    async def enabled(self) -> builtins.list[tuple[WebhookEndpoint, int]]:
        statement = (
            select(webhooks).where(webhooks.c.disabled_at.is_(None)).order_by(webhooks.c.webhook_id)
        )
        return [(self._endpoint(row), int(row["cursor"])) for row in await self._all(statement)]

    async def advance(self, webhook_id: str, cursor: int) -> None:
        statement = (
            update(webhooks)
            .where(webhooks.c.webhook_id == webhook_id, webhooks.c.cursor < cursor)
            .values(cursor=cursor)
        )
        await self._execute(statement)

    async def disable(self, webhook_id: str, at: datetime, reason: str) -> None:
        statement = (
            update(webhooks)
            .where(webhooks.c.webhook_id == webhook_id)
            .values(disabled_at=at, disabled_reason=reason[:500])
        )
        await self._execute(statement)

    async def enable(self, webhook_id: str) -> None:
        statement = (
            update(webhooks)
            .where(webhooks.c.webhook_id == webhook_id)
            .values(disabled_at=None, disabled_reason=None)
        )
        await self._execute(statement)

    async def add_event(self, event: WebhookEvent) -> None:
        values = {
            "event_id": event.event_id,
            "webhook_id": event.webhook_id,
            "type": event.type.value,
            "reason": event.reason[:500] if event.reason is not None else None,
            "occurred_at": event.occurred_at,
        }
        await self._execute(insert(webhook_events), [values])

    async def events(
        self, webhook_id: str, after: str | None, limit: int
    ) -> builtins.list[WebhookEvent]:
        statement = select(webhook_events).where(webhook_events.c.webhook_id == webhook_id)
        if after is not None:
            statement = statement.where(webhook_events.c.event_id < after)
        statement = statement.order_by(webhook_events.c.event_id.desc()).limit(limit)
        return [_event(row) for row in await self._all(statement)]

    async def add_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        if not deliveries:
            return
        rows = [_delivery_values(delivery) for delivery in deliveries]
        await self._execute(self._insert_or_ignore_many(), rows)

    async def deliveries(
        self, webhook_id: str, after: str | None, limit: int
    ) -> builtins.list[Delivery]:
        statement = select(webhook_deliveries).where(webhook_deliveries.c.webhook_id == webhook_id)
        if after is not None:
            statement = statement.where(webhook_deliveries.c.delivery_id < after)
        statement = statement.order_by(webhook_deliveries.c.delivery_id.desc()).limit(limit)
        return [_delivery(row) for row in await self._all(statement)]

    async def get_delivery(self, delivery_id: str) -> Delivery | None:
        statement = select(webhook_deliveries).where(
            webhook_deliveries.c.delivery_id == delivery_id
        )
        row = await self._one_or_none(statement)
        return _delivery(row) if row is not None else None

    async def claim_due(
        self, now: datetime, until: datetime, limit: int
    ) -> builtins.list[Delivery]:
        due = self._due(now, limit)
        statement = (
            update(webhook_deliveries)
            .where(webhook_deliveries.c.delivery_id.in_(due.scalar_subquery()))
            .values(next_attempt_at=until)
            .returning(*webhook_deliveries.c)
        )
        rows = await self._all(statement)
        return sorted((_delivery(row) for row in rows), key=lambda d: d.sequence)

    async def save_delivery(self, delivery: Delivery) -> None:
        values = _delivery_values(delivery)
        statement = (
            update(webhook_deliveries)
            .where(webhook_deliveries.c.delivery_id == delivery.delivery_id)
            .values({k: v for k, v in values.items() if k != "delivery_id"})
        )
        await self._execute(statement)

    def _due(self, now: datetime, limit: int) -> Select[Any]:
        statement = (
            select(webhook_deliveries.c.delivery_id)
            .where(
                webhook_deliveries.c.status.in_(_SENDABLE),
                webhook_deliveries.c.next_attempt_at <= now,
            )
            .order_by(webhook_deliveries.c.next_attempt_at)
            .limit(limit)
        )
        if self._runner.dialect_name == "postgresql":  # two workers never claim one delivery
            statement = statement.with_for_update(skip_locked=True)
        return statement

    def _insert_or_ignore_many(self) -> Any:
        if self._runner.dialect_name == "postgresql":
            return postgresql.insert(webhook_deliveries).on_conflict_do_nothing()
        return sqlite.insert(webhook_deliveries).on_conflict_do_nothing()

    def _endpoint_values(self, endpoint: WebhookEndpoint) -> Values:
        return {
            "webhook_id": endpoint.webhook_id,
            "user_id": endpoint.user_id,
            "url": endpoint.url,
            "event_types": list(endpoint.event_types),
            "description": endpoint.description,
            "secret_encrypted": self._cipher.encrypt(endpoint.secret),
            "created_at": endpoint.created_at,
            "disabled_at": endpoint.disabled_at,
            "disabled_reason": endpoint.disabled_reason,
        }

    def _endpoint(self, row: RowMapping) -> WebhookEndpoint:
        return WebhookEndpoint(
            webhook_id=row["webhook_id"],
            user_id=UserId(row["user_id"]),
            url=row["url"],
            event_types=tuple(row["event_types"]),
            description=row["description"],
            secret=self._cipher.decrypt(row["secret_encrypted"]),
            created_at=row["created_at"],
            disabled_at=row["disabled_at"],
            disabled_reason=row["disabled_reason"],
        )


def _delivery_values(delivery: Delivery) -> Values:
    return {
        "delivery_id": delivery.delivery_id,
        "webhook_id": delivery.webhook_id,
        "sequence": delivery.sequence,
        "event_type": delivery.event_type,
        "payload": delivery.payload.decode(),
        "status": delivery.status.value,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at,
        "last_status_code": delivery.last_status_code,
        "last_error": (delivery.last_error or "")[:500] or None,
        "created_at": delivery.created_at,
        "delivered_at": delivery.delivered_at,
    }


def _delivery(row: RowMapping) -> Delivery:
    return Delivery(
        delivery_id=row["delivery_id"],
        webhook_id=row["webhook_id"],
        sequence=int(row["sequence"]),
        event_type=row["event_type"],
        payload=row["payload"].encode(),
        created_at=row["created_at"],
        next_attempt_at=row["next_attempt_at"],
        status=DeliveryStatus(row["status"]),
        attempts=row["attempts"],
        last_status_code=row["last_status_code"],
        last_error=row["last_error"],
        delivered_at=row["delivered_at"],
    )


def _event(row: RowMapping) -> WebhookEvent:
    return WebhookEvent(
        event_id=row["event_id"],
        webhook_id=row["webhook_id"],
        type=WebhookEventType(row["type"]),
        reason=row["reason"],
        occurred_at=row["occurred_at"],
    )
