"""The lease keeper: which accounts' background work (ticker, syncs, resolver) is this process's.

Each worker process runs one keeper. A round (``keep``): announce this process to the store and
learn how many share the work; renew the leases held; give up those beyond the fair share,
ceil(accounts / processes), so a newcomer finds some free; take free or expired ones up to the
share. A new lease counts only once its fence is raised in the database (``fencing``), so no
write under an older token can land after this process starts on the account.

``owns`` is judged by this process's monotonic clock: a lease is ours until the moment its last
grant or renewal was *sent* plus the TTL, minus a safety margin, so we stop before the store
(whose clock decides expiry) can give it to another process. A process that dies is forgotten
once its announcement and leases expire (the TTL); the others then take its accounts.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from order_service.domain.account import EVERY_ACCOUNT
from order_service.domain.ids import AccountId
from order_service.errors import StaleLease
from order_service.services.fencing import FenceRaiser
from order_service.services.ports import LeaseStore, UnitOfWorkFactory

Candidates = Callable[[], Awaitable[list[AccountId]]]


@dataclass(frozen=True, slots=True)
class LeasePolicy:
    """How long a grant lasts in the store, how often it is renewed, and our safety margin."""

    ttl: float
    renew_every: float
    margin: float

    def __post_init__(self) -> None:
        if not 0 <= self.margin < self.ttl or not 0 < self.renew_every < self.ttl - self.margin:
            raise ValueError(f"leases must be renewed well within their TTL: {self}")


@dataclass(frozen=True, slots=True)
class LeaseChanges:
    """What one round changed; ``refused`` were granted but their fence was already higher."""

    acquired: tuple[AccountId, ...] = ()
    lost: tuple[AccountId, ...] = ()
    released: tuple[AccountId, ...] = ()
    refused: tuple[AccountId, ...] = ()
    held: int = 0


@dataclass(slots=True)
class _Lease:
    token: int
    valid_until: float  # by our monotonic clock


class LeaseKeeper:
    """Holds this process's share of the account leases; an ``Ownership`` with fencing tokens."""

    def __init__(
        self,
        store: LeaseStore,
        holder: str,
        candidates: Candidates,
        raise_fence: FenceRaiser,
        policy: LeasePolicy,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._holder = holder
        self._candidates = candidates
        self._raise_fence = raise_fence
        self._policy = policy
        self._monotonic = monotonic
        self._leases: dict[AccountId, _Lease] = {}
        self._busy: Counter[AccountId] = Counter()

    @property
    def holder(self) -> str:
        return self._holder

    @property
    def policy(self) -> LeasePolicy:
        return self._policy

    def owns(self, account_id: AccountId) -> bool:
        lease = self._leases.get(account_id)
        return lease is not None and self._monotonic() < lease.valid_until

    def token(self, account_id: AccountId) -> int | None:
        lease = self._leases.get(account_id)
        return lease.token if lease is not None and self.owns(account_id) else None

    def held(self) -> dict[AccountId, int]:
        """Return the accounts owned now, with their tokens."""
        return {a: lease.token for a, lease in self._leases.items() if self.owns(a)}

    @contextmanager
    def working(self, account_id: AccountId) -> Iterator[None]:
        self._busy[account_id] += 1
        try:
            yield
        finally:
            self._busy[account_id] -= 1
            if not self._busy[account_id]:
                del self._busy[account_id]

    async def keep(self) -> LeaseChanges:
        """Run one round: announce, renew, shed beyond the fair share, take free leases."""
        live = await self._store.announce(self._holder, self._policy.ttl)
        accounts = sorted(set(await self._candidates()), key=self._preference)
        share = math.ceil(len(accounts) / max(live, 1))
        lost = await self._renew()
        released = await self._shed(accounts, share)
        acquired, refused = await self._take(accounts, share)
        return LeaseChanges(acquired, lost, released, refused, len(self.held()))

    async def release_all(self) -> LeaseChanges:
        """Give every lease back and stop counting this process (a clean shutdown)."""
        released = await self._release(a for a in list(self._leases) if not self._busy[a])
        await self._store.withdraw(self._holder)
        return LeaseChanges(released=released, held=len(self.held()))

    def _preference(self, account_id: AccountId) -> bytes:
        """Each process prefers the accounts in its own order, so they rarely contend."""
        return hashlib.sha256(f"{self._holder}/{account_id}".encode()).digest()

    async def _renew(self) -> tuple[AccountId, ...]:
        if not self._leases:
            return ()
        sent = self._monotonic()
        tokens = {a: lease.token for a, lease in self._leases.items()}
        renewed = await self._store.renew(self._holder, tokens, self._policy.ttl)
        lost = tuple(a for a in tokens if a not in renewed)
        for account_id in lost:
            self._leases.pop(account_id, None)
        for account_id in renewed & tokens.keys():
            self._leases[account_id].valid_until = self._valid_until(sent)
        return lost

    async def _shed(self, accounts: list[AccountId], share: int) -> tuple[AccountId, ...]:
        """Release leases of accounts gone, and the least preferred beyond the share."""
        wanted = set(accounts)
        kept = [a for a in accounts if a in self._leases]
        surplus = kept[share:] if len(kept) > share else []
        shed = [a for a in self._leases if a not in wanted] + surplus
        return await self._release(a for a in shed if not self._busy[a])  # busy: next round

    async def _take(
        self, accounts: list[AccountId], share: int
    ) -> tuple[tuple[AccountId, ...], tuple[AccountId, ...]]:
        acquired: list[AccountId] = []
        refused: list[AccountId] = []
        for account_id in accounts:
            if len(self._leases) >= share:
                break
            if account_id in self._leases:
                continue
            sent = self._monotonic()
            token = await self._store.acquire(account_id, self._holder, self._policy.ttl)
            if token is None:
                continue
            try:
                await self._raise_fence(account_id, token)
            except StaleLease:
                await self._store.release(account_id, self._holder, token)
                refused.append(account_id)
                continue
            self._leases[account_id] = _Lease(token, self._valid_until(sent))
            acquired.append(account_id)
        return tuple(acquired), tuple(refused)

    async def _release(self, accounts: Iterable[AccountId]) -> tuple[AccountId, ...]:
        # All dropped here first, so no pass starts on one while the store hears of the others.
        dropped = {account_id: self._leases.pop(account_id) for account_id in accounts}
        for account_id, lease in dropped.items():
            await self._store.release(account_id, self._holder, lease.token)
        return tuple(dropped)

    def _valid_until(self, sent: float) -> float:
        return sent + self._policy.ttl - self._policy.margin


def every_account(uow_factory: UnitOfWorkFactory) -> Candidates:
    """Return the accounts whose background work is leased: every account not removed."""

    async def candidates() -> list[AccountId]:
        async with uow_factory() as uow:
            accounts = await uow.accounts.list(EVERY_ACCOUNT)
        return [account.account_id for account in accounts if not account.is_removed]

    return candidates
