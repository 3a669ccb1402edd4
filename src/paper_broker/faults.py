"""Injected failures, chosen deterministically under the seed, for exercising clients."""

from __future__ import annotations

import random
import re
from dataclasses import asdict, dataclass
from typing import Any

from .errors import ConfigError, InputError, invalid

ROUTES = frozenset(
    {
        "place_order",
        "modify_order",
        "cancel_order",
        "orders",
        "order_history",
        "order_trades",
        "trades",
        "positions",
        "holdings",
        "profile",
        "margins",
        "quote",
        "instruments",
        "historical",
        "gtt",
        "order_margins",
        "charges",
        "trigger_range",
        "*",
    }
)
BEFORE_KINDS = frozenset(
    {
        "reject",
        "http_429",
        "html_429",
        "html_502",
        "html_503",
        "html_504",
        "latency",
        "token_expired",
        "error",
        "empty_json",
        "no_content_type",
    }
)
AFTER_KINDS = frozenset({"timeout_after_accept", "error_after_accept", "reset", "rms_reject"})
KINDS = BEFORE_KINDS | AFTER_KINDS
FIELDS = frozenset(
    {"route", "kind", "probability", "count", "delay_ms", "message", "error_type", "status"}
)
# Kinds that only mean something for a placement.
PLACE_ONLY = frozenset({"rms_reject"})
NUMBER_FIELDS = {"probability": float, "count": int, "delay_ms": int, "status": int}
# Split only before `name=`, so that a message may contain commas.
SPEC_SEPARATOR = re.compile(r",(?=\s*\w+\s*=)")


@dataclass(slots=True)
class Fault:
    fault_id: str
    route: str
    kind: str
    probability: float = 1.0
    count: int | None = None
    delay_ms: int = 2000
    message: str | None = None
    # For kind "error": the `error_type` and HTTP status of the error reply.
    error_type: str = "GeneralException"
    status: int | None = None

    def applies_to(self, route: str) -> bool:
        if self.count == 0 or self.route not in (route, "*"):
            return False
        return route == "place_order" or self.kind not in PLACE_ONLY


class Faults:
    """The active faults, tried in the order they were added."""

    def __init__(self, seed: int) -> None:
        # Reproducible by design: faults must repeat under a seed, nothing here is secret.
        self._rng = random.Random(f"faults:{seed}")  # noqa: S311
        self._next_id = 0
        self.items: dict[str, Fault] = {}

    def add(self, spec: dict[str, Any]) -> Fault:
        self._next_id += 1
        fault = Fault(fault_id=f"fault-{self._next_id}", **check_fault(spec))
        self.items[fault.fault_id] = fault
        return fault

    def clear(self) -> None:
        self.items.clear()

    def pick(self, route: str) -> Fault | None:
        """The fault to inject into this call, if any; consumes one of its `count`."""
        for fault in self.items.values():
            if not fault.applies_to(route):
                continue
            if fault.probability < 1 and self._rng.random() >= fault.probability:
                continue
            if fault.count is not None:
                fault.count -= 1
            return fault
        return None

    def dump(self) -> list[dict[str, Any]]:
        return [asdict(fault) for fault in self.items.values()]


def check_fault(spec: dict[str, Any]) -> dict[str, Any]:
    """The fault's fields with defaults filled in; InputError names the first bad one."""
    unknown = set(spec) - FIELDS
    if unknown:
        raise InputError(f"Unknown fault fields: {', '.join(sorted(unknown))}.")
    route, kind = spec.get("route", "*"), spec.get("kind")
    if route not in ROUTES:
        raise invalid("route")
    if kind not in KINDS:
        raise invalid("kind")
    return {
        "route": route,
        "kind": kind,
        "probability": _number(spec, "probability", 1.0, float, 0.0, 1.0),
        "count": None if spec.get("count") is None else _number(spec, "count", 0, int, 1, None),
        "delay_ms": _number(spec, "delay_ms", 2000, int, 0, 600_000),
        "message": None if spec.get("message") is None else str(spec["message"]),
        "error_type": _error_type(spec),
        "status": None if spec.get("status") is None else _number(spec, "status", 0, int, 200, 599),
    }


def _error_type(spec: dict[str, Any]) -> str:
    value = spec.get("error_type", "GeneralException")
    if not isinstance(value, str) or not value.isidentifier():
        raise invalid("error_type")
    return value


def _number(
    spec: dict[str, Any], name: str, default: float, kind: type, low: float, high: float | None
) -> Any:
    raw = spec.get(name, default)
    if raw is None:
        raw = default
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise invalid(name)
    value = kind(raw)
    if value < low or (high is not None and value > high):
        raise invalid(name)
    return value


def parse_fault_spec(text: str) -> dict[str, Any]:
    """A fault from `kind=http_429,route=place_order,count=1`, checked as the admin API does."""
    spec: dict[str, Any] = {}
    for part in SPEC_SEPARATOR.split(text):
        name, equals, raw = (piece.strip() for piece in part.partition("="))
        if not equals or not name:
            raise ConfigError(f"Fault {text!r}: expected name=value, not {part.strip()!r}.")
        if name in spec:
            raise ConfigError(f"Fault {text!r}: `{name}` is given twice.")
        spec[name] = _spec_value(text, name, raw)
    try:
        check_fault(spec)
    except InputError as exc:
        raise ConfigError(f"Fault {text!r}: {exc.message}") from exc
    return spec


def _spec_value(text: str, name: str, raw: str) -> Any:
    kind = NUMBER_FIELDS.get(name)
    if kind is None:
        return raw
    try:
        return kind(raw)
    except ValueError as exc:
        raise ConfigError(f"Fault {text!r}: `{name}` must be a number, not {raw!r}.") from exc
