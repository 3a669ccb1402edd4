"""Kite's error vocabulary: each class carries the `error_type` and HTTP status Kite sends.

KiteError (GeneralException, 500)
├── InputError (InputException, 400)
├── OrderError (OrderException, 400)
├── MarginError (MarginException, 400)
├── HoldingError (HoldingException, 400)
├── TokenError (TokenException, 403)
├── PermissionDenied (PermissionException, 403)
├── NetworkError (NetworkException, 503; 429 when rate limited)
├── RouteNotFound (GeneralException, 404)
└── StorageError (GeneralException, 500): the state file or its journal could not be written

ConfigError (a ValueError) stands apart: a configuration the broker refuses to start with.
"""

from __future__ import annotations

from typing import ClassVar


class KiteError(Exception):
    """An error answered with Kite's error envelope."""

    error_type: ClassVar[str] = "GeneralException"
    status: ClassVar[int] = 500

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = self.status if status is None else status


class InputError(KiteError):
    error_type = "InputException"
    status = 400


class OrderError(KiteError):
    error_type = "OrderException"
    status = 400


class MarginError(KiteError):
    error_type = "MarginException"
    status = 400


class HoldingError(KiteError):
    error_type = "HoldingException"
    status = 400


class TokenError(KiteError):
    error_type = "TokenException"
    status = 403


class PermissionDenied(KiteError):
    error_type = "PermissionException"
    status = 403


class NetworkError(KiteError):
    error_type = "NetworkException"
    status = 503


class RouteNotFound(KiteError):
    status = 404


class StorageError(KiteError):
    """A change could not be made durable; the caller learns it before anything else."""


class ConfigError(ValueError):
    """A bad setting, replay file or fault given at start; never sent to a client as such."""


INVALID_SESSION = "Incorrect `api_key` or `access_token`."
TOO_MANY_REQUESTS = "Too many requests"


def invalid(field: str) -> InputError:
    """Kite's message for a missing or malformed parameter."""
    return InputError(f"Invalid `{field}`.")


def rate_limited() -> NetworkError:
    return NetworkError(TOO_MANY_REQUESTS, status=429)
