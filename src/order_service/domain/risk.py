"""Pre-trade rules: each a named check that refuses an order before anything is sent.

Every rule is a function of the order's terms and what is known of its instrument, its quote
and its account's limits; a refusal is ``RiskCheckFailed`` naming the rule, the limit and the
order's figure (DESIGN.md section 5). What a rule cannot know (no instrument master loaded, no
quote to be had) it leaves to the broker, which checks the same at the exchange.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any, NoReturn

from order_service.domain.instrument import MAX_SLICES, Instrument
from order_service.domain.order import OrderRequest
from order_service.domain.reports import QuoteReport
from order_service.domain.values import Exchange, OrderType, Product
from order_service.errors import RiskCheckFailed, ValidationError

HUNDRED = Decimal(100)


class RiskScope(StrEnum):
    """Whose limits: an account's, or one strategy's inside its account."""

    ACCOUNT = "account"
    STRATEGY = "strategy"


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """Limits of one scope; None is "not set here" (the next scope's, or configuration's)."""

    max_order_value: Decimal | None = None
    max_quantity: int | None = None
    max_open_orders: int | None = None
    max_orders_per_day: int | None = None
    allowed_exchanges: frozenset[str] | None = None
    allowed_products: frozenset[str] | None = None
    max_gross_exposure: Decimal | None = None
    max_daily_loss: Decimal | None = None

    def over(self, fallback: RiskLimits) -> RiskLimits:
        """These limits, each unset one taken from ``fallback``."""
        taken = {
            f.name: getattr(fallback, f.name) for f in fields(self) if getattr(self, f.name) is None
        }
        return replace(self, **taken)

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe: Decimals as exact text, sets as sorted lists, unset limits as None."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def create(
        cls,
        *,
        max_order_value: Decimal | None = None,
        max_quantity: int | None = None,
        max_open_orders: int | None = None,
        max_orders_per_day: int | None = None,
        allowed_exchanges: frozenset[str] | None = None,
        allowed_products: frozenset[str] | None = None,
        max_gross_exposure: Decimal | None = None,
        max_daily_loss: Decimal | None = None,
    ) -> RiskLimits:
        """New limits, checked: finite and not negative (the book limits above zero),
        exchanges and products Kite knows."""
        if max_order_value is not None and not (
            max_order_value.is_finite() and max_order_value >= 0
        ):
            raise ValidationError(
                "max_order_value must be a finite amount, not negative", field="max_order_value"
            )
        amounts = {"max_gross_exposure": max_gross_exposure, "max_daily_loss": max_daily_loss}
        for name, amount in amounts.items():
            if amount is not None and not (amount.is_finite() and amount > 0):
                raise ValidationError(f"{name} must be a finite amount above zero", field=name)
        counts = {
            "max_quantity": max_quantity,
            "max_open_orders": max_open_orders,
            "max_orders_per_day": max_orders_per_day,
        }
        for name, count in counts.items():
            if count is not None and count < 0:
                raise ValidationError(f"{name} must not be negative", field=name)
        _known("allowed_exchanges", allowed_exchanges, _EXCHANGES)
        _known("allowed_products", allowed_products, _PRODUCTS)
        return cls(max_order_value, max_quantity, max_open_orders, max_orders_per_day,
                   allowed_exchanges, allowed_products, max_gross_exposure,
                   max_daily_loss)  # fmt: skip

    @classmethod
    def from_stored(cls, data: dict[str, Any]) -> RiskLimits:
        """Limits as ``as_dict`` wrote them (stored rows are not checked again)."""
        exchanges, products = data.get("allowed_exchanges"), data.get("allowed_products")
        return cls(
            max_order_value=_amount(data.get("max_order_value")),
            max_quantity=data.get("max_quantity"),
            max_open_orders=data.get("max_open_orders"),
            max_orders_per_day=data.get("max_orders_per_day"),
            allowed_exchanges=frozenset(exchanges) if exchanges is not None else None,
            allowed_products=frozenset(products) if products is not None else None,
            max_gross_exposure=_amount(data.get("max_gross_exposure")),
            max_daily_loss=_amount(data.get("max_daily_loss")),
        )

    @property
    def watches_book(self) -> bool:
        """Whether a limit on the scope's positions and P&L is set (they cost reads)."""
        return self.max_gross_exposure is not None or self.max_daily_loss is not None


NO_LIMITS = RiskLimits()
_EXCHANGES = frozenset(e.value for e in Exchange)
_PRODUCTS = frozenset(p.value for p in Product)


def _known(name: str, given: frozenset[str] | None, known: frozenset[str]) -> None:
    unknown = sorted(given - known) if given is not None else []
    if unknown:
        raise ValidationError(
            f"{name} names what Kite does not know: {', '.join(unknown)}",
            field=name,
            details={"unknown": unknown, "known": sorted(known)},
        )


def _amount(stored: str | None) -> Decimal | None:
    return Decimal(stored) if stored is not None else None


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, frozenset):
        return sorted(value)
    return value


@dataclass(frozen=True, slots=True)
class OrderTerms:
    """What the rules look at: a new order's terms, or a working order's after a modification."""

    request: OrderRequest
    instrument: Instrument | None
    quote: QuoteReport | None

    @property
    def reference_price(self) -> Decimal | None:
        """The price the order's value is reckoned at: its own, else the last traded."""
        request = self.request
        own = request.price if request.order_type.needs_price else request.trigger_price
        if own is not None:
            return own
        return self.quote.last_price if self.quote is not None else None


def check_lot_size(terms: OrderTerms) -> None:
    """A quantity that is not a whole number of lots is refused by the exchange."""
    item, quantity = terms.instrument, terms.request.quantity
    if item is not None and item.lot_size > 1 and not item.is_whole_lots(quantity):
        raise RiskCheckFailed(
            "lot_size",
            item.lot_size,
            quantity,
            f"quantity {quantity} is not a multiple of the lot size {item.lot_size}",
        )


def check_tick_size(terms: OrderTerms) -> None:
    """A price or trigger price off the instrument's tick is refused by the exchange."""
    item, request = terms.instrument, terms.request
    if item is None or item.tick_size <= 0:
        return
    for name, price in (("price", request.price), ("trigger_price", request.trigger_price)):
        if price is not None and not item.is_on_tick(price):
            raise RiskCheckFailed(
                "tick_size",
                item.tick_size,
                price,
                f"{name} {price} is not a multiple of the tick size {item.tick_size}",
                field=name,
            )


def check_freeze_quantity(terms: OrderTerms) -> None:
    """One order over the exchange's freeze quantity is refused by the exchange; with
    ``autoslice`` Kite splits it, into at most ``MAX_SLICES`` orders of whole lots each."""
    item, request = terms.instrument, terms.request
    freeze = item.freeze_quantity if item is not None else None
    if item is None or freeze is None or request.quantity <= freeze:
        return
    if not request.autoslice:
        _over_freeze(freeze, request.quantity, f"the freeze quantity {freeze}")
    if not item.is_whole_lots(freeze):
        _over_freeze(
            freeze,
            request.quantity,
            f"the freeze quantity {freeze}, whose slices would not be whole lots of "
            f"{item.lot_size}",
        )
    most = freeze * MAX_SLICES
    if request.quantity > most:
        _over_freeze(most, request.quantity, f"{MAX_SLICES} slices of {freeze}")


def _over_freeze(limit: int, quantity: int, what: str) -> NoReturn:
    raise RiskCheckFailed("freeze_quantity", limit, quantity, f"quantity {quantity} is over {what}")


def check_circuit_band(terms: OrderTerms) -> None:
    """A price or trigger outside the day's circuit limits is refused by the exchange."""
    quote, request = terms.quote, terms.request
    if quote is None or quote.lower_circuit is None or quote.upper_circuit is None:
        return
    band = [str(quote.lower_circuit), str(quote.upper_circuit)]
    for name, price in (("price", request.price), ("trigger_price", request.trigger_price)):
        if price is not None and not quote.lower_circuit <= price <= quote.upper_circuit:
            raise RiskCheckFailed(
                "circuit_band",
                band,
                price,
                f"{name} {price} is outside the day's circuit band {band[0]} to {band[1]}",
                field=name,
            )


def check_fat_finger(terms: OrderTerms, percent: Decimal | None) -> None:
    """A LIMIT price further than ``percent`` from the last price is taken for a typing slip.

    Equity only: an option's premium can move by multiples in a day, so a distance from its
    last price says nothing about a slip.
    """
    quote, request, item = terms.quote, terms.request, terms.instrument
    if percent is None or quote is None or quote.last_price <= 0:
        return
    if request.order_type is not OrderType.LIMIT or request.price is None:
        return
    if item is not None and item.is_derivative:
        return
    distance = abs(request.price - quote.last_price) * HUNDRED / quote.last_price
    if distance > percent:
        raise RiskCheckFailed(
            "fat_finger",
            percent,
            distance.quantize(Decimal("0.01")),
            f"price {request.price} is {distance:.2f} % from the last price {quote.last_price}",
            field="price",
        )


def check_order_limits(terms: OrderTerms, limits: RiskLimits) -> None:
    """The scope's per-order limits: exchanges and products allowed, quantity and value."""
    request = terms.request
    _allowed("allowed_exchanges", limits.allowed_exchanges, request.exchange.value)
    _allowed("allowed_products", limits.allowed_products, request.product.value)
    if limits.max_quantity is not None and request.quantity > limits.max_quantity:
        raise RiskCheckFailed(
            "max_quantity",
            limits.max_quantity,
            request.quantity,
            f"quantity {request.quantity} is over the limit of {limits.max_quantity}",
        )
    check_order_value(terms, limits.max_order_value)


def check_order_value(terms: OrderTerms, limit: Decimal | None) -> None:
    """An order worth more than ``limit``; with no price at all to reckon it by, refused too."""
    if limit is None:
        return
    price = terms.reference_price
    value = price * terms.request.quantity if price is not None else None
    if value is None or value > limit:
        raise RiskCheckFailed(
            "max_order_value",
            limit,
            value,
            f"the order's value {value} is over the limit of {limit}"
            if value is not None
            else "the order's value cannot be reckoned (no price and no quote)",
        )


def check_counts(limits: RiskLimits, open_orders: int, orders_today: int) -> None:
    """Room for one more working order, and one more order today."""
    if limits.max_open_orders is not None and open_orders >= limits.max_open_orders:
        raise RiskCheckFailed(
            "max_open_orders",
            limits.max_open_orders,
            open_orders + 1,
            f"{open_orders} orders are working: the limit is {limits.max_open_orders}",
        )
    if limits.max_orders_per_day is not None and orders_today >= limits.max_orders_per_day:
        raise RiskCheckFailed(
            "max_orders_per_day",
            limits.max_orders_per_day,
            orders_today + 1,
            f"{orders_today} orders were placed today: the limit is {limits.max_orders_per_day}",
        )


def _allowed(rule: str, allowed: frozenset[str] | None, value: str) -> None:
    if allowed is not None and value not in allowed:
        raise RiskCheckFailed(rule, sorted(allowed), value, f"{value} is not allowed here")
