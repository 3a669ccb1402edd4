"""Signal tokens and the answer to an alert."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from order_service.domain.signal import OrderTemplate, SignalToken
from order_service.domain.values import Exchange, OrderType, Product, TransactionType
from order_service.entrypoints.api.decimals import WHOLE_NUMBER
from order_service.entrypoints.api.schemas import OrderOut, StrictModel

MAX_TEMPLATE_QUANTITY = 1_000_000
TemplateQuantity = Annotated[int, Field(strict=True, ge=1, le=MAX_TEMPLATE_QUANTITY), WHOLE_NUMBER]
Symbol = Annotated[
    str, StringConstraints(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9&_\-]+$")
]


class SignalTokenIn(StrictModel):
    """The order every alert of the token places; the alert fills in only what is left open."""

    exchange: Exchange = Field(examples=["NSE"])
    tradingsymbol: Symbol | None = Field(
        default=None, description="fixed symbol; omitted: each alert names its ticker"
    )
    transaction_type: TransactionType | None = Field(
        default=None, description='fixed side; omitted: each alert says "buy" or "sell"'
    )
    product: Product = Field(examples=["MIS"])
    order_type: Literal["MARKET", "LIMIT"] = Field(
        default="MARKET", description="LIMIT orders are placed at the alert's price"
    )
    quantity: TemplateQuantity | None = Field(
        default=None, description="fixed quantity; or give max_quantity to take the alert's"
    )
    max_quantity: TemplateQuantity | None = Field(
        default=None, description="the most an alert's own quantity may be"
    )

    def to_template(self) -> OrderTemplate:
        return OrderTemplate.create(
            exchange=self.exchange,
            product=self.product,
            order_type=OrderType(self.order_type),
            tradingsymbol=self.tradingsymbol.upper() if self.tradingsymbol else None,
            transaction_type=self.transaction_type,
            quantity=self.quantity,
            max_quantity=self.max_quantity,
        )


class SignalTokenOut(BaseModel):
    """One signal token of a strategy; the secret is shown only when it is created."""

    token_id: str
    strategy_id: str
    account_id: str
    created_at: datetime
    revoked_at: datetime | None
    template: dict[str, str | int | None]

    @classmethod
    def of(cls, token: SignalToken) -> SignalTokenOut:
        return cls(
            token_id=token.token_id,
            strategy_id=token.strategy_id,
            account_id=token.account_id,
            created_at=token.created_at,
            revoked_at=token.revoked_at,
            template=token.template.as_dict(),
        )


class SignalTokenCreated(SignalTokenOut):
    token: str = Field(description="the token: shown this once, only its hash is stored")
    url: str = Field(description="the path alerts are posted to")


class SignalOut(BaseModel):
    """What an alert placed: one order per symbol, ``repeat`` for one placed before."""

    source: str = Field(description='"alert" (TradingView, Amibroker) or "chartink"')
    orders: list[OrderOut]
    repeats: list[bool]
