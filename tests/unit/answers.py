"""What the API tests share: reading an answer, a refusal, and a LIMIT order's body."""

from __future__ import annotations

from typing import Any

import httpx

LIMIT: dict[str, Any] = {
    "account_id": "PAPER1",
    "exchange": "NSE",
    "tradingsymbol": "INFY",
    "transaction_type": "BUY",
    "quantity": 10,
    "product": "CNC",
    "order_type": "LIMIT",
    "price": "1520.50",
}


def body(response: httpx.Response, status: int = 200) -> Any:
    """The answer's JSON (None when it has no body), once its status is ``status``."""
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The answer's error, once its status is ``status`` and its code ``code``."""
    error: dict[str, Any] = body(response, status)["error"]
    assert error["code"] == code, error
    return error
