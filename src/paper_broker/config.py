"""Configuration of the paper broker; the only reader of PAPER_BROKER_* variables."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from .clock import parse_moment
from .errors import ConfigError, InputError
from .faults import check_fault

ENV_PREFIX = "PAPER_BROKER_"
CLOCK_MODES = ("simulated", "real")


def _parse_bool(raw: str) -> bool:
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _parse_path(raw: str) -> Path | None:
    return Path(raw) if raw.strip() else None


def _parse_optional(raw: str) -> str | None:
    return raw.strip() or None


def _parse_moment(raw: str) -> datetime | None:
    if not raw.strip():
        return None
    try:
        return parse_moment(raw.strip())
    except ValueError as exc:
        raise ConfigError(f"{ENV_PREFIX}CLOCK_START is not an ISO 8601 moment: {raw!r}.") from exc


def _parse_faults(raw: str) -> tuple[Any, ...]:
    if not raw.strip():
        return ()
    try:
        faults = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{ENV_PREFIX}FAULTS is not JSON: {exc.msg}.") from exc
    if not isinstance(faults, list):
        raise ConfigError(f"{ENV_PREFIX}FAULTS must be a JSON list of faults.")
    return tuple(faults)


_PARSERS: dict[str, Callable[[str], Any]] = {
    "port": int,
    "seed": int,
    "funds": Decimal,
    "rate_limits": _parse_bool,
    "state_file": _parse_path,
    "postback_url": _parse_optional,
    "postback_retries": int,
    "postback_backoff": float,
    "price_replay": _parse_path,
    "faults": _parse_faults,
    "clock_start": _parse_moment,
}


@dataclass(frozen=True)
class PaperBrokerConfig:
    """Everything the paper broker needs to start; immutable once built."""

    host: str = "127.0.0.1"
    port: int = 8001
    seed: int = 1
    clock: str = "simulated"
    # Where the clock starts (and restarts at each admin reset); None starts at the wall time.
    clock_start: datetime | None = None
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
    # A CSV of recorded prices that override the walk while the clock is inside it.
    price_replay: Path | None = None
    # Faults installed at start (and again at each admin reset), as POST /_admin/faults takes them.
    faults: tuple[dict[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if self.clock not in CLOCK_MODES:
            raise ConfigError(f"clock must be one of {CLOCK_MODES}, not {self.clock!r}")
        if self.clock_start is not None and self.clock_start.tzinfo is None:
            raise ConfigError("clock_start needs a timezone")
        if self.postback_retries < 0 or self.postback_backoff < 0:
            raise ConfigError("postback retries and backoff cannot be negative")
        for number, spec in enumerate(self.faults, start=1):
            _check_fault(number, spec)

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
    # CLI layers hand over plain strings, ints and lists; normalise the typed fields.
    if "funds" in values and not isinstance(values["funds"], Decimal):
        values["funds"] = Decimal(str(values["funds"]))
    for name in ("state_file", "price_replay"):
        if isinstance(values.get(name), str):
            values[name] = _parse_path(values[name])
    if isinstance(values.get("clock_start"), str):
        values["clock_start"] = _parse_moment(values["clock_start"])
    if "faults" in values:
        values["faults"] = tuple(values["faults"])
    return values


def _check_fault(number: int, spec: Any) -> None:
    if not isinstance(spec, dict):
        raise ConfigError(f"Fault {number} must be an object, not {spec!r}.")
    try:
        check_fault(spec)
    except InputError as exc:
        raise ConfigError(f"Fault {number} ({spec}): {exc.message}") from exc
