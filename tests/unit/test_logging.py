"""Logs are JSON lines with context fields, and secrets never reach them."""

from __future__ import annotations

import json

import pytest
import structlog

from order_service.observability.logging import bind, configure_logging, get_logger


def test_secrets_are_redacted_and_context_is_kept(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", json=True)
    structlog.contextvars.clear_contextvars()
    bind(account="PAPER1", order_id="01ORDER")
    try:
        get_logger("test").info(
            "session stored", access_token="tok-123", api_secret="sec-456", Authorization="x"
        )
    finally:
        structlog.contextvars.clear_contextvars()
        structlog.reset_defaults()
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["event"] == "session stored"
    assert (line["account"], line["order_id"]) == ("PAPER1", "01ORDER")
    assert line["access_token"] == line["api_secret"] == line["Authorization"] == "***"
    assert "tok-123" not in json.dumps(line)
