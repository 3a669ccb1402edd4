"""`order-service paper-broker` refuses a malformed --fault or a bad --price-replay at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from order_service.entrypoints.cli import app


def flat(output: str) -> str:
    """The output without the error box's borders and line breaks."""
    return " ".join(output.replace("│", " ").split())


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PAPER_BROKER_FAULTS", "PAPER_BROKER_PRICE_REPLAY", "PAPER_BROKER_PORT"):
        monkeypatch.delenv(name, raising=False)


def test_a_malformed_fault_is_a_usage_error() -> None:
    result = CliRunner().invoke(
        app, ["paper-broker", "--fault", "kind=http_429", "--fault", "kind=http_429,count=x"]
    )

    assert result.exit_code == 2
    assert "Fault 'kind=http_429,count=x': `count` must be a number, not 'x'" in flat(result.output)


def test_a_bad_replay_file_stops_the_start_naming_its_line(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text("timestamp,instrument,price\n2026-12-07 10:00:00,NSE:NOPE,10\n")

    result = CliRunner().invoke(
        app, ["paper-broker", "--port", "0", "--fault", "kind=latency", "--price-replay", str(path)]
    )

    assert result.exit_code == 2
    assert "paper broker not started" in result.output
    assert "line 2: unknown instrument 'NSE:NOPE'" in result.output
