"""Which accounts' real-time order streams are live in this process.

The ticker worker marks an account's stream up once its connection is open and down when it
drops; the order sync reads it to decide between cheap targeted polling (stream up) and full
order-book reads (stream down). The ticker and the sync of an account run in the process that
holds the account's lease, so this process's view is the one that matters.
"""

from __future__ import annotations

from order_service.domain.ids import AccountId


class StreamHealth:
    """The set of accounts whose order stream is connected right now."""

    def __init__(self) -> None:
        self._up: set[AccountId] = set()

    def mark_up(self, account_id: AccountId) -> None:
        self._up.add(account_id)

    def mark_down(self, account_id: AccountId) -> None:
        self._up.discard(account_id)

    def is_up(self, account_id: AccountId) -> bool:
        return account_id in self._up

    def live(self) -> frozenset[AccountId]:
        return frozenset(self._up)
