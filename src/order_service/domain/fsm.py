"""A literal transition table and the one function that walks it."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TypeVar

from order_service.errors import InvalidTransition

S = TypeVar("S", bound=Hashable)
T = TypeVar("T", bound=Hashable)


def transition(table: Mapping[tuple[S, T], S], state: S, trigger: T) -> S:
    """Return the state the table allows from ``state`` on ``trigger``, or raise."""
    try:
        return table[(state, trigger)]
    except KeyError:
        raise InvalidTransition(
            f"cannot {_name(trigger)} from {_name(state)}",
            details={"state": _name(state), "trigger": _name(trigger)},
        ) from None


def _name(value: object) -> str:
    return str(getattr(value, "value", value))
