"""The shipped freeze limits (``order_service/data/freeze_limits.toml``), or a file like it.

Whatever goes wrong reading it (it cannot be read, is not TOML, a limit that is not a positive
whole number) is a ``ConfigurationError`` naming the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from order_service.adapters.data_files import effective_from, load_toml
from order_service.domain.instrument import FreezeLimits


def load_freeze_limits(path: Path | None = None) -> FreezeLimits:
    """Read the freeze limits at ``path`` (default: the packaged file)."""
    return load_toml("freeze limits", "freeze_limits.toml", path, _limits)


def _limits(data: dict[str, Any]) -> FreezeLimits:
    since = effective_from(data)
    limits: dict[tuple[str, str], int] = {}
    for exchange, names in data["limits"].items():
        for name, quantity in names.items():
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
                raise ValueError(f"the limit of {exchange} {name} is not a positive whole number")
            limits[(exchange, name)] = quantity
    return FreezeLimits(since, str(data["source"]), limits)
