"""Shared fixtures: settings that never touch the developer's ./var, and tier switches."""

from __future__ import annotations

import os

import pytest

from order_service.config import Settings, load_settings
from tests.parallel import isolate_worker

# Under pytest-xdist each worker gets a PostgreSQL database and a Redis database of its own
# (the tests reset them freely); read by every test module after this one is imported.
isolate_worker(os.environ)
POSTGRES_URL = os.environ.get("ORDER_SERVICE_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("ORDER_SERVICE_TEST_REDIS_URL")


@pytest.fixture
def settings(tmp_path: os.PathLike[str]) -> Settings:
    return load_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/test.db",
        var_dir=str(tmp_path),
        jwt_secret="test-jwt-secret-0123456789abcdef0123",
        secret_key="test-secret-key",
        unknown_grace_seconds=60,
        log_json=False,
        # Tests repeat one unkeyed order on a stopped clock; the duplicate guard's own tests
        # switch it on.
        risk_duplicate_window_seconds=0,
    )


# CI sets ORDER_SERVICE_REQUIRE_TIERS=postgres,redis: a skipped test of a required tier, or a
# required PostgreSQL tier that ran nothing, fails the session (a green run must have run them).
_REQUIRED = {t for t in os.environ.get("ORDER_SERVICE_REQUIRE_TIERS", "").split(",") if t}
_TIER_RESULTS: dict[str, dict[str, int]] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for tier in _REQUIRED:
        if tier in report.nodeid.lower() and (report.when == "call" or report.skipped):
            counts = _TIER_RESULTS.setdefault(tier, {"passed": 0, "skipped": 0, "failed": 0})
            counts[report.outcome] += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return  # a worker sees only its share; the controller receives every report
    problems = []
    for tier in sorted(_REQUIRED):
        counts = _TIER_RESULTS.get(tier, {"passed": 0, "skipped": 0, "failed": 0})
        if counts["skipped"]:
            problems.append(f"{counts['skipped']} {tier} tests were skipped")
        if tier == "postgres" and counts["passed"] == 0:
            problems.append("no postgres test ran")
    if problems:
        print("\nrequired test tiers not exercised: " + "; ".join(problems))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
