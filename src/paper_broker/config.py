"""Configuration of the paper broker; the only reader of PAPER_BROKER_* variables."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from pathlib import Path
from typing import Any

ENV_PREFIX = "PAPER_BROKER_"
CLOCK_MODES = ("simulated", "real")


def _parse_bool(raw: str) -> bool:
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _parse_path(raw: str) -> Path | None:
    return Path(raw) if raw.strip() else None


def _parse_optional(raw: str) -> str | None:
    return raw.strip() or None


_PARSERS: dict[str, Callable[[str], Any]] = {
    "port": int,
    "seed": int,
    "funds": Decimal,
    "rate_limits": _parse_bool,
    "state_file": _parse_path,
    "postback_url": _parse_optional,
    "postback_retries": int,
    "postback_backoff": float,
}


@dataclass(frozen=True)
class PaperBrokerConfig:
    """Everything the paper broker needs to start; immutable once built."""

    host: str = "127.0.0.1"
    port: int = 8001
    seed: int = 1
    clock: str = "simulated"
    state_file: Path | None = None
    user_id: str = "PAPER1"
    api_key: str = "paper"
    api_secret: str = "paper-secret"  # noqa: S105 - the documented demo secret
    funds: Decimal = Decimal("1000000")
    redirect_url: str = "http://127.0.0.1:8000/api/v1/accounts/login/callback"
    rate_limits: bool = True
    # Where the default user's order updates are POSTed; None sends none.
    postback_url: str | None = None
    # A failed postback is retried this many times, waiting backoff, 2x, 4x … seconds.
    postback_retries: int = 3
    postback_backoff: float = 0.5

    def __post_init__(self) -> None:
        if self.clock not in CLOCK_MODES:
            raise ValueError(f"clock must be one of {CLOCK_MODES}, not {self.clock!r}")
        if self.postback_retries < 0 or self.postback_backoff < 0:
            raise ValueError("postback retries and backoff cannot be negative")

    @property
    def postback_delays(self) -> tuple[float, ...]:
        return tuple(self.postback_backoff * 2**attempt for attempt in range(self.postback_retries))

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> PaperBrokerConfig:
        """Build from PAPER_BROKER_* variables; non-None keyword overrides win."""
        source = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = source.get(ENV_PREFIX + field.name.upper())
            if raw is not None:
                values[field.name] = _PARSERS.get(field.name, str)(raw)
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**_coerce(values))


def _coerce(values: dict[str, Any]) -> dict[str, Any]:
    # CLI layers hand over plain strings and ints; normalise the two typed fields.
    if "funds" in values and not isinstance(values["funds"], Decimal):
        values["funds"] = Decimal(str(values["funds"]))
    if "state_file" in values and isinstance(values["state_file"], str):
        values["state_file"] = _parse_path(values["state_file"])
    return values
