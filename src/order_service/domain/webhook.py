"""Webhook endpoints and their deliveries, signed per the Standard Webhooks specification.

A delivery is one event for one endpoint, sent until the receiver answers 2xx (at least once,
always with the same ``webhook-id``). Failed attempts are retried after exponentially growing
pauses with jitter; once the first attempt is older than the retry window the delivery is
given up and the endpoint disabled, so a dead receiver stops costing anything.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from order_service.domain.ids import UserId

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of every secret, not a secret
SECRET_BYTES = 32
SIGNATURE_VERSION = "v1"


class WebhookEventType(StrEnum):
    """What happened to an endpoint itself (not to an order): its own event log's types."""

    DISABLED = "webhook.disabled"  # its deliveries failed for the whole retry window
    ENABLED = "webhook.enabled"  # a manual retry reached the receiver again


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # given up after the retry window, or its endpoint was disabled
    RETRYING = "retrying"  # a user asked for one more attempt (which may re-enable the endpoint)


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    """A user's receiver: where to send which event types, and with which secret."""

    webhook_id: str
    user_id: UserId
    url: str
    event_types: tuple[str, ...]
    description: str
    secret: str
    created_at: datetime
    disabled_at: datetime | None = None
    disabled_reason: str | None = None

    @property
    def is_enabled(self) -> bool:
        return self.disabled_at is None


@dataclass(slots=True)
class Delivery:
    """One event for one endpoint, and how its attempts went."""

    delivery_id: str
    webhook_id: str
    sequence: int  # the event's place in the feed; the message id derives from it
    event_type: str
    payload: bytes  # the exact body signed and sent, every attempt alike
    created_at: datetime
    next_attempt_at: datetime
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    last_status_code: int | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None
    changed: bool = field(default=False, compare=False)

    @property
    def message_id(self) -> str:
        """The ``webhook-id``: one per event, the same on every attempt and every retry."""
        return f"msg_{self.sequence}"


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One change of an endpoint's state, kept for its owner to read."""

    event_id: str
    webhook_id: str
    type: WebhookEventType
    reason: str | None
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Pauses between attempts: ``initial`` doubling up to ``maximum``, within ``window``."""

    initial: timedelta
    maximum: timedelta
    window: timedelta

    def pause(self, attempts: int, jitter: float) -> timedelta:
        """Return the pause after the ``attempts``-th failure; ``jitter`` in [0.5, 1]."""
        grown = self.initial * (2 ** min(attempts - 1, 30))
        pause: timedelta = min(self.maximum, grown) * jitter
        return pause


def new_secret() -> str:
    """Return a fresh signing secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """Return the ``webhook-signature`` value: ``v1,`` and the base64 HMAC-SHA256 of
    ``id.timestamp.body`` keyed by the secret's bytes."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def signed_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Return the Standard Webhooks headers of one attempt."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
        "content-type": "application/json",
    }
