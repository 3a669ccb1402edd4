"""A scripted service for the client's unit tests: answers in order, requests recorded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from order_service.client import OrderServiceClient

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]
ORDER: dict[str, Any] = {
    "order_id": "01JORDER",
    "client_order_id": "k",
    "status": "OPEN",
    "price": "1450.00",
    "average_price": None,
    "quantity": 1,
}


class Script:
    """Answers each request with the next scripted answer (an exception is raised instead)."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.slept: list[float] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return answer(request)

    def client(self, retries: int = 3) -> OrderServiceClient:
        return OrderServiceClient(
            "http://service.test",
            "key-1",
            retries=retries,
            transport=httpx.MockTransport(self.handle),
            sleep=self.slept.append,
        )


def envelope(
    status: int, code: str, headers: dict[str, str] | None = None, **details: Any
) -> httpx.Response:
    body = {
        "error": {
            "code": code,
            "message": f"{code.lower()} happened",
            "details": details,
            "retryable": False,
            "request_id": "req-1",
        }
    }
    return httpx.Response(status, json=body, headers=headers)


def limit_order(client: OrderServiceClient, **extra: Any) -> Any:
    return client.place_order(
        "PAPER1", "NSE", "INFY", "BUY", 1, "CNC", "LIMIT", price="1450.00", **extra
    )
