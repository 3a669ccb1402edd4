"""translate(): every SDK and `requests` failure lands on one class of the error tree."""

from __future__ import annotations

import http.client

import pytest
import requests
import urllib3.exceptions
from kiteconnect import exceptions as kite

from order_service.adapters.broker.errors import funds_in, translate
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

FUNDS = "Insufficient funds. Required margin is 95417.84 but available margin is 74251.80."


def refused_connection() -> requests.exceptions.ConnectionError:
    """What requests raises when the TCP connection is refused: nothing was sent."""
    reason = urllib3.exceptions.NewConnectionError(
        None,  # type: ignore[arg-type]
        "Failed to establish a new connection: [Errno 111] Connection refused",
    )
    return requests.exceptions.ConnectionError(
        urllib3.exceptions.MaxRetryError(None, "/orders/regular", reason)  # type: ignore[arg-type]
    )


def dropped_connection() -> requests.exceptions.ConnectionError:
    """What requests raises when the broker hangs up after the request went out."""
    reason = http.client.RemoteDisconnected("Remote end closed connection without response")
    return requests.exceptions.ConnectionError(
        urllib3.exceptions.ProtocolError("Connection aborted.", reason)
    )


# (failure, class on a write, class on a read); one row per line of the module's table.
ROWS = [
    pytest.param(
        kite.TokenException("Incorrect `api_key` or `access_token`.", code=403),
        AuthenticationError,
        AuthenticationError,
        id="token",
    ),
    pytest.param(
        kite.PermissionException("Insufficient permission for that call.", code=403),
        BrokerAPIError,
        BrokerAPIError,
        id="permission",
    ),
    pytest.param(
        kite.InputException("Invalid `tradingsymbol`.", code=400),
        InvalidSymbolError,
        InvalidSymbolError,
        id="input-symbol",
    ),
    pytest.param(
        kite.InputException("Quantity should be a multiple of the lot size (75).", code=400),
        OrderRejected,  # the order's own terms: the caller's to fix (422), not a broker failure
        BrokerAPIError,
        id="input-order-terms",
    ),
    pytest.param(
        kite.OrderException("Maximum allowed order modifications exceeded.", code=400),
        OrderRejected,
        OrderRejected,
        id="order",
    ),
    pytest.param(
        kite.GeneralException(FUNDS, code=400),
        InsufficientFundsError,
        InsufficientFundsError,
        id="funds",
    ),
    pytest.param(
        kite.GeneralException("Insufficient holdings to sell INFY.", code=400),
        InsufficientFundsError,
        InsufficientFundsError,
        id="holdings",
    ),
    pytest.param(
        kite.NetworkException("Too many requests", code=429),
        RateLimitError,
        RateLimitError,
        id="network-429",
    ),
    pytest.param(
        kite.NetworkException("Gateway timed out", code=503),
        BrokerOutcomeUnknown,
        BrokerUnavailable,
        id="network-503",
    ),
    pytest.param(
        kite.DataException("Unknown Content-Type (text/html) with response", code=502),
        BrokerOutcomeUnknown,
        BrokerUnavailable,
        id="data",
    ),
    pytest.param(
        kite.GeneralException("Internal server error", code=500),
        BrokerOutcomeUnknown,
        BrokerUnavailable,
        id="general-5xx",
    ),
    pytest.param(
        kite.GeneralException("Something else went wrong", code=400),
        BrokerAPIError,
        BrokerAPIError,
        id="general-4xx",
    ),
    pytest.param(
        requests.exceptions.ConnectTimeout("connect timed out"),
        BrokerUnavailable,
        BrokerUnavailable,
        id="connect-timeout",
    ),
    pytest.param(refused_connection(), BrokerUnavailable, BrokerUnavailable, id="refused"),
    pytest.param(
        requests.exceptions.ReadTimeout("read timed out"),
        BrokerOutcomeUnknown,
        BrokerUnavailable,
        id="read-timeout",
    ),
    pytest.param(dropped_connection(), BrokerOutcomeUnknown, BrokerUnavailable, id="dropped"),
    pytest.param(
        requests.exceptions.ChunkedEncodingError("truncated"),
        BrokerOutcomeUnknown,
        BrokerUnavailable,
        id="other-requests",
    ),
    pytest.param(KeyError("data"), BrokerOutcomeUnknown, DataFormatError, id="key-error"),
    pytest.param(
        ValueError("Expecting value: line 1 column 1"),
        BrokerOutcomeUnknown,
        DataFormatError,
        id="value-error",
    ),
]


@pytest.mark.parametrize(("failure", "on_write", "on_read"), ROWS)
def test_every_failure_translates_on_writes_and_reads(
    failure: BaseException,
    on_write: type[OrderServiceError],
    on_read: type[OrderServiceError],
) -> None:
    write = translate(failure, "place_order", write=True)
    read = translate(failure, "orders", write=False)
    assert type(write) is on_write
    assert type(read) is on_read
    assert write.details["operation"] == "place_order"
    assert read.details["operation"] == "orders"


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        (kite.TokenException("Token is invalid or has expired.", code=403), 403),
        (kite.OrderException("Order rejected.", code=400), 400),
        (kite.NetworkException("Gateway timed out", code=503), 503),
        (kite.InputException("Invalid `tradingsymbol`.", code=400), 400),
    ],
)
def test_sdk_failures_carry_the_broker_error_type_and_status(
    failure: kite.KiteException, status: int
) -> None:
    error = translate(failure, "place_order", write=True)
    assert error.details["broker_error_type"] == type(failure).__name__
    assert error.details["broker_status"] == status
    assert error.details["broker_message"] == str(failure)


def test_insufficient_funds_carry_exact_amounts() -> None:
    error = translate(kite.GeneralException(FUNDS, code=400), "place_order", write=True)
    assert error.details["required"] == "95417.84"
    assert error.details["available"] == "74251.80"
    assert error.message == FUNDS


@pytest.mark.parametrize(
    ("message", "amounts"),
    [
        (FUNDS, {"required": "95417.84", "available": "74251.80"}),
        (
            "Margin exceeds. Required margin is Rs. 1,20,500.5 but available margin is Rs.99.",
            {"required": "120500.5", "available": "99"},
        ),
        ("Insufficient funds.", {}),
    ],
)
def test_funds_are_parsed_from_the_message(message: str, amounts: dict[str, str]) -> None:
    assert funds_in(message) == amounts


def test_a_rate_limit_says_when_to_retry() -> None:
    error = translate(kite.NetworkException("Too many requests", code=429), "orders", write=False)
    assert isinstance(error, RateLimitError)
    assert error.details["retry_after_seconds"] == 1.0
    assert error.retryable


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (requests.exceptions.ReadTimeout("read timed out"), "ReadTimeout"),
        (refused_connection(), "ConnectionError"),
    ],
)
def test_requests_failures_name_their_reason(failure: BaseException, reason: str) -> None:
    assert translate(failure, "modify_order", write=True).details["reason"] == reason


def test_an_unknown_outcome_says_which_write_it_was() -> None:
    error = translate(requests.exceptions.ReadTimeout(), "cancel_order", write=True)
    assert isinstance(error, BrokerOutcomeUnknown)
    assert "cancel_order" in error.message
    assert not error.retryable


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        ("place_order", OrderRejected),
        ("modify_order", OrderRejected),
        ("cancel_order", BrokerAPIError),
    ],
)
def test_an_input_refusal_is_the_orders_own_terms_only_when_placing_or_modifying(
    operation: str, expected: type[BrokerAPIError]
) -> None:
    failure = kite.InputException("Tick size for this script is 0.05.", code=400)
    error = translate(failure, operation, write=True)
    assert type(error) is expected
    assert error.details["broker_error_type"] == "InputException"
    assert error.details["broker_message"] == "Tick size for this script is 0.05."
