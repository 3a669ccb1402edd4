"""Strict JSON for request bodies: one value per key, finite numbers, nothing silently rounded.

``json.loads`` keeps the last of two equal keys, reads ``NaN``, ``Infinity`` and ``1e400`` (as
infinity), and rounds a long decimal to the nearest float. Each of those lets a body mean
something other than what a reviewer of it reads, so each is refused with ``INVALID_INPUT``.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

from order_service.errors import ValidationError


def loads_strict(body: bytes | str) -> Any:
    """Parse ``body`` as JSON, refusing duplicate keys and numbers a float cannot hold exactly."""
    try:
        return json.loads(
            body,
            object_pairs_hook=_unique_keys,
            parse_constant=_no_constant,
            parse_float=_exact_float,
        )
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, too deep, huge int
        raise ValidationError(f"the body is not valid JSON: {str(exc)[:100]}") from exc


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) == len(pairs):
        return result
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise ValidationError(f"the key {key[:64]!r} appears twice", field=key[:64])
        seen.add(key)
    raise AssertionError("a shorter dict means a repeated key")


def _no_constant(name: str) -> float:
    raise ValidationError(f"{name} is not a number: numbers must be finite")


def _exact_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValidationError(f"{text[:32]} is out of range: numbers must be finite")
    if Decimal(text) != Decimal(repr(value)):
        raise ValidationError(
            f"{text[:32]} has more digits than a JSON number keeps; send it as a decimal string"
        )
    return value
