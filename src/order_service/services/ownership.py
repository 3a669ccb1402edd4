"""Which accounts' background work (ticker, sync, resolver) this process owns.

With one process (SQLite, in-process coordination) it owns every account. With several worker
processes a lease per account decides; ``Ownership`` is what the workers ask either way.
"""

from __future__ import annotations

from typing import Protocol

from order_service.domain.ids import AccountId


class Ownership(Protocol):
    def owns(self, account_id: AccountId) -> bool:
        """True while this process may do the account's background work."""
        ...


class OwnEveryAccount:
    """The single-process default: every account's work is this process's."""

    def owns(self, account_id: AccountId) -> bool:
        return True
