"""What an order would block and cost before it is sent: the broker's margin calculators and
its virtual contract note, as exact values.

The orders asked about are ``OrderRequest``s, checked by our own rules first, so nothing goes
to the broker's calculators that a placement of the same order would not send. The answers
are Kite's (``/margins/orders``, ``/margins/basket``, ``/charges/orders``), every amount a
finite ``Decimal``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from order_service.domain.order import OrderRequest

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
