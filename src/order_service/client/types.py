"""What the service answers, as typed dictionaries (money as Decimal, times as ISO text)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypedDict

JSONObject = dict[str, Any]


class Order(TypedDict, total=False):
    order_id: str
    client_order_id: str
    account_id: str
    strategy_id: str
    broker_order_id: str | None
    exchange_order_id: str | None
    status: str
    broker_status: str | None
    status_message: str | None
    variety: str
    exchange: str
    tradingsymbol: str
    transaction_type: str
    order_type: str
    product: str
    validity: str
    validity_ttl: int | None
    quantity: int
    price: Decimal | None
    trigger_price: Decimal | None
    disclosed_quantity: int | None
    market_protection: Decimal | None
    filled_quantity: int
    average_price: Decimal | None
    modification_count: int
    tag: str | None
    broker_tag: str | None


class OrderPage(TypedDict):
    items: list[Order]
    next_cursor: str | None


class OrderEvent(TypedDict):
    sequence: int | None
    order_id: str
    name: str
    status_before: str | None
    status_after: str
    occurred_at: str
    data: JSONObject


class FeedEvent(TypedDict):
    """One event of the feed or the stream; ``sequence`` is its cursor (the stream's id)."""

    sequence: int
    type: str
    name: str
    account_id: str
    order_id: str
    status_before: str | None
    status_after: str
    occurred_at: str
    data: JSONObject


class FeedPage(TypedDict):
    items: list[FeedEvent]
    next: int


class Account(TypedDict, total=False):
    account_id: str
    name: str
    api_key: str
    session_state: str
    token_expires_at: str | None
    created_at: str
    limits: JSONObject


class LoginLink(TypedDict):
    login_url: str
    expires_at: str


class ApiKey(TypedDict, total=False):
    key_id: str
    created_at: str
    revoked_at: str | None
    strategy_id: str | None
    key: str  # only in the answer that creates it


class RiskLimits(TypedDict, total=False):
    scope: str
    scope_id: str
    account_id: str
    max_order_value: Decimal | None
    max_quantity: int | None
    max_open_orders: int | None
    max_orders_per_day: int | None
    allowed_exchanges: list[str] | None
    allowed_products: list[str] | None


@dataclass(frozen=True)
class Placement:
    """The answer to a placement: the order and how the service took it.

    ``created`` (201) placed it now; ``repeat`` (200) is the order an earlier request with the
    same idempotency key placed; ``unknown`` (202) means the broker's answer was lost: the
    order is ``UNKNOWN`` until the service resolves it. Never place it again; watch it.
    """

    order: Order
    status_code: int
    idempotency_key: str

    @property
    def created(self) -> bool:
        return self.status_code == 201

    @property
    def repeat(self) -> bool:
        return self.status_code == 200

    @property
    def unknown(self) -> bool:
        return self.status_code == 202
