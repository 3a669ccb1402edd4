"""Webhook endpoints: registered, listed, deleted, and their deliveries read and retried.

Another user's endpoint or delivery does not exist (``NotFound``). The signing secret is
returned once, when the endpoint is made; it is stored encrypted and never shown again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from order_service.domain.account import Principal
from order_service.domain.feed import TypeFilter
from order_service.domain.ids import new_ulid
from order_service.domain.webhook import (
    Delivery,
    DeliveryStatus,
    WebhookEndpoint,
    WebhookEvent,
    new_secret,
)
from order_service.errors import NotFound, ValidationError
from order_service.services.ports import Clock, UnitOfWork, UnitOfWorkFactory, WebhookSender

MAX_ENDPOINTS_PER_USER = 20


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    url: str
    event_types: Sequence[str]
    description: str = ""


class WebhookService:
    def __init__(self, uow_factory: UnitOfWorkFactory, sender: WebhookSender, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._sender = sender
        self._clock = clock

    async def register(self, principal: Principal, request: WebhookRequest) -> WebhookEndpoint:
        """Store a new endpoint that gets the events committed from now on."""
        types = TypeFilter.of(request.event_types, field="event_types")
        if not request.event_types:
            raise ValidationError("name at least one event type", field="event_types")
        await self._sender.check_url(request.url)
        endpoint = WebhookEndpoint(
            webhook_id=new_ulid(),
            user_id=principal.user_id,
            url=request.url,
            event_types=tuple(types.public),
            description=request.description,
            secret=new_secret(),
            created_at=self._clock.now(),
        )
        async with self._uow_factory() as uow:
            if len(await uow.webhooks.list(principal.user_id)) >= MAX_ENDPOINTS_PER_USER:
                raise ValidationError(
                    f"a user may have at most {MAX_ENDPOINTS_PER_USER} webhooks", field="url"
                )
            await uow.webhooks.add(endpoint, await uow.feed.last_sequence())
            await uow.commit()
        return endpoint

    async def endpoints(self, principal: Principal) -> list[WebhookEndpoint]:
        async with self._uow_factory() as uow:
            return await uow.webhooks.list(principal.user_id)

    async def get(self, principal: Principal, webhook_id: str) -> WebhookEndpoint:
        async with self._uow_factory() as uow:
            return await _visible(uow, principal, webhook_id)

    async def delete(self, principal: Principal, webhook_id: str) -> None:
        async with self._uow_factory() as uow:
            await _visible(uow, principal, webhook_id)
            await uow.webhooks.remove(webhook_id)
            await uow.commit()

    async def deliveries(
        self, principal: Principal, webhook_id: str, after: str | None, limit: int
    ) -> list[Delivery]:
        """Return a page of the endpoint's deliveries, newest first."""
        async with self._uow_factory() as uow:
            await _visible(uow, principal, webhook_id)
            return await uow.webhooks.deliveries(webhook_id, after, limit)

    async def events(
        self, principal: Principal, webhook_id: str, after: str | None, limit: int
    ) -> list[WebhookEvent]:
        """Return a page of what happened to the endpoint itself (disabled, enabled), newest
        first."""
        async with self._uow_factory() as uow:
            await _visible(uow, principal, webhook_id)
            return await uow.webhooks.events(webhook_id, after, limit)

    async def retry(self, principal: Principal, webhook_id: str, delivery_id: str) -> Delivery:
        """Ask for one more attempt now; if it succeeds a disabled endpoint is enabled again."""
        async with self._uow_factory() as uow:
            await _visible(uow, principal, webhook_id)
            delivery = await uow.webhooks.get_delivery(delivery_id)
            if delivery is None or delivery.webhook_id != webhook_id:
                raise NotFound(
                    f"delivery {delivery_id} not found", details={"delivery_id": delivery_id}
                )
            delivery.status = DeliveryStatus.RETRYING
            delivery.next_attempt_at = self._clock.now()
            await uow.webhooks.save_delivery(delivery)
            await uow.commit()
        return delivery


async def _visible(uow: UnitOfWork, principal: Principal, webhook_id: str) -> WebhookEndpoint:
    endpoint = await uow.webhooks.get(webhook_id)
    if endpoint is None or endpoint.user_id != principal.user_id:
        raise NotFound(f"webhook {webhook_id} not found", details={"webhook_id": webhook_id})
    return endpoint
