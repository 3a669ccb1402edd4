"""Bodies of the risk limits routes."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field

from order_service.domain.order import MAX_QUANTITY
from order_service.domain.risk import RiskLimits
from order_service.domain.values import Exchange, Product
from order_service.entrypoints.api.decimals import WHOLE_NUMBER, NonNegativeDecimal, PositiveDecimal
from order_service.entrypoints.api.schemas import StrictModel
from order_service.services.risk_limits import ScopedLimits

Amount = NonNegativeDecimal
Positive = PositiveDecimal
Count = Annotated[int, Field(strict=True, ge=0, le=MAX_QUANTITY), WHOLE_NUMBER]
# Kite's names of exchanges and products (an unknown one is refused by the schema itself).
Exchanges = Annotated[list[Exchange], Field(max_length=16)]
Products = Annotated[list[Product], Field(max_length=16)]


class RiskLimitsIn(StrictModel):
    """Every limit of the scope (one left out or null is unset: the next scope's applies)."""

    max_order_value: Amount | None = None
    max_quantity: Count | None = None
    max_open_orders: Count | None = None
    max_orders_per_day: Count | None = None
    allowed_exchanges: Exchanges | None = None
    allowed_products: Products | None = None
    max_gross_exposure: Positive | None = None
    max_daily_loss: Positive | None = None

    def limits(self) -> RiskLimits:
        exchanges, products = self.allowed_exchanges, self.allowed_products
        return RiskLimits.create(
            max_order_value=self.max_order_value,
            max_quantity=self.max_quantity,
            max_open_orders=self.max_open_orders,
            max_orders_per_day=self.max_orders_per_day,
            allowed_exchanges=_names(exchanges),
            allowed_products=_names(products),
            max_gross_exposure=self.max_gross_exposure,
            max_daily_loss=self.max_daily_loss,
        )


class RiskLimitsOut(BaseModel):
    scope: str
    scope_id: str
    account_id: str
    max_order_value: Decimal | None
    max_quantity: int | None
    max_open_orders: int | None
    max_orders_per_day: int | None
    allowed_exchanges: list[str] | None
    allowed_products: list[str] | None
    max_gross_exposure: Decimal | None
    max_daily_loss: Decimal | None

    @classmethod
    def of(cls, scoped: ScopedLimits) -> RiskLimitsOut:
        limits = scoped.limits
        return cls(
            scope=scoped.scope.value,
            scope_id=scoped.scope_id,
            account_id=scoped.account_id,
            max_order_value=limits.max_order_value,
            max_quantity=limits.max_quantity,
            max_open_orders=limits.max_open_orders,
            max_orders_per_day=limits.max_orders_per_day,
            allowed_exchanges=_sorted(limits.allowed_exchanges),
            allowed_products=_sorted(limits.allowed_products),
            max_gross_exposure=limits.max_gross_exposure,
            max_daily_loss=limits.max_daily_loss,
        )


def _sorted(names: frozenset[str] | None) -> list[str] | None:
    return sorted(names) if names is not None else None


def _names(members: list[Exchange] | list[Product] | None) -> frozenset[str] | None:
    return frozenset(member.value for member in members) if members is not None else None
