"""Every row of the broker error table, produced by the paper broker, checked at the API.

Each SDK exception (and the ones Kite sends that the SDK turns into GeneralException) arrives
through the unmodified SDK; the response must carry the right status, code and details.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.harness import MARKET, error_body, inject_fault, login_again, wait_for

REFUSALS = [
    # error_type, HTTP status at the broker, our status, our code
    ("TokenException", 403, 409, "BROKER_SESSION_EXPIRED"),
    ("PermissionException", 403, 502, "BROKER_ERROR"),
    ("UserException", 403, 502, "BROKER_ERROR"),
    ("InputException", 400, 422, "ORDER_REJECTED"),  # placing: the order's own terms
    ("OrderException", 400, 422, "ORDER_REJECTED"),
    ("GeneralException", 400, 502, "BROKER_ERROR"),
]


@pytest.mark.parametrize(("error_type", "broker_status", "status", "code"), REFUSALS)
def test_a_refusal_before_acceptance_fails_the_order_with_its_code(
    api: httpx.Client,
    admin: httpx.Client,
    error_type: str,
    broker_status: int,
    status: int,
    code: str,
) -> None:
    message = f"Paper broker says no ({error_type})."
    inject_fault(
        admin, "place_order", "error", error_type=error_type, status=broker_status, message=message
    )
    error = error_body(api.post("/api/v1/orders", json=MARKET), status, code)
    assert error["details"]["broker_status"] == broker_status
    assert error["details"]["broker_message"] == message
    if error_type == "TokenException":
        login_again(api)
    else:
        assert error["details"]["broker_error_type"] in {error_type, "GeneralException"}


@pytest.mark.parametrize(
    ("error_type", "message", "field"),
    [
        (
            "MarginException",
            "Insufficient funds. Required margin is 150000.50 but available margin is 1000.25.",
            "required",
        ),
        ("HoldingException", "Insufficient holdings to sell. Available quantity is 0.", None),
    ],
)
def test_margin_and_holding_exceptions_are_insufficient_funds(
    api: httpx.Client, admin: httpx.Client, error_type: str, message: str, field: str | None
) -> None:
    inject_fault(admin, "place_order", "error", error_type=error_type, status=400, message=message)
    error = error_body(api.post("/api/v1/orders", json=MARKET), 422, "INSUFFICIENT_FUNDS")
    assert error["details"]["broker_error_type"] == "GeneralException"  # as the SDK delivers them
    if field:
        assert (error["details"]["required"], error["details"]["available"]) == (
            "150000.50",
            "1000.25",
        )


@pytest.mark.parametrize(
    ("fault", "extra"),
    [
        ("error", {"error_type": "NetworkException", "status": 503}),
        ("error", {"error_type": "DataException", "status": 502}),
        ("error", {"error_type": "GeneralException", "status": 500}),
        ("empty_json", {}),
        ("no_content_type", {}),
    ],
)
def test_an_ambiguous_answer_is_202_unknown_then_settled(
    api: httpx.Client, admin: httpx.Client, fault: str, extra: dict[str, Any]
) -> None:
    inject_fault(admin, "place_order", fault, **extra)
    response = api.post("/api/v1/orders", json=MARKET)
    assert response.status_code == 202, response.text
    order = response.json()
    assert order["status"] == "UNKNOWN"
    settled = wait_for(
        lambda: api.get(response.headers["location"]).json()["status"] in {"FAILED", "COMPLETE"},
        timeout=15,
    )
    assert settled


def test_a_held_sell_without_holdings_is_refused_by_the_broker(api: httpx.Client) -> None:
    sell = {**MARKET, "tradingsymbol": "TCS", "transaction_type": "SELL"}
    error = error_body(api.post("/api/v1/orders", json=sell), 422, "INSUFFICIENT_FUNDS")
    assert "holding" in error["message"].lower()
