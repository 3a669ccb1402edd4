"""Bodies of the preview routes: orders in our placement's terms, Kite's answers as exact
decimals (rupees) under Kite's own field names."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StrictBool

from order_service.domain.ids import AccountId
from order_service.domain.order import OrderRequest
from order_service.domain.previews import (
    MAX_PREVIEW_ORDERS,
    BasketMargins,
    ContractNoteLine,
    PricedOrder,
)
from order_service.entrypoints.api.decimals import PositiveDecimal
from order_service.entrypoints.api.schemas import Identifier, OrderTerms, StrictModel

_EXAMPLE_ORDER: dict[str, JsonValue] = {
    "exchange": "NSE",
    "tradingsymbol": "INFY",
    "transaction_type": "BUY",
    "quantity": 10,
    "product": "MIS",
    "order_type": "LIMIT",
    "price": "1500.00",
}


class MarginsIn(StrictModel):
    """Orders to price, each as it would be placed (without placing it) on one account."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"account_id": "PAPER1", "orders": [_EXAMPLE_ORDER]}]},
    )

    account_id: Identifier
    orders: Annotated[list[OrderTerms], Field(min_length=1, max_length=MAX_PREVIEW_ORDERS)]

    def requests(self) -> list[OrderRequest]:
        return [order.to_request(AccountId(self.account_id)) for order in self.orders]


class BasketMarginsIn(MarginsIn):
    consider_positions: StrictBool = Field(
        default=True, description="count the hedges with the account's open positions too"
    )


class PricedOrderIn(OrderTerms):
    average_price: PositiveDecimal = Field(description="the price it would execute at")


class ChargesIn(StrictModel):
    """Orders to cost as if executed at ``average_price`` (Kite's virtual contract note)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"account_id": "PAPER1", "orders": [{**_EXAMPLE_ORDER, "average_price": "1500.00"}]}
            ]
        },
    )

    account_id: Identifier
    orders: Annotated[list[PricedOrderIn], Field(min_length=1, max_length=MAX_PREVIEW_ORDERS)]

    def priced(self) -> list[PricedOrder]:
        account_id = AccountId(self.account_id)
        return [PricedOrder(o.to_request(account_id), o.average_price) for o in self.orders]


class _FromDomain(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class GstOut(_FromDomain):
    igst: Decimal
    cgst: Decimal
    sgst: Decimal
    total: Decimal


class ChargesOut(_FromDomain):
    transaction_tax: Decimal
    transaction_tax_type: str = Field(description="stt or ctt")
    exchange_turnover_charge: Decimal
    sebi_turnover_charge: Decimal
    brokerage: Decimal
    stamp_duty: Decimal
    gst: GstOut
    total: Decimal


class MarginOut(_FromDomain):
    type: str = Field(description="equity or commodity")
    exchange: str
    tradingsymbol: str
    span: Decimal
    exposure: Decimal
    option_premium: Decimal
    additional: Decimal
    bo: Decimal
    cash: Decimal
    var: Decimal
    pnl_realised: Decimal
    pnl_unrealised: Decimal
    leverage: Decimal
    charges: ChargesOut | None
    total: Decimal = Field(description="what the order blocks, in rupees")


class OrderMarginsOut(BaseModel):
    account_id: str
    orders: list[MarginOut]
    total: Decimal = Field(description="the orders' margins added up, each on its own")


class BasketMarginsOut(BaseModel):
    account_id: str
    initial: MarginOut = Field(description="the orders' margins one by one, added up")
    final: MarginOut = Field(description="what the basket blocks, with its hedges")
    hedge_benefit: Decimal = Field(description="initial total less final total")
    orders: list[MarginOut]
    charges: ChargesOut | None

    @classmethod
    def of(cls, account_id: str, basket: BasketMargins) -> BasketMarginsOut:
        return cls(
            account_id=account_id,
            initial=MarginOut.model_validate(basket.initial),
            final=MarginOut.model_validate(basket.final),
            hedge_benefit=basket.hedge_benefit,
            orders=[MarginOut.model_validate(order) for order in basket.orders],
            charges=ChargesOut.model_validate(basket.charges) if basket.charges else None,
        )


class ContractNoteLineOut(_FromDomain):
    exchange: str
    tradingsymbol: str
    transaction_type: str
    variety: str
    product: str
    order_type: str
    quantity: int
    price: Decimal
    charges: ChargesOut


class ContractNoteOut(BaseModel):
    account_id: str
    orders: list[ContractNoteLineOut]
    total: Decimal = Field(description="every order's charges added up, in rupees")

    @classmethod
    def of(cls, account_id: str, lines: list[ContractNoteLine]) -> ContractNoteOut:
        return cls(
            account_id=account_id,
            orders=[ContractNoteLineOut.model_validate(line) for line in lines],
            total=sum((line.charges.total for line in lines), Decimal(0)),
        )
