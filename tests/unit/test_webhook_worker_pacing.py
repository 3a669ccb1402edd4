"""The webhook worker's passes: a burst of commits is one pass, not one pass per commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from order_service.entrypoints.workers.webhooks import MIN_PASS_SECONDS, WebhookWorker
from order_service.services.webhook_delivery import SendReport

pytestmark = pytest.mark.asyncio


@dataclass
class Signal:
    """Each wait returns at once with the next count, as if commits had come meanwhile."""

    commits: int = 0

    async def wait(self, seen: int, seconds: float) -> int:
        self.commits += 1
        return self.commits


@dataclass
class Dispatcher:
    passes: int = 0
    made: list[int] = field(default_factory=list)

    async def enqueue(self) -> int:
        self.passes += 1
        return self.made.pop(0) if self.made else 0

    async def send_due(self) -> SendReport:
        return SendReport([], {})


def worker_with(dispatcher: Dispatcher, pauses: list[float]) -> WebhookWorker:
    async def pause(seconds: float) -> None:
        pauses.append(seconds)

    services: Any = SimpleNamespace(dispatcher=dispatcher, event_signal=Signal())
    return WebhookWorker(services, pause=pause)


async def test_an_idle_pass_woken_by_a_commit_waits_for_the_commits_that_follow() -> None:
    dispatcher, pauses = Dispatcher(), []
    worker = worker_with(dispatcher, pauses)

    for _ in range(3):
        await worker.run_once()

    assert dispatcher.passes == 3
    assert pauses == [MIN_PASS_SECONDS] * 3  # at most one pass per MIN_PASS_SECONDS


async def test_a_pass_that_made_deliveries_goes_straight_on() -> None:
    dispatcher, pauses = Dispatcher(made=[2]), []
    worker = worker_with(dispatcher, pauses)

    await worker.run_once()

    assert pauses == []  # work was done: the next pass does not wait
