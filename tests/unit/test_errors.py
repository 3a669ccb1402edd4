"""The error tree: stable codes, one body shape, which errors are worth retrying."""

from __future__ import annotations

import inspect
from decimal import Decimal

import pytest

from order_service import errors
from order_service.errors import (
    ALL_ERRORS,
    BrokerUnavailable,
    DatabaseError,
    InvalidSymbolError,
    OrderServiceError,
    RateLimitError,
    RiskCheckFailed,
    ServiceUnavailableError,
    ValidationError,
)

RETRYABLE = {RateLimitError, BrokerUnavailable, ServiceUnavailableError, DatabaseError}

# DESIGN.md section 5, plus the two the code adds (PayloadTooLarge, BrokerOutcomeUnknown).
CODES = {
    "OrderServiceError": "INTERNAL",
    "ValidationError": "INVALID_INPUT",
    "PayloadTooLarge": "PAYLOAD_TOO_LARGE",
    "InvalidSymbolError": "INVALID_SYMBOL",
    "RiskCheckFailed": "RISK_REJECTED",
    "AuthenticationRequired": "UNAUTHENTICATED",
    "PermissionDenied": "FORBIDDEN",
    "TradingHalted": "TRADING_HALTED",
    "NotFound": "NOT_FOUND",
    "Conflict": "CONFLICT",
    "InvalidTransition": "INVALID_TRANSITION",
    "IdempotencyConflict": "IDEMPOTENCY_CONFLICT",
    "OwnershipConflict": "OWNERSHIP_CONFLICT",
    "StaleLease": "STALE_LEASE",
    "BrokerAPIError": "BROKER_ERROR",
    "AuthenticationError": "BROKER_SESSION_EXPIRED",
    "InsufficientFundsError": "INSUFFICIENT_FUNDS",
    "OrderRejected": "ORDER_REJECTED",
    "RateLimitError": "RATE_LIMITED",
    "BrokerUnavailable": "BROKER_UNAVAILABLE",
    "BrokerOutcomeUnknown": "BROKER_OUTCOME_UNKNOWN",
    "ServiceUnavailableError": "SERVICE_UNAVAILABLE",
    "DatabaseError": "DATABASE_UNAVAILABLE",
    "UpstreamServiceError": "UPSTREAM_ERROR",
    "DataFormatError": "BAD_UPSTREAM_DATA",
    "ConfigurationError": "CONFIGURATION",
}


def instance(cls: type[OrderServiceError]) -> OrderServiceError:
    return cls("lot_size", 75, 76) if cls is RiskCheckFailed else cls()


def test_all_errors_lists_every_class_of_the_module() -> None:
    defined = {
        obj
        for _, obj in inspect.getmembers(errors, inspect.isclass)
        if issubclass(obj, OrderServiceError)
    }
    assert set(ALL_ERRORS) == defined
    assert len(ALL_ERRORS) == len(defined)


def test_every_class_has_its_documented_unique_code() -> None:
    assert {cls.__name__: cls.code for cls in ALL_ERRORS} == CODES
    codes = [instance(cls).error_code for cls in ALL_ERRORS]
    assert len(set(codes)) == len(codes)


def test_a_risk_denial_names_its_rule_limit_and_value() -> None:
    error = RiskCheckFailed("tick_size", Decimal("0.05"), Decimal("1500.03"), "off the tick")
    assert error.error_code == "RISK_REJECTED"
    assert error.details == {"rule": "tick_size", "limit": "0.05", "value": "1500.03"}
    assert isinstance(error, ValidationError)


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda cls: cls.__name__)
def test_every_error_has_the_one_body_shape(cls: type[OrderServiceError]) -> None:
    body = instance(cls).to_dict()
    assert list(body) == ["code", "message", "details", "retryable"]
    assert body["code"] == instance(cls).error_code
    assert body["message"] == cls.default_message
    assert isinstance(body["details"], dict)


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda cls: cls.__name__)
def test_only_transient_errors_are_retryable(cls: type[OrderServiceError]) -> None:
    assert instance(cls).retryable is (cls in RETRYABLE)


def test_the_message_details_and_retryable_can_be_given() -> None:
    details = {"account_id": "PAPER1"}
    error = InvalidSymbolError("no such symbol", details=details, field="tradingsymbol")
    details["account_id"] = "changed"
    assert error.to_dict() == {
        "code": "INVALID_SYMBOL",
        "message": "no such symbol",
        "details": {"account_id": "PAPER1", "field": "tradingsymbol"},
        "retryable": False,
    }
    assert str(error) == "no such symbol"
    assert BrokerUnavailable(retryable=False).retryable is False


def test_a_rate_limit_says_when_to_retry() -> None:
    error = RateLimitError(retry_after=2.5)
    assert error.retry_after == 2.5
    assert error.details["retry_after_seconds"] == 2.5
    assert RateLimitError().details["retry_after_seconds"] == 1.0


@pytest.mark.parametrize("refusal", errors.BROKER_REFUSALS, ids=lambda cls: cls.__name__)
def test_no_signal_of_unknown_outcome_is_a_refusal(refusal: type[OrderServiceError]) -> None:
    # Exactly-once rests on this: an `except BROKER_REFUSALS` written anywhere, in any order,
    # must never record a placed order as FAILED.
    unknown_outcomes = [cls for cls in ALL_ERRORS if "OUTCOME_UNKNOWN" in cls.code]
    assert unknown_outcomes == [errors.BrokerOutcomeUnknown]
    assert not issubclass(errors.BrokerOutcomeUnknown, refusal)


def test_what_proves_a_request_unsent_is_a_refusal_too() -> None:
    for cls in errors.NOT_SENT:
        assert issubclass(cls, errors.BROKER_REFUSALS)
    assert not issubclass(errors.BrokerOutcomeUnknown, errors.NOT_SENT)
