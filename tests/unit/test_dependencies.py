"""Every runtime dependency pinned in pyproject.toml is used by the code (or says why not)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Distribution name -> the module the code imports.
MODULES = {
    "pydantic-settings": "pydantic_settings",
    "prometheus-client": "prometheus_client",
    "pyjwt": "jwt",
}
# Used without an import of their own: each needs its reason.
USED_WITHOUT_IMPORT = {
    "aiosqlite": "SQLAlchemy's sqlite+aiosqlite:// driver",
    "asyncpg": "SQLAlchemy's postgresql+asyncpg:// driver",
}


def _pinned() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [re.split(r"[\[=<>]", spec)[0].lower() for spec in project["dependencies"]]


def _imported() -> set[str]:
    found: set[str] = set()
    for path in [*(ROOT / "src").rglob("*.py"), *(ROOT / "migrations").rglob("*.py")]:
        found.update(re.findall(r"^\s*(?:from|import) (\w+)", path.read_text(), re.MULTILINE))
    return found


def test_every_pinned_runtime_dependency_is_imported() -> None:
    imported = _imported()
    unused = [
        name
        for name in _pinned()
        if name not in USED_WITHOUT_IMPORT and MODULES.get(name, name) not in imported
    ]
    assert unused == []
