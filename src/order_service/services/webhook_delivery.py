"""Webhook delivery: the event log is the outbox, read per endpoint, sent at least once.

Each enabled endpoint keeps the last feed sequence whose deliveries exist (its cursor). A pass
reads the events after it within the endpoint owner's accounts, stores a delivery for each
event of a wanted type and moves the cursor, in one transaction: an event committed is never
lost on the way to a delivery, and a crash between the two leaves nothing half done.

Due deliveries are claimed (put off by ``claim_for``, so another worker or a restart does not
send them meanwhile) and sent, each endpoint's in order, several endpoints at once. A 2xx
answer settles a delivery; anything else is retried after a pause that doubles with jitter up
to ``RetryPolicy.maximum``, until its first attempt is older than ``RetryPolicy.window``: then
it fails and its endpoint is disabled (its cursor stays, so nothing is lost if it is enabled
again by a successful manual retry).
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from order_service.domain.account import AccountScope, Principal
from order_service.domain.feed import FeedEvent, TypeFilter
from order_service.domain.ids import new_ulid
from order_service.domain.webhook import (
    Delivery,
    DeliveryStatus,
    RetryPolicy,
    WebhookEndpoint,
    WebhookEvent,
    WebhookEventType,
    signed_headers,
)
from order_service.errors import ServiceUnavailableError, UpstreamServiceError, ValidationError
from order_service.services.ports import Clock, FeedQuery, UnitOfWorkFactory, WebhookSender

_JITTER = random.Random()  # noqa: S311 - jitter, not cryptography
_NO_ACCOUNTS = AccountScope(frozenset())
BATCH = 200  # events read per endpoint, and deliveries claimed, per pass
CONCURRENT_ENDPOINTS = 16  # receivers sent to at once (each one's deliveries in order)


class Outcome(StrEnum):
    """What one attempt came to (the deliveries metric's label)."""

    SUCCEEDED = "succeeded"
    RETRYING = "retrying"  # failed, another attempt is scheduled
    FAILED = "failed"  # failed for good (the window passed, or its endpoint is disabled)


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    retry: RetryPolicy
    claim_for: timedelta  # longer than an attempt can take

    @property
    def start_within(self) -> timedelta:
        """How long into a pass attempts may start: one begun later could outlive the claim
        and be sent twice, so a slow receiver's rest is handed back to the next pass."""
        return self.claim_for / 2


class WebhookDispatcher:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        sender: WebhookSender,
        clock: Clock,
        policy: DeliveryPolicy,
    ) -> None:
        self._uow_factory = uow_factory
        self._sender = sender
        self._clock = clock
        self._policy = policy

    async def enqueue(self) -> int:
        """Make the deliveries of the events committed since each endpoint's cursor."""
        async with self._uow_factory() as uow:
            endpoints = await uow.webhooks.enabled()
        made = 0
        for endpoint, cursor in endpoints:
            made += await self._enqueue_one(endpoint, cursor)
        return made

    async def _enqueue_one(self, endpoint: WebhookEndpoint, cursor: int) -> int:
        async with self._uow_factory() as uow:
            owner = await uow.users.get(endpoint.user_id)
            query = FeedQuery(scope=_scope(owner), after=cursor, limit=BATCH)
            events = await uow.feed.page(query)
            if not events:
                return 0
            wanted = TypeFilter.of(endpoint.event_types)
            now = self._clock.now()
            deliveries = [_delivery(endpoint, e, now) for e in events if wanted.admits(e.name)]
            await uow.webhooks.add_deliveries(deliveries)
            await uow.webhooks.advance(endpoint.webhook_id, events[-1].sequence)
            await uow.commit()
        return len(deliveries)

    async def send_due(self) -> SendReport:
        """Claim the due deliveries, send them, and record every attempt in one transaction.

        A crash before that commit loses no delivery: each claimed one comes due again once
        its claim lapses, and is sent again (at least once, under the same ``webhook-id``).
        """
        now = self._clock.now()
        async with self._uow_factory() as uow:
            claimed = await uow.webhooks.claim_due(now, now + self._policy.claim_for, BATCH)
            if not claimed:  # no commit: this process's readers are not woken for nothing
                return SendReport([], {})
            await uow.commit()
        by_endpoint: dict[str, list[Delivery]] = defaultdict(list)
        for delivery in claimed:
            by_endpoint[delivery.webhook_id].append(delivery)
        gate = asyncio.Semaphore(CONCURRENT_ENDPOINTS)
        deadline = now + self._policy.start_within

        async def one_endpoint(webhook_id: str, deliveries: Sequence[Delivery]) -> _Sent:
            async with gate:
                return await self._send_all(webhook_id, deliveries, deadline)

        sent = await asyncio.gather(*(one_endpoint(k, d) for k, d in by_endpoint.items()))
        await self._record(sent)
        return SendReport(
            [outcome for one in sent for outcome in one.outcomes],
            {o.endpoint.webhook_id: o.disable for o in sent if o.endpoint and o.disable},
        )

    async def _send_all(
        self, webhook_id: str, deliveries: Sequence[Delivery], deadline: datetime
    ) -> _Sent:
        """Send one endpoint's deliveries in order until ``deadline``; those left are due
        again at once. The endpoint's state is settled after."""
        async with self._uow_factory() as uow:
            endpoint = await uow.webhooks.get(webhook_id)
        sent = _Sent(endpoint)
        if endpoint is None:  # deleted meanwhile, with its deliveries
            sent.outcomes = [Outcome.FAILED] * len(deliveries)
            return sent
        for delivery in deliveries:
            if self._clock.now() >= deadline:  # a slow receiver: its claim is not outlived
                delivery.next_attempt_at = self._clock.now()
            else:
                sent.outcomes.append(await self._attempt(delivery, endpoint, sent))
            sent.deliveries.append(delivery)
        return sent

    async def _attempt(self, delivery: Delivery, endpoint: WebhookEndpoint, sent: _Sent) -> Outcome:
        manual = delivery.status is DeliveryStatus.RETRYING
        if not endpoint.is_enabled and not manual:
            return self._failed(delivery, endpoint, "endpoint disabled", None, sent)
        timestamp = int(self._clock.now().timestamp())
        headers = signed_headers(endpoint.secret, delivery.message_id, timestamp, delivery.payload)
        try:
            status = await self._sender.send(
                endpoint.webhook_id, endpoint.url, headers, delivery.payload
            )
        except (UpstreamServiceError, ServiceUnavailableError, ValidationError) as exc:
            code = _int_or_none(exc.details.get("status"))
            return self._failed(delivery, endpoint, exc.message, code, sent)
        delivery.status = DeliveryStatus.SUCCEEDED
        delivery.attempts += 1
        delivery.last_status_code, delivery.last_error = status, None
        delivery.delivered_at = self._clock.now()
        sent.enable = not endpoint.is_enabled  # a manual retry worked: the receiver is back
        return Outcome.SUCCEEDED

    def _failed(
        self,
        delivery: Delivery,
        endpoint: WebhookEndpoint,
        error: str,
        status: int | None,
        sent: _Sent,
    ) -> Outcome:
        """Note a failed attempt: schedule the next, or fail it (and disable the endpoint)."""
        now = self._clock.now()
        manual = delivery.status is DeliveryStatus.RETRYING
        delivery.attempts += 1 if endpoint.is_enabled or manual else 0
        delivery.last_status_code, delivery.last_error = status, error
        expired = now - delivery.created_at >= self._policy.retry.window
        if expired and not manual and endpoint.is_enabled:
            sent.disable = f"deliveries failed for {self._policy.retry.window}: {error}"
        if manual or expired or not endpoint.is_enabled:
            delivery.status = DeliveryStatus.FAILED
            return Outcome.FAILED
        delivery.status = DeliveryStatus.PENDING
        pause = self._policy.retry.pause(delivery.attempts, _JITTER.uniform(0.5, 1.0))
        delivery.next_attempt_at = now + pause
        return Outcome.RETRYING

    async def _record(self, sent: Sequence[_Sent]) -> None:
        now = self._clock.now()
        async with self._uow_factory() as uow:
            for one in sent:
                for delivery in one.deliveries:
                    await uow.webhooks.save_delivery(delivery)
                if one.endpoint is None:
                    continue
                webhook_id = one.endpoint.webhook_id
                if one.disable is not None:
                    await uow.webhooks.disable(webhook_id, now, one.disable)
                    await uow.webhooks.add_event(_event(webhook_id, one.disable, now))
                elif one.enable:
                    await uow.webhooks.enable(webhook_id)
                    await uow.webhooks.add_event(_event(webhook_id, None, now))
            await uow.commit()


@dataclass(frozen=True, slots=True)
class SendReport:
    """What a pass sent: each attempt's outcome, and the webhooks it disabled (with why)."""

    outcomes: list[Outcome]
    disabled: dict[str, str]


@dataclass(slots=True)
class _Sent:
    """One endpoint's attempts of a pass, and what they make of the endpoint."""

    endpoint: WebhookEndpoint | None
    deliveries: list[Delivery] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    disable: str | None = None  # why, when its deliveries have failed for the whole window
    enable: bool = False


def _event(webhook_id: str, disabled_because: str | None, now: datetime) -> WebhookEvent:
    """The endpoint's own event, in the transaction that changes its state."""
    kind = WebhookEventType.ENABLED if disabled_because is None else WebhookEventType.DISABLED
    return WebhookEvent(new_ulid(), webhook_id, kind, disabled_because, now)


def _scope(owner: Principal | None) -> AccountScope:
    return AccountScope.of(owner) if owner is not None else _NO_ACCOUNTS


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) else None


def _delivery(endpoint: WebhookEndpoint, event: FeedEvent, now: datetime) -> Delivery:
    return Delivery(
        delivery_id=new_ulid(),
        webhook_id=endpoint.webhook_id,
        sequence=event.sequence,
        event_type=event.type,
        payload=payload_of(event),
        created_at=now,
        next_attempt_at=now,
    )


def payload_of(event: FeedEvent) -> bytes:
    """Return the Standard Webhooks body of an event: its type, timestamp and data."""
    body = {
        "type": event.type,
        "timestamp": event.occurred_at.isoformat(),
        "data": event_data(event),
    }
    return json.dumps(body, separators=(",", ":"), default=str).encode()


def event_data(event: FeedEvent) -> dict[str, object]:
    """Return an event as the feed, the stream and webhooks show it."""
    return {
        "sequence": event.sequence,
        "type": event.type,
        "name": event.name,
        "account_id": event.account_id,
        "order_id": event.order_id,
        "status_before": event.status_before.value if event.status_before else None,
        "status_after": event.status_after.value,
        "occurred_at": event.occurred_at.isoformat(),
        "data": event.data,
    }
