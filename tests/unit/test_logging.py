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


def test_a_stream_replaced_and_closed_since_configuration_is_never_written(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io
    import logging
    import sys

    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging("INFO", json=True)
    get_logger("test.closed").info("before")
    first.close()  # as a CLI test runner does with the stream it lent
    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)

    get_logger("test.closed").info("after")
    logging.getLogger("test.stdlib").warning("from the standard library")

    lines = [json.loads(line) for line in second.getvalue().splitlines()]
    assert [line["event"] for line in lines] == ["after", "from the standard library"]
    structlog.reset_defaults()
