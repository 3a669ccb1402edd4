"""Typed identifiers: ours and the broker's are distinct types, never bare strings."""

from __future__ import annotations

import os
import threading
import time
from typing import NewType

OrderId = NewType("OrderId", str)
BrokerOrderId = NewType("BrokerOrderId", str)
ClientOrderId = NewType("ClientOrderId", str)
AccountId = NewType("AccountId", str)
StrategyId = NewType("StrategyId", str)
UserId = NewType("UserId", str)
ApiKeyId = NewType("ApiKeyId", str)
PortfolioId = NewType("PortfolioId", str)
SignalTokenId = NewType("SignalTokenId", str)

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TAG_LENGTH = 20
_lock = threading.Lock()
_last: list[int] = [0, 0]  # [milliseconds, randomness] of the previous ULID


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_CROCKFORD[rem])
    return "".join(reversed(chars))


def new_ulid() -> str:
    """Return a monotonic ULID (26 Crockford base32 characters, sortable by creation time)."""
    with _lock:
        millis = time.time_ns() // 1_000_000
        if millis <= _last[0]:
            millis, randomness = _last[0], _last[1] + 1
            if randomness >> 80:  # the millisecond's random space is spent: borrow the next one
                millis, randomness = millis + 1, 0
        else:
            randomness = int.from_bytes(os.urandom(10), "big")
        _last[0], _last[1] = millis, randomness
    return _encode(millis, 10) + _encode(randomness, 16)


def new_order_id() -> OrderId:
    """Return a fresh order id."""
    return OrderId(new_ulid())


def tag_for(order_id: OrderId) -> str:
    """Derive the broker tag (max 20 alphanumerics) from our order id.

    The tag keeps the ULID's millisecond timestamp and its last ten random characters, so
    it stays unique per order and an order whose placement outcome is unknown can be found
    in the broker's order book.
    """
    tag = order_id[:10] + order_id[-10:]
    assert len(tag) == _TAG_LENGTH, "order ids are ULIDs"
    assert tag.isalnum(), "order ids are ULIDs"
    return tag
