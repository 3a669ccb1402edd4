"""The fill ledger kept in memory per account: read whole once, then only what is new.

The books compute from an account's whole history, and reading ten thousand rows costs more
than computing with them, so each process keeps each account's fills once read and afterwards
reads only those stored since (by sequence). On PostgreSQL a sequence value can be committed
after a higher one, so a fill is kept only once it was recorded ``settle_seconds`` ago (and
every fill before it is kept too); until then it is read again on every call. The cache holds
at most ``max_fills`` fills: the account used longest ago is dropped first, and an account
bigger than that alone is read afresh every time.

An exit placed outside the service and attributed to the strategies it closed is read as
its allocated parts, one fill per strategy (``domain.attribution``): the shares are read with
the new fills each time (they are few, and a person may apply a case at any moment), and
``marks`` says what they were, so a computation kept from an earlier call knows to start
afresh when they changed.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from order_service.domain.attribution import PartsOf, attributed
from order_service.domain.fill import Fill
from order_service.domain.ids import AccountId
from order_service.services.ports import AllocationMark, Clock, UnitOfWork, UnitOfWorkFactory

NO_PARTS: tuple[PartsOf, AllocationMark] = ({}, (0, 0))


class _Kept:
    __slots__ = ("fills", "latest", "lock", "watermark")

    def __init__(self) -> None:
        self.fills: list[Fill] = []
        self.watermark: int | None = None
        self.latest = datetime.min.replace(tzinfo=UTC)  # the latest instant a kept fill has
        self.lock = asyncio.Lock()


class LedgerCache:
    """Each account's fills by sequence, kept once settled."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        settle_seconds: float = 120.0,
        max_fills: int = 1_000_000,
        *,
        attributed: bool = True,
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._settle = timedelta(seconds=settle_seconds)
        self._max = max_fills
        self._accounts: OrderedDict[AccountId, _Kept] = OrderedDict()
        self._attributed = attributed  # False: each fill as recorded (an account's totals)

    async def history(
        self, account_ids: Sequence[AccountId], before: datetime, uow: UnitOfWork | None = None
    ) -> list[Fill]:
        """Return every fill of these accounts executed before ``before``, by sequence (read
        in ``uow`` when given: a caller inside a transaction must not wait for a second one)."""
        return (await self.marked_history(account_ids, before, uow))[0]

    async def marked_history(
        self, account_ids: Sequence[AccountId], before: datetime, uow: UnitOfWork | None = None
    ) -> tuple[list[Fill], tuple[AllocationMark, ...]]:
        """``history``, and the mark of each account's allocations as they were read."""
        before = before.astimezone(UTC)  # the ledger's instants are UTC: one zone compares fast
        found: list[Fill] = []
        marks: list[AllocationMark] = []
        for account_id in account_ids:
            kept, latest, tail, (parts, mark) = await self._fills(account_id, uow)
            # The usual ask is "up to the end of today": then every kept fill is in.
            mine = kept if latest < before else [f for f in kept if _executed_at(f) < before]
            mine = mine + [f for f in tail if _executed_at(f) < before]
            found += attributed(mine, parts) if parts else mine
            marks.append(mark)
        if len(account_ids) > 1:
            found.sort(key=lambda fill: fill.sequence or 0)
        return found, tuple(marks)

    async def _fills(
        self, account_id: AccountId, uow: UnitOfWork | None
    ) -> tuple[list[Fill], datetime, list[Fill], tuple[PartsOf, AllocationMark]]:
        """Return the account's kept fills, the latest instant among them, the rest, and the
        allocated shares of its attributed fills."""
        kept = self._accounts.get(account_id)
        if kept is None:
            kept = self._accounts[account_id] = _Kept()
        self._accounts.move_to_end(account_id)
        async with kept.lock:
            if uow is not None:
                tail, parts = await self._read(uow, account_id, kept.watermark)
            else:
                async with self._uow() as own:
                    tail, parts = await self._read(own, account_id, kept.watermark)
            settled = self._keep(kept, tail)
            found = kept.fills, kept.latest, tail[settled:], parts
        self._trim()
        return found

    async def _read(
        self, uow: UnitOfWork, account_id: AccountId, watermark: int | None
    ) -> tuple[list[Fill], tuple[PartsOf, AllocationMark]]:
        tail = await uow.fills.after(account_id, watermark)
        parts = await uow.attributions.parts(account_id) if self._attributed else NO_PARTS
        return tail, parts

    def _keep(self, kept: _Kept, tail: list[Fill]) -> int:
        """Keep the tail's settled fills; return how many it had."""
        settled = _settled(tail, self._clock.now() - self._settle)
        if settled:
            kept.fills.extend(tail[:settled])
            kept.watermark = tail[settled - 1].sequence
            kept.latest = max(kept.latest, *map(_executed_at, tail[:settled]))
        return settled

    def _trim(self) -> None:
        total = sum(len(kept.fills) for kept in self._accounts.values())
        while total > self._max and self._accounts:
            _, dropped = self._accounts.popitem(last=False)
            total -= len(dropped.fills)


def _settled(tail: list[Fill], cutoff: datetime) -> int:
    """How many of the tail's first fills were all recorded before ``cutoff``."""
    for index, fill in enumerate(tail):
        if fill.recorded_at > cutoff:
            return index
    return len(tail)


def _executed_at(fill: Fill) -> datetime:
    return fill.report.exchange_timestamp or fill.recorded_at
