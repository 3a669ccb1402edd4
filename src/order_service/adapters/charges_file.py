"""Charge schedules from TOML files: one file per schedule, every number written as a string.

The packaged files live in ``order_service/data/charges`` (named by their ``effective_from``);
a directory of the same shape can replace them. Whatever goes wrong reading one file (it cannot
be read, is not TOML, or is not a valid schedule) is a ``ConfigurationError`` naming that file.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from order_service.domain.charges import ChargeSchedule, ChargeSchedules
from order_service.errors import ConfigurationError

PACKAGED = ("data", "charges")


def load_charge_schedules(directory: Path | None = None) -> ChargeSchedules:
    """Read every ``*.toml`` schedule in ``directory`` (default: the packaged schedules)."""
    folder: Traversable = (
        resources.files("order_service").joinpath(*PACKAGED) if directory is None else directory
    )
    schedules = [_schedule(item) for item in _files(folder)]
    try:
        return ChargeSchedules(schedules)
    except ValueError as exc:
        raise _refused(folder, str(exc)) from exc


def _files(folder: Traversable) -> list[Traversable]:
    try:
        items = [item for item in folder.iterdir() if item.name.endswith(".toml")]
    except OSError as exc:
        raise _refused(folder, f"cannot list the charge schedules: {exc}") from exc
    return sorted(items, key=lambda item: item.name)


def _schedule(item: Traversable) -> ChargeSchedule:
    try:
        schedule = ChargeSchedule.from_mapping(tomllib.loads(item.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:  # TOMLDecodeError and UnicodeDecodeError are ValueErrors
        raise _refused(item, str(exc)) from exc
    if item.name != f"{schedule.effective_from.isoformat()}.toml":
        raise _refused(item, f"a schedule from {schedule.effective_from} is named by that date")
    return schedule


def _refused(item: Traversable, reason: str) -> ConfigurationError:
    return ConfigurationError(
        f"charge schedule {item}: {reason}", details={"file": str(item), "reason": reason}
    )
