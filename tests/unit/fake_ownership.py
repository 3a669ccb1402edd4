"""Ownership of the named accounts only, as another worker process holding the rest would leave."""

from __future__ import annotations

from order_service.domain.ids import AccountId


class Owns:
    """Ownership of the named accounts only; change ``accounts`` to hand one over."""

    def __init__(self, *accounts: AccountId) -> None:
        self.accounts = set(accounts)

    def owns(self, account_id: AccountId) -> bool:
        return account_id in self.accounts
