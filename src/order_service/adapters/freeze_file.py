"""The shipped freeze limits (``order_service/data/freeze_limits.toml``), or a file like it.

Whatever goes wrong reading it (it cannot be read, is not TOML, a limit that is not a positive
whole number) is a ``ConfigurationError`` naming the file.
"""

from __future__ import annotations

import tomllib
from datetime import date
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from order_service.domain.instrument import FreezeLimits
from order_service.errors import ConfigurationError

PACKAGED = ("data", "freeze_limits.toml")


def load_freeze_limits(path: Path | None = None) -> FreezeLimits:
    """Read the freeze limits at ``path`` (default: the packaged file)."""
    item: Traversable = (
        resources.files("order_service").joinpath(*PACKAGED) if path is None else path
    )
    try:
        data = tomllib.loads(item.read_text(encoding="utf-8"))
        return _limits(data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(
            f"freeze limits {item}: {exc}", details={"file": str(item), "reason": str(exc)}
        ) from exc


def _limits(data: dict[str, Any]) -> FreezeLimits:
    effective_from = data["effective_from"]
    if not isinstance(effective_from, date):
        raise TypeError("effective_from is not a date")
    limits: dict[tuple[str, str], int] = {}
    for exchange, names in data["limits"].items():
        for name, quantity in names.items():
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
                raise ValueError(f"the limit of {exchange} {name} is not a positive whole number")
            limits[(exchange, name)] = quantity
    return FreezeLimits(effective_from, str(data["source"]), limits)
