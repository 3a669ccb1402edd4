"""Position actions' request and response bodies: closing positions."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from order_service.domain.ids import AccountId, StrategyId
from order_service.domain.order import AUTOMATIC_MARKET_PROTECTION
from order_service.domain.values import Exchange, Product
from order_service.entrypoints.api.decimals import MarketProtection
from order_service.entrypoints.api.schemas import (
    ErrorInfo,
    Identifier,
    OrderOut,
    Outcome,
    PriceIn,
    StrictModel,
    Symbol,
    outcome_counts,
    placed_outcome,
)
from order_service.services.position_close import Close, CloseScope, CloseTerms


class CloseIn(StrictModel):
    """The positions to close (an account's, narrowed by any of strategy, instrument and
    product) and how: protected MARKET orders, or LIMIT at ``price`` for one instrument."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"account_id": "PAPER1", "exchange": "NSE", "tradingsymbol": "INFY"},
                {"account_id": "PAPER1", "product": "MIS"},
                {
                    "account_id": "PAPER1",
                    "exchange": "NSE",
                    "tradingsymbol": "INFY",
                    "order_type": "LIMIT",
                    "price": "1500.00",
                },
            ]
        },
    )

    account_id: Identifier
    strategy_id: Identifier | None = None
    exchange: Exchange | None = None
    tradingsymbol: Symbol | None = None
    product: Product | None = None
    order_type: Literal["MARKET", "LIMIT"] = "MARKET"
    price: PriceIn | None = None
    market_protection: MarketProtection | None = None
    force: StrictBool = False  # a person closing a scope under script control

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.exchange is None) != (self.tradingsymbol is None):
            raise ValueError("name an instrument with both exchange and tradingsymbol")
        if (self.order_type == "LIMIT") != (self.price is not None):
            raise ValueError("a LIMIT close takes a price, a MARKET close none")
        if self.order_type == "LIMIT" and self.market_protection is not None:
            raise ValueError("market_protection is for a MARKET close")
        return self

    def scope(self) -> CloseScope:
        return CloseScope(
            account_id=AccountId(self.account_id),
            strategy_id=StrategyId(self.strategy_id) if self.strategy_id else None,
            exchange=self.exchange.value if self.exchange is not None else None,
            tradingsymbol=self.tradingsymbol.upper() if self.tradingsymbol else None,
            product=self.product,
        )

    def terms(self) -> CloseTerms:
        protection = self.market_protection
        return CloseTerms(
            price=self.price,
            market_protection=(
                protection if protection is not None else Decimal(AUTOMATIC_MARKET_PROTECTION)
            ),
            force=self.force,
        )


class CloseLineOut(BaseModel):
    """One open position of the scope and its close (or the error that stopped it)."""

    account_id: str
    strategy_id: str | None
    exchange: str
    tradingsymbol: str
    product: str
    net_quantity: int = Field(description="the position's net quantity when it was found")
    outcome: Outcome
    http_status: int
    order: OrderOut | None = None
    slices: list[OrderOut] = Field(
        default_factory=list, description="every slice's order, when the close was sliced"
    )
    error: ErrorInfo | None = None

    @classmethod
    def of(cls, close: Close, error_status: int | None) -> CloseLineOut:
        line = {
            "account_id": close.account_id,
            "strategy_id": close.strategy_id,
            "exchange": close.exchange,
            "tradingsymbol": close.tradingsymbol,
            "product": close.product,
            "net_quantity": close.net_quantity,
        }
        if close.error is not None:
            info = ErrorInfo(**close.error.to_dict())
            return cls(**line, outcome="error", http_status=error_status or 500, error=info)
        assert close.placement is not None
        placement = close.placement
        outcome, status = placed_outcome(placement.order, placement.created)
        return cls(
            **line,
            outcome=outcome,
            http_status=status,
            order=OrderOut.of(placement.order),
            slices=[OrderOut.of(order) for order in placement.slices],
        )


class CloseOut(BaseModel):
    placed: int = Field(description="closes placed by this request")
    repeated: int = Field(description="closes an earlier request with the same key had placed")
    unknown: int = Field(description="closes sent whose outcome is not known yet (`UNKNOWN`)")
    failed: int = Field(description="positions not closed, each with its error")
    closes: list[CloseLineOut]

    @classmethod
    def of(cls, closes: list[CloseLineOut]) -> CloseOut:
        return cls(**outcome_counts([close.outcome for close in closes]), closes=closes)
