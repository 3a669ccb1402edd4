"""The webhook worker: makes deliveries from the event log and sends the due ones.

It sleeps on the event signal (a commit here, a NOTIFY from another process), waking at least
every ``RECHECK_SECONDS`` for retries that have come due, and at most once every
``MIN_PASS_SECONDS``: a burst of commits is one pass, so its reads do not grow with the rate of
orders (each order commits several times) and delay none of them. Several worker processes may
run it: deliveries are claimed before they are sent, and made at most once per event and
endpoint. Webhooks belong to users, not accounts, so no account lease applies.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from order_service.bootstrap import Services
from order_service.observability.logging import get_logger
from order_service.observability.metrics import (
    WEBHOOK_DELIVERIES,
    WEBHOOK_DELIVERIES_QUEUED,
    WEBHOOKS_DISABLED,
)

log = get_logger(__name__)
RECHECK_SECONDS = 1.0
MIN_PASS_SECONDS = 0.05
Pause = Callable[[float], Awaitable[None]]


class WebhookWorker:
    name = "webhooks"
    interval = 0.0  # each pass waits for news itself

    def __init__(self, services: Services, *, pause: Pause = asyncio.sleep) -> None:
        self._dispatcher = services.dispatcher
        self._signal = services.event_signal
        self._pause = pause
        self._seen = 0

    async def run_once(self) -> None:
        made = await self._dispatcher.enqueue()
        WEBHOOK_DELIVERIES_QUEUED.inc(made)
        sent = await self._dispatcher.send_due()
        for outcome in sent.outcomes:
            WEBHOOK_DELIVERIES.labels(outcome.value).inc()
        for webhook_id, reason in sent.disabled.items():
            WEBHOOKS_DISABLED.inc()
            log.warning("webhook disabled", webhook_id=webhook_id, reason=reason)
        if not made and not sent.outcomes:
            self._seen = await self._signal.wait(self._seen, RECHECK_SECONDS)
            await self._pause(MIN_PASS_SECONDS)  # the commits that follow join this pass
