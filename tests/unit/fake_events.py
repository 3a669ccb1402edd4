"""The fake event feed (the order event log in sequence order) and webhook store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from order_service.domain.events import OrderEvent
from order_service.domain.feed import FeedEvent
from order_service.domain.ids import UserId
from order_service.domain.webhook import Delivery, DeliveryStatus, WebhookEndpoint, WebhookEvent
from order_service.services.ports import FeedQuery
from tests.unit.fake_store import Change, FakeRepository, FakeStore

SENDABLE = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)


class FakeOrderFeedRepository(FakeRepository):
    """One writer at a time, so an event's sequence is its place, as on SQLite."""

    async def page(self, query: FeedQuery) -> list[FeedEvent]:
        state = self._view()
        found = [_feed_event(state, e) for e in state.events if e.sequence is not None]
        wanted = [e for e in found if e.sequence > query.after and _admits(query, e)]
        return wanted[: query.limit]

    async def last_sequence(self) -> int:
        return max((e.sequence or 0 for e in self._view().events), default=0)


def _feed_event(state: FakeStore, event: OrderEvent) -> FeedEvent:
    assert event.sequence is not None
    order = state.orders[event.order_id]
    return FeedEvent(
        event.sequence,
        order.account_id,
        event.order_id,
        event.name,
        event.status_before,
        event.status_after,
        dict(event.data),
        event.occurred_at,
    )


def _admits(query: FeedQuery, event: FeedEvent) -> bool:
    return (
        query.scope.includes(event.account_id)
        and query.account_id in (None, event.account_id)
        and query.order_id in (None, event.order_id)
        and (query.names is None or event.name in query.names)
        and (query.until is None or event.sequence <= query.until)
    )


class FakeWebhookRepository(FakeRepository):
    async def add(self, endpoint: WebhookEndpoint, cursor: int) -> None:
        self._stage(_setting_endpoint(endpoint, cursor))

    async def get(self, webhook_id: str) -> WebhookEndpoint | None:
        found = self._view().webhooks.get(webhook_id)
        return found[0] if found else None

    async def list(self, user_id: UserId) -> list[WebhookEndpoint]:
        endpoints = [e for e, _ in self._view().webhooks.values() if e.user_id == user_id]
        return sorted(endpoints, key=lambda e: e.webhook_id)

    async def remove(self, webhook_id: str) -> None:
        def remove(state: FakeStore) -> None:
            state.webhooks.pop(webhook_id, None)
            for key in [k for k, d in state.deliveries.items() if d.webhook_id == webhook_id]:
                del state.deliveries[key]
            state.webhook_events = [e for e in state.webhook_events if e.webhook_id != webhook_id]

        self._stage(remove)

    async def enabled(self) -> list[tuple[WebhookEndpoint, int]]:
        found = [(e, c) for e, c in self._view().webhooks.values() if e.is_enabled]
        return sorted(found, key=lambda pair: pair[0].webhook_id)

    async def advance(self, webhook_id: str, cursor: int) -> None:
        def advance(state: FakeStore) -> None:
            endpoint, before = state.webhooks[webhook_id]
            state.webhooks[webhook_id] = (endpoint, max(before, cursor))

        self._stage(advance)

    async def disable(self, webhook_id: str, at: datetime, reason: str) -> None:
        self._stage(_changing(webhook_id, disabled_at=at, disabled_reason=reason))

    async def enable(self, webhook_id: str) -> None:
        self._stage(_changing(webhook_id, disabled_at=None, disabled_reason=None))

    async def add_event(self, event: WebhookEvent) -> None:
        self._stage(lambda state: state.webhook_events.append(event))

    async def events(self, webhook_id: str, after: str | None, limit: int) -> list[WebhookEvent]:
        mine = [e for e in self._view().webhook_events if e.webhook_id == webhook_id]
        newest = sorted(mine, key=lambda e: e.event_id, reverse=True)
        return [e for e in newest if after is None or e.event_id < after][:limit]

    async def add_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        def add(state: FakeStore) -> None:
            taken = {(d.webhook_id, d.sequence) for d in state.deliveries.values()}
            for delivery in deliveries:
                if (delivery.webhook_id, delivery.sequence) not in taken:
                    state.deliveries[delivery.delivery_id] = replace(delivery)

        self._stage(add)

    async def deliveries(self, webhook_id: str, after: str | None, limit: int) -> list[Delivery]:
        mine = [d for d in self._view().deliveries.values() if d.webhook_id == webhook_id]
        newest = sorted(mine, key=lambda d: d.delivery_id, reverse=True)
        return [replace(d) for d in newest if after is None or d.delivery_id < after][:limit]

    async def get_delivery(self, delivery_id: str) -> Delivery | None:
        found = self._view().deliveries.get(delivery_id)
        return replace(found) if found else None

    async def claim_due(self, now: datetime, until: datetime, limit: int) -> list[Delivery]:
        due = [
            d
            for d in self._view().deliveries.values()
            if d.status in SENDABLE and d.next_attempt_at <= now
        ]
        claimed = sorted(due, key=lambda d: d.next_attempt_at)[:limit]
        for delivery in claimed:
            await self.save_delivery(replace(delivery, next_attempt_at=until))
        return sorted((replace(d) for d in claimed), key=lambda d: d.sequence)

    async def save_delivery(self, delivery: Delivery) -> None:
        def save(state: FakeStore) -> None:
            if delivery.delivery_id in state.deliveries:
                state.deliveries[delivery.delivery_id] = replace(delivery)

        self._stage(save)


def _setting_endpoint(endpoint: WebhookEndpoint, cursor: int) -> Change:
    def store(state: FakeStore) -> None:
        state.webhooks[endpoint.webhook_id] = (endpoint, cursor)

    return store


def _changing(webhook_id: str, **changes: object) -> Change:
    def change(state: FakeStore) -> None:
        endpoint, cursor = state.webhooks[webhook_id]
        state.webhooks[webhook_id] = (replace(endpoint, **changes), cursor)  # type: ignore[arg-type]

    return change
