"""Request and response bodies (Pydantic v2); field names are Kite's."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_core import ValidationError as PydanticValidationError

from order_service.config import Settings
from order_service.domain.account import Account
from order_service.domain.events import OrderEvent
from order_service.domain.ids import AccountId, StrategyId
from order_service.domain.order import MAX_MODIFICATIONS, MAX_QUANTITY, Order, OrderRequest
from order_service.domain.status import OrderStatus
from order_service.domain.values import (
    Exchange,
    OrderType,
    Product,
    TransactionType,
    Validity,
    Variety,
)
from order_service.entrypoints.api.decimals import WHOLE_NUMBER, MarketProtection, PositiveDecimal

Symbol = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9&_\-.]+$")
]
Key = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-:.]+$")]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64)]
# Every quantity an order row holds stays below this, far inside the 32-bit columns storing them.
MAX_MULTIPLIER = 1000
PriceIn = PositiveDecimal
Quantity = Annotated[int, Field(strict=True, gt=0, le=MAX_QUANTITY), WHOLE_NUMBER]
DisclosedQuantity = Annotated[int, Field(strict=True, ge=0, le=MAX_QUANTITY), WHOLE_NUMBER]
AuctionNumber = Annotated[str, StringConstraints(min_length=1, max_length=16, pattern=r"^[0-9]+$")]
# Kite's rule for a tag: alphanumeric, at most 20 characters.
Tag = Annotated[str, StringConstraints(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9]+$")]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrderTerms(StrictModel):
    """What to trade, in Kite's terms; shared by single orders and baskets."""

    strategy_id: Identifier | None = None
    variety: Variety = Variety.REGULAR
    exchange: Exchange
    tradingsymbol: Symbol
    transaction_type: TransactionType
    quantity: Quantity
    product: Product
    order_type: OrderType
    price: PriceIn | None = None
    trigger_price: PriceIn | None = None
    validity: Validity = Validity.DAY
    validity_ttl: Annotated[int, Field(strict=True, gt=0, le=1440), WHOLE_NUMBER] | None = None
    disclosed_quantity: DisclosedQuantity | None = None
    market_protection: MarketProtection | None = None
    tag: Tag | None = None
    # Over the freeze quantity: sent with Kite's autoslice, each slice recorded as an order.
    autoslice: StrictBool = False
    auction_number: AuctionNumber | None = Field(
        default=None,
        description="the auction to bid in (variety `auction` only), as Kite's auction "
        "instruments list it",
    )

    def to_request(self, account_id: AccountId) -> OrderRequest:
        """Build the domain request (which checks what the schema cannot) for one account."""
        fields = self.model_dump(include=set(OrderTerms.model_fields))
        strategy = fields.pop("strategy_id")
        fields["tradingsymbol"] = fields["tradingsymbol"].upper()
        return OrderRequest.create(
            account_id=account_id,
            strategy_id=StrategyId(strategy) if strategy else None,
            **fields,
        )


class OrderIn(OrderTerms):
    """A new order; ``client_order_id`` (or the ``Idempotency-Key`` header) makes it idempotent."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "account_id": "PAPER1",
                    "exchange": "NSE",
                    "tradingsymbol": "INFY",
                    "transaction_type": "BUY",
                    "quantity": 1,
                    "product": "CNC",
                    "order_type": "LIMIT",
                    "price": "1450.00",
                    "client_order_id": "infy-dip-buy-1",
                },
                {
                    "account_id": "PAPER1",
                    "exchange": "NSE",
                    "tradingsymbol": "INFY",
                    "transaction_type": "SELL",
                    "quantity": 1,
                    "product": "MIS",
                    "order_type": "SL",
                    "price": "1440.00",
                    "trigger_price": "1442.00",
                },
            ]
        },
    )

    account_id: Identifier
    client_order_id: Key | None = None
    force: StrictBool = False  # a person stepping into a scope under script control


class BasketLegIn(StrictModel):
    account_id: Identifier
    multiplier: Annotated[int, Field(strict=True, ge=1, le=MAX_MULTIPLIER), WHOLE_NUMBER] = 1


class BasketIn(StrictModel):
    """One order for several accounts; ``basket_id`` or ``Idempotency-Key`` makes it repeatable."""

    basket_id: (
        Annotated[
            str, StringConstraints(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_\-.]+$")
        ]
        | None
    ) = None
    order: OrderTerms
    legs: Annotated[list[BasketLegIn], Field(min_length=1, max_length=50)]

    @model_validator(mode="after")
    def _legs_fit(self) -> Self:
        """Refuse a leg whose quantity (order quantity x multiplier) no order may have."""
        problems = [
            InitErrorDetails(
                type=PydanticCustomError(
                    "leg_quantity",
                    "leg {leg} ({account}): quantity {quantity} x multiplier {multiplier} "
                    "is over {limit}",
                    {
                        "leg": index,
                        "account": leg.account_id,
                        "quantity": self.order.quantity,
                        "multiplier": leg.multiplier,
                        "limit": MAX_QUANTITY,
                    },
                ),
                loc=("legs", index, "multiplier"),
                input=leg.multiplier,
            )
            for index, leg in enumerate(self.legs)
            if self.order.quantity * leg.multiplier > MAX_QUANTITY
        ]
        if problems:
            raise PydanticValidationError.from_exception_data(type(self).__name__, problems)
        return self


class BasketLegOut(BaseModel):
    account_id: str
    outcome: Outcome
    http_status: int
    order: OrderOut | None = None
    error: ErrorInfo | None = None


Outcome = Literal["placed", "repeated", "unknown", "error"]


def placed_outcome(order: Order, created: bool) -> tuple[Outcome, int]:
    """A placement's outcome among several, and the status it alone would have been given."""
    if order.status is OrderStatus.UNKNOWN:
        return "unknown", 202
    return ("placed", 201) if created else ("repeated", 200)


def outcome_counts(outcomes: list[Outcome]) -> dict[str, int]:
    """How many of each outcome: the counts a basket's or a close's answer begins with."""
    return {
        "placed": outcomes.count("placed"),
        "repeated": outcomes.count("repeated"),
        "unknown": outcomes.count("unknown"),
        "failed": outcomes.count("error"),
    }


class BasketOut(BaseModel):
    placed: int = Field(description="legs placed by this request")
    repeated: int = Field(description="legs an earlier request with the same key had placed")
    unknown: int = Field(description="legs sent whose outcome is not known yet (`UNKNOWN`)")
    failed: int = Field(description="legs refused, each with its error")
    legs: list[BasketLegOut]

    @classmethod
    def of(cls, legs: list[BasketLegOut]) -> BasketOut:
        return cls(**outcome_counts([leg.outcome for leg in legs]), legs=legs)


class OrderPatch(StrictModel):
    """A modification: only the fields given change."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"price": "1455.00"}, {"quantity": 2}]}
    )

    quantity: Quantity | None = None
    price: PriceIn | None = None
    trigger_price: PriceIn | None = None
    order_type: OrderType | None = None
    validity: Validity | None = None
    disclosed_quantity: DisclosedQuantity | None = None
    force: StrictBool = False  # a person stepping into a scope under script control


class OrderOut(BaseModel):
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
    market_protection: Decimal | None = Field(
        description="the protection sent to the broker: a MARKET or SL-M order without one is "
        "sent -1 (Kite's automatic protection)"
    )
    auction_number: str | None
    filled_quantity: int
    average_price: Decimal | None
    modification_count: int
    tag: str | None = Field(
        description="the caller's tag, kept on our order (an external order: its own tag)"
    )
    broker_tag: str | None = Field(
        description="the tag sent to the broker, derived from order_id (none if external)"
    )
    source: str = Field(
        description='"api" if placed through the service, "external" if found at the broker'
    )
    origin: str = Field(
        description='"manual" if a person placed it (their key or token, or the broker\'s app),'
        ' "script" if a key bound to its strategy did'
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, order: Order) -> Self:
        request = order.request
        return cls(
            order_id=order.order_id,
            client_order_id=order.client_order_id,
            account_id=order.account_id,
            strategy_id=order.strategy_id,
            broker_order_id=order.broker_order_id,
            exchange_order_id=order.exchange_order_id,
            status=order.status.value,
            broker_status=order.broker_status,
            status_message=order.status_message,
            variety=request.variety.value,
            exchange=request.exchange.value,
            tradingsymbol=request.tradingsymbol,
            transaction_type=request.transaction_type.value,
            order_type=request.order_type.value,
            product=request.product.value,
            validity=request.validity.value,
            validity_ttl=request.validity_ttl,
            quantity=request.quantity,
            price=request.price,
            trigger_price=request.trigger_price,
            disclosed_quantity=request.disclosed_quantity,
            market_protection=request.market_protection_to_send,
            auction_number=request.auction_number,
            filled_quantity=order.filled_quantity,
            average_price=order.average_price,
            modification_count=order.modification_count,
            tag=request.tag,
            broker_tag=order.tag,
            source=order.source.value,
            origin=order.origin.value,
            created_at=order.created_at,
            updated_at=order.updated_at,
        )


class PlacedOrderOut(OrderOut):
    slices: list[OrderOut] = Field(
        default_factory=list,
        description="an autoslice placement's orders, one per slice, the first being this one",
    )


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None


class OrderEventOut(BaseModel):
    sequence: int | None
    order_id: str
    name: str
    status_before: str | None
    status_after: str
    occurred_at: datetime
    data: dict[str, Any]

    @classmethod
    def of(cls, event: OrderEvent) -> OrderEventOut:
        return cls(
            sequence=event.sequence,
            order_id=event.order_id,
            name=event.name,
            status_before=event.status_before.value if event.status_before else None,
            status_after=event.status_after.value,
            occurred_at=event.occurred_at,
            data=event.data,
        )


class AccountIn(StrictModel):
    account_id: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2,16}$")]
    api_key: Identifier
    api_secret: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    name: Annotated[str, StringConstraints(max_length=100)] = ""


class GrantIn(StrictModel):
    user_id: Identifier


class LoginOut(BaseModel):
    """What the login callback tells an API client: which account is logged in, until when."""

    account_id: str
    session_state: str
    token_expires_at: datetime | None = Field(
        description="when the Kite session ends (06:00 IST the next morning)"
    )

    @classmethod
    def of(cls, account: Account) -> LoginOut:
        return cls(
            account_id=account.account_id,
            session_state=account.session_state.value,
            token_expires_at=account.token_expires_at,
        )


class LoginLinkOut(BaseModel):
    """A one-time link to the broker's login page, bound to the caller and the account."""

    login_url: str = Field(description="open it in a browser; it works once")
    expires_at: datetime


class AccountLimits(BaseModel):
    """What the service lets through to the broker for this account (Kite's limits)."""

    orders_per_second: int
    orders_per_minute: int
    orders_per_day: int
    other_requests_per_second: int
    quotes_per_second: int
    modifications_per_order: int = MAX_MODIFICATIONS

    @classmethod
    def of(cls, settings: Settings) -> AccountLimits:
        return cls(
            orders_per_second=settings.rate_orders_per_second,
            orders_per_minute=settings.rate_orders_per_minute,
            orders_per_day=settings.rate_orders_per_day,
            other_requests_per_second=settings.rate_other_per_second,
            quotes_per_second=settings.rate_quotes_per_second,
        )


class AccountOut(BaseModel):
    """An account as callers see it: never its secrets."""

    account_id: str
    name: str
    api_key: str
    session_state: str
    token_expires_at: datetime | None
    created_at: datetime
    limits: AccountLimits

    @classmethod
    def of(cls, account: Account, settings: Settings) -> AccountOut:
        return cls(
            account_id=account.account_id,
            name=account.name,
            api_key=account.api_key,
            session_state=account.session_state.value,
            token_expires_at=account.token_expires_at,
            created_at=account.created_at,
            limits=AccountLimits.of(settings),
        )


class SegmentMarginsOut(BaseModel):
    """Funds of one segment, in rupees as exact decimals (Kite's field names)."""

    model_config = ConfigDict(from_attributes=True)  # read straight from the domain value

    segment: str
    enabled: bool
    net: Decimal
    available: dict[str, Decimal]
    utilised: dict[str, Decimal]


class ErrorInfo(BaseModel):
    code: str
    message: str
    details: dict[str, Any]
    retryable: bool


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any]
    retryable: bool
    request_id: str


class ErrorBody(BaseModel):
    error: ErrorDetail
