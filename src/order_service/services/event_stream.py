"""The live stream: one reader of the feed per process, fanned out to every connected client.

The broadcaster reads the whole feed once per wake-up (a commit here, a NOTIFY from another
process, or at the latest every ``idle_wait`` seconds) and offers each new event to every
subscription whose filter admits it. A subscription's queue is bounded and never waited on:
one that overflows is closed, its client disconnected; it resumes from its last id. So a slow
client costs the others nothing and no memory grows without bound.

A client joining with a cursor first reads the feed itself up to where its subscription's
live events begin, then takes the live events, skipping any it has already had.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field, replace

from order_service.domain.account import EVERY_ACCOUNT
from order_service.domain.feed import FeedEvent
from order_service.errors import OrderServiceError
from order_service.services.order_feed import OrderFeedService
from order_service.services.ports import EventSignal, FeedQuery

CATCH_UP_PAGE = 500
READ_PAGE = 1000
RETRY_PAUSE = 0.5  # after a failed read of the feed (the database is down, say)


class StreamClosed(Exception):
    """The subscription was closed: it overflowed, or the broadcaster stopped."""


@dataclass(frozen=True, slots=True)
class StreamPolicy:
    queue_size: int  # events a client may lag behind before it is disconnected
    idle_wait: float  # the longest wait between reads of the feed, and between heartbeats


@dataclass(eq=False)
class Subscription:
    """One client's bounded queue of live events, the ones its query admits."""

    query: FeedQuery
    start: int  # the feed sequence after which live events come through this queue
    queue: asyncio.Queue[FeedEvent | None] = field(default_factory=asyncio.Queue)  # None: closed
    closed: bool = False

    def offer(self, event: FeedEvent) -> None:
        if self.closed or not _admits(self.query, event):
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.close()

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)  # wakes a reader waiting on an empty queue

    async def next(self, seconds: float) -> FeedEvent | None:
        """Return the next live event, or None after ``seconds`` (a heartbeat is due)."""
        if self.closed and self.queue.empty():
            raise StreamClosed
        try:
            async with asyncio.timeout(seconds):
                event = await self.queue.get()
        except TimeoutError:
            return None
        if event is None or self.closed:
            raise StreamClosed
        return event


class FeedBroadcaster:
    """Reads the feed on each wake-up and offers what is new to every subscription."""

    def __init__(self, feed: OrderFeedService, signal: EventSignal, policy: StreamPolicy) -> None:
        self._feed = feed
        self._signal = signal
        self._policy = policy
        self._subscriptions: set[Subscription] = set()
        self._cursor: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def subscribe(self, query: FeedQuery) -> Subscription:
        async with self._lock:
            if self._task is not None and self._task.done():
                stopped, self._task = self._task, None
                failure = None if stopped.cancelled() else stopped.exception()
                if failure is not None:  # a bug stopped the reader: said once, loudly
                    raise failure
            if self._task is None or self._cursor is None:
                self._cursor = await self._feed.last_sequence()
                self._task = asyncio.create_task(self._run(), name="feed-broadcaster")
            queue: asyncio.Queue[FeedEvent | None] = asyncio.Queue(self._policy.queue_size + 1)
            subscription = Subscription(query, self._cursor, queue)
            self._subscriptions.add(subscription)
            return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    async def follow(self, query: FeedQuery) -> AsyncGenerator[FeedEvent | None]:
        """Yield the query's events after ``query.after``, then live ones; None is a heartbeat.

        Raises ``StreamClosed`` when the client falls too far behind (it resumes by its id).
        """
        subscription = await self.subscribe(query)
        try:
            yield None  # the subscription is in place: live events from here on are kept
            last = query.after
            async for event in self._catch_up(query, subscription.start):
                last = event.sequence
                yield event
            while True:
                live = await subscription.next(self._policy.idle_wait)
                if live is None or live.sequence > last:
                    last = live.sequence if live is not None else last
                    yield live
        finally:
            self.unsubscribe(subscription)

    async def _catch_up(self, query: FeedQuery, start: int) -> AsyncIterator[FeedEvent]:
        after = query.after
        while after < start:
            page = await self._feed.read_until(
                replace(query, after=after, limit=CATCH_UP_PAGE), start
            )
            for event in page:
                yield event
            if len(page) < CATCH_UP_PAGE:
                return
            after = page[-1].sequence

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for subscription in list(self._subscriptions):
            subscription.close()

    async def _run(self) -> None:
        seen = 0
        try:
            while True:
                seen = await self._signal.wait(seen, self._policy.idle_wait)
                try:
                    await self._read_new()
                except OrderServiceError:  # the database is down: retry, clients wait
                    await asyncio.sleep(RETRY_PAUSE)
        finally:  # stopped, or a bug: every client is disconnected and resumes by its id
            for subscription in list(self._subscriptions):
                subscription.close()

    async def _read_new(self) -> None:
        assert self._cursor is not None
        while True:
            query = FeedQuery(scope=EVERY_ACCOUNT, after=self._cursor, limit=READ_PAGE)
            page = await self._feed.read(query)
            for event in page:
                for subscription in list(self._subscriptions):
                    subscription.offer(event)
            if page:
                self._cursor = page[-1].sequence
            if len(page) < READ_PAGE:
                return


def _admits(query: FeedQuery, event: FeedEvent) -> bool:
    return (
        query.scope.includes(event.account_id)
        and (query.account_id is None or event.account_id == query.account_id)
        and (query.order_id is None or event.order_id == query.order_id)
        and (query.names is None or event.name in query.names)
    )
