"""The data files the package ships (``order_service/data/*.toml``), or files like them.

Whatever goes wrong reading one (it cannot be read, is not TOML, a value its parser refuses) is
a ``ConfigurationError`` naming the file and the reason.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from datetime import date
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, TypeVar

from order_service.errors import ConfigurationError

T = TypeVar("T")


def load_toml(what: str, name: str, path: Path | None, parse: Callable[[dict[str, Any]], T]) -> T:
    """Parse the TOML file at ``path`` (default: the packaged ``data/<name>``)."""
    item: Traversable = (
        resources.files("order_service").joinpath("data", name) if path is None else path
    )
    try:
        return parse(tomllib.loads(item.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(
            f"{what} {item}: {exc}", details={"file": str(item), "reason": str(exc)}
        ) from exc


def effective_from(data: dict[str, Any]) -> date:
    """The date from which a data file's values hold."""
    value = data["effective_from"]
    if not isinstance(value, date):
        raise TypeError("effective_from is not a date")
    return value
