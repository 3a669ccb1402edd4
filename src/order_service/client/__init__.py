"""A Python client of the order service's HTTP API (httpx; imports nothing else of the service).

from order_service.client import OrderServiceClient
with OrderServiceClient("http://127.0.0.1:8000", api_key) as client:
    placed = client.place_order("PAPER1", "NSE", "INFY", "BUY", 1, "CNC", "LIMIT",
                                price=Decimal("1450.00"))
"""

from order_service.client import errors
from order_service.client.client import OrderServiceClient, new_idempotency_key
from order_service.client.errors import BY_CODE, RETRYABLE_CODES, ClientError
from order_service.client.stream import EventStream
from order_service.client.transport import RetryPolicy
from order_service.client.types import (
    Account,
    ApiKey,
    FeedEvent,
    FeedPage,
    LoginLink,
    Order,
    OrderEvent,
    OrderPage,
    Placement,
    RiskLimits,
)

__all__ = [
    "BY_CODE",
    "RETRYABLE_CODES",
    "Account",
    "ApiKey",
    "ClientError",
    "EventStream",
    "FeedEvent",
    "FeedPage",
    "LoginLink",
    "Order",
    "OrderEvent",
    "OrderPage",
    "OrderServiceClient",
    "Placement",
    "RetryPolicy",
    "RiskLimits",
    "errors",
    "new_idempotency_key",
]
