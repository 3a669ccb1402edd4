"""The in-process benchmarks still run against the service as it is today, at a tiny size.

Their figures are not judged here (performance is measured, not asserted in a test): a
benchmark that no longer runs, or whose own verification fails, is the defect this catches.
The benchmarks that drive a service in processes of their own have end-to-end tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _benchmark(name: str, *args: str) -> str:
    result = subprocess.run(  # noqa: S603 - our own benchmarks, fixed arguments
        [sys.executable, "-m", f"benchmarks.{name}", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"benchmarks.{name} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_the_reconcile_benchmark_runs_and_verifies_its_books() -> None:
    out = _benchmark("reconcile", "--orders", "20", "--databases", "sqlite")
    row = next(line for line in out.splitlines() if line.startswith("sqlite"))
    assert row.split()[1:3] == ["20", "20"]  # every order COMPLETE, every fill stored


def test_the_books_benchmark_runs() -> None:
    out = _benchmark("books", "--fills", "50", "--orders", "20", "--repeat", "1")
    assert "after one more fill each time" in out


def test_the_risk_benchmark_runs() -> None:
    out = _benchmark("risk", "--orders", "20", "--instruments", "100")
    assert "the checks alone" in out


def test_the_instrument_benchmark_runs() -> None:
    out = _benchmark("instruments", "--count", "100", "--databases", "sqlite")
    row = next(line for line in out.splitlines() if line.startswith("sqlite"))
    assert row.split()[1] == "100"
