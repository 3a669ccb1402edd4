"""The client's error tree: one class per error code of the service's envelope.

    ClientError                  any code this client does not know (INTERNAL too)
    ├── InvalidInput             INVALID_INPUT
    │   ├── PayloadTooLarge      PAYLOAD_TOO_LARGE
    │   ├── InvalidSymbol        INVALID_SYMBOL
    │   └── RiskRejected         RISK_REJECTED
    ├── Unauthenticated          UNAUTHENTICATED
    ├── Forbidden                FORBIDDEN
    │   └── TradingHalted        TRADING_HALTED
    ├── NotFound                 NOT_FOUND
    ├── Conflict                 CONFLICT
    │   ├── InvalidTransition    INVALID_TRANSITION
    │   ├── IdempotencyConflict  IDEMPOTENCY_CONFLICT
    │   ├── OwnershipConflict    OWNERSHIP_CONFLICT
    │   └── StaleLease           STALE_LEASE
    ├── BrokerError              BROKER_ERROR
    │   ├── BrokerSessionExpired BROKER_SESSION_EXPIRED
    │   ├── InsufficientFunds    INSUFFICIENT_FUNDS
    │   ├── OrderRejected        ORDER_REJECTED
    │   ├── RateLimited          RATE_LIMITED
    │   └── BrokerUnavailable    BROKER_UNAVAILABLE
    ├── BrokerOutcomeUnknown     BROKER_OUTCOME_UNKNOWN
    ├── ServiceUnavailable       SERVICE_UNAVAILABLE
    │   └── DatabaseUnavailable  DATABASE_UNAVAILABLE
    ├── UpstreamError            UPSTREAM_ERROR
    ├── BadUpstreamData          BAD_UPSTREAM_DATA
    ├── ConfigurationError       CONFIGURATION
    ├── UnexpectedResponse       (client side) an answer that is not the envelope
    └── TransportError           (client side) no answer: connection refused, reset, timed out

The tree mirrors the service's own, so ``except BrokerError`` catches every broker refusal.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ClientError(Exception):
    """An error answer of the order service (or no answer at all)."""

    code: ClassVar[str] = "INTERNAL"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
        retryable: bool = False,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = code or self.code
        self.status = status
        self.details: dict[str, Any] = dict(details or {})
        self.retryable = retryable
        self.request_id = request_id
        self.retry_after = retry_after
        self.idempotency_key: str | None = None  # set by place_order: retry later with it

    def __str__(self) -> str:
        where = f" (request {self.request_id})" if self.request_id else ""
        return f"{self.error_code}: {self.message}{where}"


class InvalidInput(ClientError):
    code = "INVALID_INPUT"


class PayloadTooLarge(InvalidInput):
    code = "PAYLOAD_TOO_LARGE"


class InvalidSymbol(InvalidInput):
    code = "INVALID_SYMBOL"


class RiskRejected(InvalidInput):
    """A pre-trade check denied the order: ``details`` has ``rule``, ``limit`` and ``value``."""

    code = "RISK_REJECTED"


class Unauthenticated(ClientError):
    code = "UNAUTHENTICATED"


class Forbidden(ClientError):
    code = "FORBIDDEN"


class TradingHalted(Forbidden):
    code = "TRADING_HALTED"


class NotFound(ClientError):
    code = "NOT_FOUND"


class Conflict(ClientError):
    code = "CONFLICT"


class InvalidTransition(Conflict):
    code = "INVALID_TRANSITION"


class IdempotencyConflict(Conflict):
    code = "IDEMPOTENCY_CONFLICT"


class OwnershipConflict(Conflict):
    code = "OWNERSHIP_CONFLICT"


class StaleLease(Conflict):
    code = "STALE_LEASE"


class BrokerError(ClientError):
    code = "BROKER_ERROR"


class BrokerSessionExpired(BrokerError):
    """The account must be logged in again (``login_link``)."""

    code = "BROKER_SESSION_EXPIRED"


class InsufficientFunds(BrokerError):
    code = "INSUFFICIENT_FUNDS"


class OrderRejected(BrokerError):
    code = "ORDER_REJECTED"


class RateLimited(BrokerError):
    code = "RATE_LIMITED"


class BrokerUnavailable(BrokerError):
    code = "BROKER_UNAVAILABLE"


class BrokerOutcomeUnknown(ClientError):
    code = "BROKER_OUTCOME_UNKNOWN"


class ServiceUnavailable(ClientError):
    code = "SERVICE_UNAVAILABLE"


class DatabaseUnavailable(ServiceUnavailable):
    code = "DATABASE_UNAVAILABLE"


class UpstreamError(ClientError):
    code = "UPSTREAM_ERROR"


class BadUpstreamData(ClientError):
    code = "BAD_UPSTREAM_DATA"


class ConfigurationError(ClientError):
    code = "CONFIGURATION"


class UnexpectedResponse(ClientError):
    """An answer that is not the service's envelope (a proxy's page, bad JSON, NaN)."""

    code = "UNEXPECTED_RESPONSE"


class TransportError(ClientError):
    """No answer: the connection was refused, reset or timed out (after the retries)."""

    code = "TRANSPORT_ERROR"


BY_CODE: dict[str, type[ClientError]] = {
    cls.code: cls
    for cls in (
        InvalidInput,
        PayloadTooLarge,
        InvalidSymbol,
        RiskRejected,
        Unauthenticated,
        Forbidden,
        TradingHalted,
        NotFound,
        Conflict,
        InvalidTransition,
        IdempotencyConflict,
        OwnershipConflict,
        StaleLease,
        BrokerError,
        BrokerSessionExpired,
        InsufficientFunds,
        OrderRejected,
        RateLimited,
        BrokerUnavailable,
        BrokerOutcomeUnknown,
        ServiceUnavailable,
        DatabaseUnavailable,
        UpstreamError,
        BadUpstreamData,
        ConfigurationError,
    )
}
# The codes whose request took no effect and may be sent again (DESIGN: retryable).
RETRYABLE_CODES = frozenset(
    {"RATE_LIMITED", "BROKER_UNAVAILABLE", "SERVICE_UNAVAILABLE", "DATABASE_UNAVAILABLE"}
)


def error_from_envelope(
    envelope: dict[str, Any], status: int, retry_after: float | None = None
) -> ClientError:
    """Build the typed error of an ``{"error": {...}}`` body (an unknown code: the base)."""
    code = str(envelope.get("code") or "INTERNAL")
    details = envelope.get("details")
    request_id = envelope.get("request_id")
    cls = BY_CODE.get(code, ClientError)
    return cls(
        str(envelope.get("message") or code),
        code=code,
        status=status,
        details=details if isinstance(details, dict) else {},
        retryable=bool(envelope.get("retryable", False)),
        request_id=str(request_id) if request_id else None,
        retry_after=retry_after,
    )
