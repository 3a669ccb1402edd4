"""Signal tokens: a strategy's order template, reached by an alert from a charting tool.

The token is the alert's only credential, so it acts only within its template: the account
and strategy are the token's, never the alert's; a symbol or side the template fixes cannot
be changed by the alert, and an alert's quantity is capped by the template's maximum.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from order_service.domain.alert import Alert
from order_service.domain.ids import AccountId, ClientOrderId, SignalTokenId, StrategyId, UserId
from order_service.domain.values import Exchange, OrderType, Product, TransactionType
from order_service.errors import ValidationError

SIGNAL_RECEIVED = "SignalReceived"  # an alert was read and its orders placed (or repeated)
SIGNAL_REJECTED = "SignalRejected"  # an alert was refused: its payload or one of its orders
SIGNAL_TOKEN_PREFIX = "sig_"  # noqa: S105 (a prefix, no secret)
# The order types a template may use: an alert carries at most one price.
TEMPLATE_ORDER_TYPES = frozenset({OrderType.MARKET, OrderType.LIMIT})


@dataclass(frozen=True, slots=True)
class OrderTemplate:
    """What every order of a token's alerts is: the alert fills in only what is left open."""

    exchange: Exchange
    product: Product
    order_type: OrderType
    tradingsymbol: str | None = None  # None: each alert names its symbol
    transaction_type: TransactionType | None = None  # None: each alert says buy or sell
    quantity: int | None = None  # fixed; None: the alert's, up to ``max_quantity``
    max_quantity: int | None = None

    @classmethod
    def create(cls, **terms: Any) -> OrderTemplate:
        """Build a new template and check it (``ValidationError`` if not); stored ones are
        rebuilt with the plain constructor, as they were made."""
        return cls(**terms).validated()

    def validated(self) -> OrderTemplate:
        if self.order_type not in TEMPLATE_ORDER_TYPES:
            raise ValidationError(
                "a signal template places MARKET or LIMIT orders (LIMIT at the alert's price)",
                field="order_type",
            )
        if (self.quantity is None) == (self.max_quantity is None):
            raise ValidationError(
                "give the template either a fixed quantity or a max_quantity for the alert's",
                field="quantity",
            )
        return self

    def as_dict(self) -> dict[str, Any]:
        return {
            "exchange": self.exchange.value,
            "product": self.product.value,
            "order_type": self.order_type.value,
            "tradingsymbol": self.tradingsymbol,
            "transaction_type": self.transaction_type.value if self.transaction_type else None,
            "quantity": self.quantity,
            "max_quantity": self.max_quantity,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OrderTemplate:
        side = data.get("transaction_type")
        return cls(
            exchange=Exchange(data["exchange"]),
            product=Product(data["product"]),
            order_type=OrderType(data["order_type"]),
            tradingsymbol=data.get("tradingsymbol"),
            transaction_type=TransactionType(side) if side else None,
            quantity=data.get("quantity"),
            max_quantity=data.get("max_quantity"),
        )

    def order_terms(self, alert: Alert) -> dict[str, Any]:
        """Return the order's terms for one alert, or raise ``ValidationError`` saying why not."""
        return {
            "exchange": self.exchange,
            "tradingsymbol": self._symbol(alert),
            "transaction_type": self._side(alert),
            "quantity": self._quantity(alert),
            "product": self.product,
            "order_type": self.order_type,
            "price": self._price(alert),
        }

    def _symbol(self, alert: Alert) -> str:
        if self.tradingsymbol is None:
            if alert.tradingsymbol is None:
                raise ValidationError("the alert names no symbol (ticker)", field="ticker")
            return alert.tradingsymbol
        if alert.tradingsymbol not in (None, self.tradingsymbol):
            raise ValidationError(
                f"this token trades {self.tradingsymbol} only, the alert names"
                f" {alert.tradingsymbol}",
                field="ticker",
            )
        return self.tradingsymbol

    def _side(self, alert: Alert) -> TransactionType:
        if self.transaction_type is None:
            if alert.action is None:
                raise ValidationError('the alert says neither "buy" nor "sell"', field="action")
            return alert.action
        if alert.action not in (None, self.transaction_type):
            raise ValidationError(
                f"this token places {self.transaction_type.value} orders only",
                field="action",
            )
        return self.transaction_type

    def _quantity(self, alert: Alert) -> int:
        if self.quantity is not None:
            return self.quantity  # the template's fixed size wins over the alert's
        if alert.quantity is None:
            raise ValidationError("the alert gives no quantity", field="quantity")
        assert self.max_quantity is not None  # checked when the template was made
        if alert.quantity > self.max_quantity:
            raise ValidationError(
                f"the alert's quantity {alert.quantity} exceeds this token's maximum"
                f" {self.max_quantity}",
                field="quantity",
                details={"limit": self.max_quantity, "value": alert.quantity},
            )
        return alert.quantity

    def _price(self, alert: Alert) -> Decimal | None:
        if self.order_type is not OrderType.LIMIT:
            return None
        if alert.price is None:
            raise ValidationError(
                "a LIMIT template takes the alert's price: none given", field="price"
            )
        return alert.price


@dataclass(frozen=True, slots=True)
class SignalToken:
    """One strategy's signal token (never the secret itself: only its hash is stored)."""

    token_id: SignalTokenId
    strategy_id: StrategyId
    account_id: AccountId
    user_id: UserId  # who created it: its alerts trade with that user's access
    template: OrderTemplate
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def idempotency_key(self, alert: Alert, tradingsymbol: str) -> ClientOrderId:
        """The order's key: this token's, the alert's id and the symbol, hashed to fit."""
        identity = f"{self.token_id}\x1f{alert.alert_id}\x1f{tradingsymbol}"
        return ClientOrderId("sig-" + hashlib.sha256(identity.encode()).hexdigest()[:40])
