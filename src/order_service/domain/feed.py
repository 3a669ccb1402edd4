"""The order event feed: each stored order event as a caller reads it, in commit order.

An event's feed ``sequence`` is its place in commit order: a reader that passes back the last
one it saw gets every later event exactly once. Its public type is ``order.`` and the stored
name in snake case without its ``Order`` prefix (``OrderAccepted`` is ``order.accepted``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from order_service.domain import events
from order_service.domain.ids import AccountId, OrderId
from order_service.domain.status import OrderStatus
from order_service.errors import ValidationError

TYPE_PREFIX = "order."
EVERY_ORDER_TYPE = "order.*"
_WORD_BOUNDARY = re.compile(r"(?<!^)(?=[A-Z])")


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """One order event with its account, at its place in the feed."""

    sequence: int
    account_id: AccountId
    order_id: OrderId
    name: str
    status_before: OrderStatus | None
    status_after: OrderStatus
    data: dict[str, Any]
    occurred_at: datetime

    @property
    def type(self) -> str:
        return type_of(self.name)


def type_of(name: str) -> str:
    """Return the public type of a stored event name (``OrderAccepted`` → ``order.accepted``)."""
    bare = name.removeprefix("Order") or name
    return TYPE_PREFIX + _WORD_BOUNDARY.sub("_", bare).lower()


def _stored_names() -> frozenset[str]:
    constants = (value for key, value in vars(events).items() if key.isupper())
    names = {value for value in constants if isinstance(value, str) and value[:1].isupper()}
    return frozenset({*events.EVENT_NAMES.values(), *(n for n in names if " " not in n)})


STORED_NAMES = _stored_names()
KNOWN_TYPES = frozenset(type_of(name) for name in STORED_NAMES)


@dataclass(frozen=True, slots=True)
class TypeFilter:
    """Which event types a reader wants: every order type, or the stored names of some."""

    names: frozenset[str] | None  # None: every type

    @classmethod
    def of(cls, types: Iterable[str] | None, field: str = "types") -> TypeFilter:
        """Read public types (``order.*`` or known ones); an unknown type is refused, naming
        the request's ``field``."""
        wanted = [t.strip() for t in types or () if t.strip()]
        if not wanted or EVERY_ORDER_TYPE in wanted:
            return cls(None)
        unknown = sorted(set(wanted) - KNOWN_TYPES)
        if unknown:
            raise ValidationError(
                f"unknown event type {unknown[0]!r}",
                field=field,
                details={"known": sorted({EVERY_ORDER_TYPE, *KNOWN_TYPES})},
            )
        return cls(frozenset(n for n in STORED_NAMES if type_of(n) in wanted))

    @property
    def public(self) -> list[str]:
        if self.names is None:
            return [EVERY_ORDER_TYPE]
        return sorted({type_of(name) for name in self.names})

    def admits(self, name: str) -> bool:
        return self.names is None or name in self.names
