"""Request and response bodies of the event feed and the webhooks."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from order_service.domain.feed import EVERY_ORDER_TYPE, KNOWN_TYPES, FeedEvent
from order_service.domain.webhook import Delivery, WebhookEndpoint, WebhookEvent


class FeedEventOut(BaseModel):
    """One order event; ``sequence`` is its place in commit order (the feed's cursor)."""

    sequence: int
    type: str
    name: str
    account_id: str
    order_id: str
    status_before: str | None
    status_after: str
    occurred_at: datetime
    data: dict[str, Any]

    @classmethod
    def of(cls, event: FeedEvent) -> FeedEventOut:
        return cls(
            sequence=event.sequence,
            type=event.type,
            name=event.name,
            account_id=event.account_id,
            order_id=event.order_id,
            status_before=event.status_before.value if event.status_before else None,
            status_after=event.status_after.value,
            occurred_at=event.occurred_at,
            data=event.data,
        )


class FeedPage(BaseModel):
    items: list[FeedEventOut]
    next: int = Field(description="pass back as `after` for the events that follow")


# The public event types (``order.*`` or one such as ``order.filled``), as one alternation.
TYPE_NAMES = "|".join(re.escape(name) for name in sorted({EVERY_ORDER_TYPE, *KNOWN_TYPES}))
# A comma-separated list of them, spaces allowed around each (empty entries are skipped).
TYPE_LIST = rf"^ *(?:(?:{TYPE_NAMES}) *)?(?:, *(?:(?:{TYPE_NAMES}) *)?)*$"
EventTypeName = Annotated[str, StringConstraints(pattern=rf"^(?:{TYPE_NAMES})$")]


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        min_length=1,
        max_length=2048,
        pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s]+$",
        description="an http(s) URL of a public host (private, loopback and link-local "
        "addresses are refused)",
    )
    event_types: list[EventTypeName] = Field(
        default_factory=lambda: ["order.*"], min_length=1, max_length=64
    )
    description: str = Field(default="", max_length=500)


class WebhookOut(BaseModel):
    webhook_id: str
    url: str
    event_types: list[str]
    description: str
    created_at: datetime
    enabled: bool
    disabled_at: datetime | None
    disabled_reason: str | None

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> WebhookOut:
        return cls(
            webhook_id=endpoint.webhook_id,
            url=endpoint.url,
            event_types=list(endpoint.event_types),
            description=endpoint.description,
            created_at=endpoint.created_at,
            enabled=endpoint.is_enabled,
            disabled_at=endpoint.disabled_at,
            disabled_reason=endpoint.disabled_reason,
        )


class WebhookCreated(WebhookOut):
    secret: str = Field(description="the signing secret (whsec_…): shown this once only")

    @classmethod
    def created(cls, endpoint: WebhookEndpoint) -> WebhookCreated:
        return cls(**WebhookOut.of(endpoint).model_dump(), secret=endpoint.secret)


class DeliveryOut(BaseModel):
    delivery_id: str
    webhook_id: str
    message_id: str
    sequence: int
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryOut:
        return cls(
            delivery_id=delivery.delivery_id,
            webhook_id=delivery.webhook_id,
            message_id=delivery.message_id,
            sequence=delivery.sequence,
            event_type=delivery.event_type,
            status=delivery.status.value,
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at,
            last_status_code=delivery.last_status_code,
            last_error=delivery.last_error,
            created_at=delivery.created_at,
            delivered_at=delivery.delivered_at,
        )


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


class WebhookEventOut(BaseModel):
    """What happened to the endpoint itself: ``webhook.disabled`` (with why) or
    ``webhook.enabled``."""

    event_id: str
    webhook_id: str
    type: str
    reason: str | None
    occurred_at: datetime

    @classmethod
    def of(cls, event: WebhookEvent) -> WebhookEventOut:
        return cls(
            event_id=event.event_id,
            webhook_id=event.webhook_id,
            type=event.type.value,
            reason=event.reason,
            occurred_at=event.occurred_at,
        )


class WebhookEventPage(BaseModel):
    items: list[WebhookEventOut]
    next_cursor: str | None
