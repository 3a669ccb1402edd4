"""The one exception tree of the order service (standard library only).

    OrderServiceError                    INTERNAL                 base, never raised bare
    ├── ValidationError                  INVALID_INPUT            a field is semantically wrong
    │   ├── PayloadTooLarge              PAYLOAD_TOO_LARGE        the body is over the size limit
    │   ├── InvalidSymbolError           INVALID_SYMBOL           unknown exchange/tradingsymbol
    │   └── RiskCheckFailed              RISK_REJECTED            a pre-trade check denied the order
    ├── AuthenticationRequired           UNAUTHENTICATED          no or bad API credentials
    ├── PermissionDenied                 FORBIDDEN                authenticated but not allowed
    │   └── TradingHalted                TRADING_HALTED           the kill switch is engaged
    ├── NotFound                         NOT_FOUND                no such object, or not visible
    ├── Conflict                         CONFLICT                 generic state conflict
    │   ├── InvalidTransition            INVALID_TRANSITION       a state machine refused the move
    │   ├── IdempotencyConflict          IDEMPOTENCY_CONFLICT     same key, different request
    │   ├── OwnershipConflict            OWNERSHIP_CONFLICT       the scope is under the other mode
    │   └── StaleLease                   STALE_LEASE              a worker's lease moved on
    ├── BrokerAPIError                   BROKER_ERROR             the broker refused, other reason
    │   ├── AuthenticationError          BROKER_SESSION_EXPIRED   TokenException; login required
    │   ├── InsufficientFundsError       INSUFFICIENT_FUNDS       margin / holdings refused
    │   ├── OrderRejected                ORDER_REJECTED           OrderException or RMS rejection
    │   ├── RateLimitError               RATE_LIMITED             our budget or the broker said no
    │   └── BrokerUnavailable            BROKER_UNAVAILABLE       connection refused, 5xx on a read
    ├── BrokerOutcomeUnknown             BROKER_OUTCOME_UNKNOWN   a write may or may not have landed
    ├── ServiceUnavailableError          SERVICE_UNAVAILABLE      a peer service or Redis is down
    │   └── DatabaseError                DATABASE_UNAVAILABLE     the database is unreachable
    ├── UpstreamServiceError             UPSTREAM_ERROR           a peer answered an HTTP error
    ├── DataFormatError                  BAD_UPSTREAM_DATA        unparseable broker or peer data
    └── ConfigurationError               CONFIGURATION            refuse to start

Every error carries a stable machine ``code``, a human ``message``, ``details`` (a dict of
JSON-safe values) and ``retryable``. HTTP statuses live only in ``entrypoints/api/errors.py``.
``BrokerOutcomeUnknown`` is the signal the broker adapter raises when a write's outcome is
ambiguous; the order service turns it into the ``UNKNOWN`` order state, never into a reply. It
is deliberately not a ``BrokerAPIError``: nothing that catches a refusal can catch it.

``BROKER_REFUSALS`` are the errors that prove a broker call took no effect (the broker refused
it, or it was never sent); ``NOT_SENT`` are those among them that prove the request never
reached the broker's order handling at all, so a placement's idempotency key is freed for a
retry and an amendment's pending state is withdrawn.
"""

from __future__ import annotations

from typing import Any, ClassVar


class OrderServiceError(Exception):
    """Base of every error the service raises on purpose."""

    code: ClassVar[str] = "INTERNAL"
    default_message: ClassVar[str] = "internal error"
    retryable: bool = False

    def __init__(
        self,
        message: str | None = None,
        *,
        details: dict[str, Any] | None = None,
        retryable: bool | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.details: dict[str, Any] = dict(details or {})
        if retryable is not None:
            self.retryable = retryable
        super().__init__(self.message)

    @property
    def error_code(self) -> str:
        """Return the machine code of this instance (subclasses may vary it per instance)."""
        return self.code

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-safe body shared by every error response."""
        return {
            "code": self.error_code,
            "message": self.message,
            "details": self.details,
            "retryable": self.retryable,
        }


class ValidationError(OrderServiceError):
    code = "INVALID_INPUT"
    default_message = "invalid input"

    def __init__(self, message: str | None = None, *, field: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        if field is not None:
            self.details.setdefault("field", field)


class PayloadTooLarge(ValidationError):
    code = "PAYLOAD_TOO_LARGE"
    default_message = "the request body is too large"


class InvalidSymbolError(ValidationError):
    code = "INVALID_SYMBOL"
    default_message = "unknown exchange or tradingsymbol"


class RiskCheckFailed(ValidationError):
    """A named pre-trade rule denied the order: ``details`` says which (``rule``), the limit it
    holds the order to (``limit``) and the order's own figure (``value``)."""

    code = "RISK_REJECTED"
    default_message = "the order was denied by a pre-trade check"

    def __init__(
        self, rule: str, limit: object, value: object, message: str | None = None, **kw: Any
    ) -> None:
        super().__init__(message, **kw)
        self.rule = rule
        self.details.update({"rule": rule, "limit": _plain(limit), "value": _plain(value)})


def _plain(figure: object) -> object:
    """A figure as JSON carries it: numbers other than whole ones as exact text."""
    if figure is None or isinstance(figure, (bool, int, str, list)):
        return figure
    return str(figure)


class AuthenticationRequired(OrderServiceError):
    code = "UNAUTHENTICATED"
    default_message = "missing or invalid credentials"


class PermissionDenied(OrderServiceError):
    code = "FORBIDDEN"
    default_message = "not allowed"


class TradingHalted(PermissionDenied):
    code = "TRADING_HALTED"
    default_message = "trading is halted by the kill switch; cancels are still allowed"


class NotFound(OrderServiceError):
    code = "NOT_FOUND"
    default_message = "not found"


class Conflict(OrderServiceError):
    code = "CONFLICT"
    default_message = "the request conflicts with the current state"


class InvalidTransition(Conflict):
    code = "INVALID_TRANSITION"
    default_message = "the state machine refused the move"


class IdempotencyConflict(Conflict):
    code = "IDEMPOTENCY_CONFLICT"
    default_message = "the idempotency key was already used for a different request"


class OwnershipConflict(Conflict):
    code = "OWNERSHIP_CONFLICT"
    default_message = "the scope is under another control mode"


class StaleLease(Conflict):
    """A worker wrote for an account under a lease token older than the newest granted.

    The account's background work has moved to another worker (or this one lost and retook
    its lease); the write is rolled back. Workers handle it per account, like any refusal.
    """

    code = "STALE_LEASE"
    default_message = "the account's lease has moved on; the write was refused"


class BrokerAPIError(OrderServiceError):
    code = "BROKER_ERROR"
    default_message = "the broker refused the request"


class AuthenticationError(BrokerAPIError):
    code = "BROKER_SESSION_EXPIRED"
    default_message = "the broker session has expired; log the account in again"


class InsufficientFundsError(BrokerAPIError):
    code = "INSUFFICIENT_FUNDS"
    default_message = "insufficient funds"


class OrderRejected(BrokerAPIError):
    code = "ORDER_REJECTED"
    default_message = "the broker rejected the order"


class RateLimitError(BrokerAPIError):
    code = "RATE_LIMITED"
    default_message = "rate limited; retry later"
    retryable = True

    def __init__(self, message: str | None = None, *, retry_after: float = 1.0, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after
        self.details.setdefault("retry_after_seconds", retry_after)


class BrokerUnavailable(BrokerAPIError):
    code = "BROKER_UNAVAILABLE"
    default_message = "the broker is unavailable"
    retryable = True


class BrokerOutcomeUnknown(OrderServiceError):
    code = "BROKER_OUTCOME_UNKNOWN"
    default_message = "the broker may or may not have processed the request"


class ServiceUnavailableError(OrderServiceError):
    code = "SERVICE_UNAVAILABLE"
    default_message = "a required service is unavailable"
    retryable = True


class DatabaseError(ServiceUnavailableError):
    code = "DATABASE_UNAVAILABLE"
    default_message = "the database is unavailable"


class UpstreamServiceError(OrderServiceError):
    code = "UPSTREAM_ERROR"
    default_message = "a peer service answered with an error"


class DataFormatError(OrderServiceError):
    code = "BAD_UPSTREAM_DATA"
    default_message = "received data that cannot be parsed"


class ConfigurationError(OrderServiceError):
    code = "CONFIGURATION"
    default_message = "invalid configuration"


# Internal signals: raised by one layer for another, never answered to a caller as they are.
# (``BrokerOutcomeUnknown`` is the third: it carries a code because its details are recorded.)


class DuplicateClientOrderId(Exception):
    """The (account, client_order_id) pair is already taken by another order.

    Like every refusal of a write, it surfaces from the write itself or, at the latest, from
    the unit of work's ``commit()`` (an adapter may hold writes back until then).
    """


class StaleWrite(Exception):
    """The row changed since it was read (optimistic concurrency)."""


class AccountReconciling(Exception):
    """The account's books await reconciliation with the broker: no new order yet."""


# The request never took effect: the broker refused it, or it was never sent.
BROKER_REFUSALS: tuple[type[OrderServiceError], ...] = (
    BrokerAPIError,
    InvalidSymbolError,
    ServiceUnavailableError,
)
# What stops a read of the broker's books: a refusal, a session that is over, or an answer
# that is nonsense.
BROKER_UNREAD: tuple[type[OrderServiceError], ...] = (
    *BROKER_REFUSALS,
    AuthenticationError,
    DataFormatError,
)
# Among the refusals, those that prove the broker never processed the request at all.
NOT_SENT: tuple[type[OrderServiceError], ...] = (
    RateLimitError,
    BrokerUnavailable,
    AuthenticationError,
    ServiceUnavailableError,
)

ALL_ERRORS: tuple[type[OrderServiceError], ...] = (
    OrderServiceError,
    ValidationError,
    PayloadTooLarge,
    InvalidSymbolError,
    RiskCheckFailed,
    AuthenticationRequired,
    PermissionDenied,
    TradingHalted,
    NotFound,
    Conflict,
    InvalidTransition,
    IdempotencyConflict,
    OwnershipConflict,
    StaleLease,
    BrokerAPIError,
    AuthenticationError,
    InsufficientFundsError,
    OrderRejected,
    RateLimitError,
    BrokerUnavailable,
    BrokerOutcomeUnknown,
    ServiceUnavailableError,
    DatabaseError,
    UpstreamServiceError,
    DataFormatError,
    ConfigurationError,
)
