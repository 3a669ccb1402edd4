"""What an order would block and cost before it is sent: the broker's margin calculators and
its virtual contract note, as exact values.

The orders asked about are ``OrderRequest``s, checked by our own order rules and the instrument
master first; the risk limits, the kill switch and control modes are not asked (nothing is
placed), so an answer says what an order would block, not that it would be accepted. Kite's
calculators take JSON numbers: a price no JSON number holds exactly is refused before sending.
The answers are Kite's (``/margins/orders``, ``/margins/basket``, ``/charges/orders``), every
amount a finite ``Decimal``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from order_service.domain.order import OrderRequest
from order_service.errors import ValidationError

# More orders than a basket of one strategy would hold: a mistake, and Kite's calculators
# answer slowly for long lists.
MAX_PREVIEW_ORDERS = 50


@dataclass(frozen=True, slots=True)
class Gst:
    igst: Decimal
    cgst: Decimal
    sgst: Decimal
    total: Decimal


@dataclass(frozen=True, slots=True)
class ChargeBreakdown:
    """Kite's ``charges`` object: an order's statutory charges and brokerage, in rupees."""

    transaction_tax: Decimal
    transaction_tax_type: str  # "stt" or "ctt"
    exchange_turnover_charge: Decimal
    sebi_turnover_charge: Decimal
    brokerage: Decimal
    stamp_duty: Decimal
    gst: Gst
    total: Decimal


@dataclass(frozen=True, slots=True)
class Margin:
    """Kite's margin object: what one order (or a basket's ``initial``/``final``) blocks."""

    type: str  # "equity" or "commodity"
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
    charges: ChargeBreakdown | None
    total: Decimal


@dataclass(frozen=True, slots=True)
class BasketMargins:
    """The basket calculator's answer: the orders' margins one by one (``initial``), together
    with the hedges between them and the account's positions (``final``), and each order's."""

    initial: Margin
    final: Margin
    orders: tuple[Margin, ...]
    charges: ChargeBreakdown | None

    @property
    def hedge_benefit(self) -> Decimal:
        """What the basket blocks less than its orders one by one."""
        return self.initial.total - self.final.total


@dataclass(frozen=True, slots=True)
class PricedOrder:
    """An order asked about as if executed: its terms and the average price it filled at."""

    request: OrderRequest
    average_price: Decimal


@dataclass(frozen=True, slots=True)
class ContractNoteLine:
    """One order of the virtual contract note: what it is and what it costs."""

    exchange: str
    tradingsymbol: str
    transaction_type: str
    variety: str
    product: str
    order_type: str
    quantity: int
    price: Decimal
    charges: ChargeBreakdown


def check_sendable(orders: Sequence[OrderRequest], prices: Sequence[Decimal] = ()) -> None:
    """Refuse a price that the JSON number Kite's calculators take cannot hold exactly (more
    significant digits than a float keeps): the broker would price another order."""
    named = [("price", r.price) for r in orders] + [
        ("trigger_price", r.trigger_price) for r in orders
    ]
    for field, value in [*named, *(("average_price", price) for price in prices)]:
        if value is not None and not _exact_as_json(value):
            raise ValidationError(
                f"{field} {value} has more digits than the broker's calculators take",
                field=field,
                details={"value": str(value)},
            )


def _exact_as_json(value: Decimal) -> bool:
    return value == value.to_integral_value() or Decimal(repr(float(value))) == value
