"""The README's Python client example runs as written against the running service."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import ServiceThread

README = Path(__file__).resolve().parents[2] / "README.md"


def _example() -> str:
    section = README.read_text(encoding="utf-8").split("## Python client", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found, "the README's Python client section has no example"
    return found.group(1)


def test_the_readme_example_works(
    service: ServiceThread,
    admin: httpx.Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin.post("/prices", json={"NSE:INFY": "1500.00"}).raise_for_status()
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "demo-api-key").write_text(service.api_key + "\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ORDER_SERVICE_URL", service.url)
    printed: list[str] = []

    def collect(*values: object) -> None:
        printed.append(" ".join(str(value) for value in values))

    exec(compile(_example(), "README.md", "exec"), {"print": collect})  # noqa: S102
    assert re.fullmatch(r"\S+ (PENDING|OPEN) 1450\.00", printed[0])
    assert printed[1].startswith("IDEMPOTENCY_CONFLICT ")
    names = [line.split()[1] for line in printed[2:]]
    assert names[0] == "OrderRequested"
    assert names[-1] == "OrderCancelled"
