"""Which accounts' real-time order streams are live in this process.

The ticker worker marks an account's stream up once its connection is open and down when it
drops; the order sync reads it to decide between cheap targeted polling (stream up) and full
order-book reads (stream down). The ticker and the sync of an account run in the process that
holds the account's lease, so this process's view is the one that matters.
"""

from __future__ import annotations

from order_service.domain.ids import AccountId


class StreamHealth:
    """The set of accounts whose order stream is connected right now, and each connection's
    number: what happened before a connection opened is not in its stream, so a reader that
    last looked before it (``connection`` changed) reads the book once more."""

    def __init__(self) -> None:
        self._up: set[AccountId] = set()
        self._connections: dict[AccountId, int] = {}

    def mark_up(self, account_id: AccountId) -> None:
        if account_id not in self._up:
            self._connections[account_id] = self._connections.get(account_id, 0) + 1
        self._up.add(account_id)

    def connection(self, account_id: AccountId) -> int:
        """The number of the account's latest connection (0: none yet)."""
        return self._connections.get(account_id, 0)

    def mark_down(self, account_id: AccountId) -> None:
        self._up.discard(account_id)

    def is_up(self, account_id: AccountId) -> bool:
        return account_id in self._up

    def live(self) -> frozenset[AccountId]:
        return frozenset(self._up)
