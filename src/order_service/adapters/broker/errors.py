"""Translate every SDK and `requests` failure into the service's error tree.

The table is the whole policy. A failure on a *write* (place, modify, cancel) that may have
reached the broker becomes ``BrokerOutcomeUnknown``: Kite has no idempotency key, so only the
order book can tell. The same failure on a *read* is ``BrokerUnavailable`` (safe to retry).

| SDK / requests failure | write | read |
|---|---|---|
| TokenException (403) | AuthenticationError | same |
| PermissionException | BrokerAPIError | same |
| InputException naming the instrument | InvalidSymbolError | same |
| InputException placing or modifying an order (its own terms) | OrderRejected | – |
| InputException, other | BrokerAPIError | same |
| OrderException | OrderRejected | same |
| GeneralException "Insufficient funds…"/holdings | InsufficientFundsError | same |
| NetworkException 429 | RateLimitError | same |
| NetworkException other, DataException, 5xx | BrokerOutcomeUnknown | BrokerUnavailable |
| GeneralException < 500, other | BrokerAPIError | same |
| ConnectTimeout, connection refused (never sent) | BrokerUnavailable | same |
| ReadTimeout, reset, other requests errors | BrokerOutcomeUnknown | BrokerUnavailable |
| MalformedReply: the SDK failed reading a reply | BrokerOutcomeUnknown | DataFormatError |
| anything else: a bug (a wrong keyword…) | BrokerOutcomeUnknown, logged at ERROR | raised |

A reply *arrived* when ``requests`` handed the SDK a response: ``kite.py`` marks that, and wraps
what the SDK raises reading it (``MALFORMED_REPLY``: a missing key, a list for a dict…) in
``MalformedReply``. The same ``TypeError`` raised before any reply is our bug, not the broker's.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import requests
from kiteconnect import exceptions as kite

from order_service.errors import (
    AuthenticationError,
    BrokerAPIError,
    BrokerOutcomeUnknown,
    BrokerUnavailable,
    DataFormatError,
    InsufficientFundsError,
    InvalidSymbolError,
    OrderRejected,
    OrderServiceError,
    RateLimitError,
)

_FUNDS = re.compile(
    r"required margin is\s*(?:rs\.?\s*)?(?P<required>[\d,]+(?:\.\d+)?)\D+"
    r"available margin is\s*(?:rs\.?\s*)?(?P<available>[\d,]+(?:\.\d+)?)",
    re.IGNORECASE,
)
_FUNDS_WORDS = ("insufficient funds", "margin exceeds", "insufficient margin")
_HOLDING_WORDS = ("insufficient holding", "holdings", "not enough quantity")
_SYMBOL_WORDS = ("tradingsymbol", "instrument", "symbol", "exchange")
_RATE_LIMIT_RETRY_AFTER = 1.0
# What the SDK lets escape while reading a malformed reply (KITE.md 3.5).
MALFORMED_REPLY = (KeyError, TypeError, ValueError, AttributeError, UnboundLocalError)


class MalformedReply(Exception):
    """The broker replied and the SDK failed reading the reply; ``error`` is what it raised."""

    def __init__(self, error: Exception) -> None:
        super().__init__(repr(error))
        self.error = error


# Every failure ``translate`` maps: the broker (or the way to it) failed, not our code.
BROKER_FAILURES = (kite.KiteException, requests.exceptions.RequestException, MalformedReply)


def translate(exc: BaseException, operation: str, *, write: bool) -> OrderServiceError:
    """Return the tree error for a failure of ``operation``; the caller raises it ``from exc``."""
    if isinstance(exc, kite.KiteException):
        return _from_kite(exc, operation, write=write)
    if isinstance(exc, requests.exceptions.RequestException):
        return _from_requests(exc, operation, write=write)
    reason = repr(exc.error) if isinstance(exc, MalformedReply) else repr(exc)
    if write:
        return _unknown(operation, f"malformed broker reply: {reason}", {"reason": reason})
    return DataFormatError(
        f"the broker sent a reply we cannot parse during {operation}",
        details={"operation": operation, "reason": reason},
    )


def unknown_after_bug(exc: Exception, operation: str) -> BrokerOutcomeUnknown:
    """A write whose call raised a bug may still have gone out: its outcome is unknown."""
    reason = type(exc).__name__
    return _unknown(operation, f"{reason} in the broker call", {"reason": reason})


def _from_kite(exc: kite.KiteException, operation: str, *, write: bool) -> OrderServiceError:
    name, status, message = type(exc).__name__, int(exc.code), str(exc)
    details: dict[str, Any] = {
        "operation": operation,
        "broker_error_type": name,
        "broker_status": status,
        "broker_message": message,
    }
    if isinstance(exc, kite.TokenException):
        return AuthenticationError(details=details)
    if isinstance(exc, kite.NetworkException) and status == 429:
        return RateLimitError(
            f"the broker is rate limiting: {message}",
            retry_after=_RATE_LIMIT_RETRY_AFTER,
            details=details,
        )
    if isinstance(exc, kite.NetworkException | kite.DataException) or status >= 500:
        return _unreachable(operation, message, details, write=write)
    return _refusal(exc, operation, message, details)


def _refusal(
    exc: kite.KiteException, operation: str, message: str, details: dict[str, Any]
) -> OrderServiceError:
    lowered = message.lower()
    if isinstance(exc, kite.OrderException):
        return OrderRejected(message, details=details)
    if isinstance(exc, kite.InputException) and any(w in lowered for w in _SYMBOL_WORDS):
        return InvalidSymbolError(message, details=details)
    if isinstance(exc, kite.InputException) and operation in _ORDER_TERMS:
        # The order's own terms (a quantity off the lot, a price off the tick): the caller's
        # to fix, not a failure of the broker.
        return OrderRejected(message, details=details)
    if isinstance(exc, kite.GeneralException) and _mentions(lowered, _FUNDS_WORDS + _HOLDING_WORDS):
        return InsufficientFundsError(message, details={**details, **funds_in(message)})
    return BrokerAPIError(message, details=details)


_ORDER_TERMS = frozenset({"place_order", "modify_order"})


def _mentions(text: str, words: tuple[str, ...]) -> bool:
    return any(word in text for word in words)


def funds_in(message: str) -> dict[str, str]:
    """Parse 'Required margin is X but available margin is Y' into exact decimal strings."""
    match = _FUNDS.search(message)
    if match is None:
        return {}
    try:
        return {
            key: str(Decimal(match.group(key).replace(",", "")))
            for key in ("required", "available")
        }
    except InvalidOperation:
        return {}


def _from_requests(
    exc: requests.exceptions.RequestException, operation: str, *, write: bool
) -> OrderServiceError:
    details = {"operation": operation, "reason": type(exc).__name__}
    if _never_sent(exc):
        return BrokerUnavailable(
            f"cannot connect to the broker during {operation}", details=details
        )
    return _unreachable(operation, f"{type(exc).__name__} during {operation}", details, write=write)


def _never_sent(exc: requests.exceptions.RequestException) -> bool:
    """Return True only when the request certainly did not leave this process."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = repr(exc.args[0]) if exc.args else ""
        return "NewConnectionError" in text or "Connection refused" in text
    return False


def _unreachable(
    operation: str, message: str, details: dict[str, Any], *, write: bool
) -> BrokerUnavailable | BrokerOutcomeUnknown:
    if write:
        return _unknown(operation, message, details)
    return BrokerUnavailable(f"the broker failed during {operation}: {message}", details=details)


def _unknown(
    operation: str, message: str, details: dict[str, Any] | None = None
) -> BrokerOutcomeUnknown:
    return BrokerOutcomeUnknown(
        f"the outcome of {operation} is unknown: {message}",
        details={"operation": operation, **(details or {})},
    )
