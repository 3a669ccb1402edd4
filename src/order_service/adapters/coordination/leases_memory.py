"""``InProcessLeaseStore``: the LeaseStore port within one process (keepers in one event loop).

The same rules as the database and Redis stores, on a clock the caller may supply, so the
keeper's behaviour (fair share, expiry, takeover) can be shown without a server.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from order_service.domain.ids import AccountId


@dataclass(slots=True)
class _Grant:
    holder: str
    token: int
    expires_at: float


class InProcessLeaseStore:
    """Leases, tokens and holders in dictionaries; expiry by ``now`` (monotonic by default)."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._grants: dict[AccountId, _Grant] = {}
        self._tokens: dict[AccountId, int] = {}
        self._holders: dict[str, float] = {}

    async def announce(self, holder: str, ttl: float) -> int:
        now = self._now()
        self._holders[holder] = now + ttl
        self._holders = {h: until for h, until in self._holders.items() if until > now}
        return len(self._holders)

    async def withdraw(self, holder: str) -> None:
        self._holders.pop(holder, None)

    async def acquire(self, account_id: AccountId, holder: str, ttl: float) -> int | None:
        now = self._now()
        grant = self._grants.get(account_id)
        if grant is not None and grant.expires_at > now and grant.holder != holder:
            return None
        token = self._tokens.get(account_id, 0) + 1
        self._tokens[account_id] = token
        self._grants[account_id] = _Grant(holder, token, now + ttl)
        return token

    async def renew(
        self, holder: str, tokens: Mapping[AccountId, int], ttl: float
    ) -> set[AccountId]:
        now = self._now()
        renewed = set()
        for account_id, token in tokens.items():
            grant = self._grants.get(account_id)
            if grant is None or grant.expires_at <= now:
                continue
            if (grant.holder, grant.token) == (holder, token):
                grant.expires_at = now + ttl
                renewed.add(account_id)
        return renewed

    async def release(self, account_id: AccountId, holder: str, token: int) -> None:
        grant = self._grants.get(account_id)
        if grant is not None and (grant.holder, grant.token) == (holder, token):
            del self._grants[account_id]

    def holder_of(self, account_id: AccountId) -> str | None:
        """Return who holds the account's live lease (for tests and diagnostics)."""
        grant = self._grants.get(account_id)
        return grant.holder if grant is not None and grant.expires_at > self._now() else None

    async def close(self) -> None:
        self._grants.clear()
        self._holders.clear()
