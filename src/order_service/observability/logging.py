"""structlog set-up: JSON lines with request_id/account/order_id fields; secrets redacted."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_SECRET_KEYS = frozenset(
    {"access_token", "api_secret", "authorization", "password", "request_token", "secret_key"}
)


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if key.lower() in _SECRET_KEYS:
            event[key] = "***"
    return event


_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    _redact,
]
# Libraries that narrate their routine work at INFO (migrations, every HTTP call).
_QUIET = ("uvicorn.access", "urllib3", "kiteconnect", "alembic", "httpx", "httpcore")


class _StderrLogger:
    """Writes each line to ``sys.stderr`` as it is when the line is written.

    Binding the stream at configuration would keep a stream that a test runner (or a daemon)
    has since replaced and closed, and every later line would fail.
    """

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log = debug = info = warn = warning = error = err = critical = exception = fatal = msg


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The standard library's stream handler, on the current ``sys.stderr`` likewise."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


def _stderr_logger(*_: Any) -> _StderrLogger:
    return _StderrLogger()


def configure_logging(level: str = "INFO", json: bool = True) -> None:
    """Route structlog and the standard library through one JSON (or console) renderer."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
    )
    structlog.configure(
        processors=[*_SHARED, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=True,
    )
    _route_standard_logging(level, renderer)


def _route_standard_logging(level: str, renderer: Any) -> None:
    """Give records of the standard library (uvicorn, alembic…) the same shape and redaction."""
    handler = _StderrHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *_SHARED],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []  # propagate to the root handler instead
    for noisy in _QUIET:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def bind(**fields: str) -> None:
    """Attach fields (account, order_id) to every log line of the current request or task."""
    structlog.contextvars.bind_contextvars(**fields)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
