"""Kite's response shapes for positions, holdings and funds."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .books import ZERO, Account, Holding, Position
from .kite_enums import Product

DAY_FIELDS = (
    "buy_quantity",
    "buy_price",
    "buy_value",
    "sell_quantity",
    "sell_price",
    "sell_value",
)
# Paper holdings are never bought on the margin trading facility.
NO_MTF = {"quantity": 0, "used_quantity": 0, "average_price": 0, "value": 0, "initial_margin": 0}
# Holding fields a paper account never varies: no pledges, authorisations or short deliveries.
HOLDING_CONSTANTS = {
    "product": Product.CNC,
    "price": 0,
    "authorised_quantity": 0,
    "authorised_date": None,
    "authorisation": {},
    "short_quantity": 0,
    "collateral_quantity": 0,
    "collateral_type": "",
    "discrepancy": False,
}
UTILISED_FIELDS = (
    "debits",
    "exposure",
    "m2m_realised",
    "m2m_unrealised",
    "option_premium",
    "payout",
    "span",
    "holding_sales",
    "turnover",
    "liquid_collateral",
    "stock_collateral",
    "delivery",
)


def position_view(
    position: Position, last_price: Decimal, close_price: Decimal, *, day: bool = False
) -> dict[str, Any]:
    """A `net` position (carried quantity included) or, with `day`, today's trades only."""
    overnight = 0 if day else position.overnight_quantity
    totals = _totals(position, overnight)
    day_totals = _totals(position, 0)
    quantity = overnight + position.day_quantity
    value = totals["sell_value"] - totals["buy_value"]
    pnl = value + quantity * last_price
    realised = _realised(totals)
    return {
        **_identity(position),
        "quantity": quantity,
        "overnight_quantity": overnight,
        "multiplier": 1,
        "average_price": _open_average(totals, quantity),
        "close_price": close_price,
        "last_price": last_price,
        "value": value,
        "pnl": pnl,
        # Mark to market against yesterday's close for what was carried in.
        "m2m": _m2m(day_totals, quantity * last_price - overnight * close_price),
        "unrealised": pnl - realised,
        "realised": realised,
        **totals,
        **{f"day_{name}": day_totals[name] for name in DAY_FIELDS},
    }


def _identity(position: Position) -> dict[str, Any]:
    instrument = position.instrument
    return {
        "tradingsymbol": instrument.tradingsymbol,
        "exchange": instrument.exchange,
        "instrument_token": instrument.instrument_token,
        "product": position.product,
    }


def _m2m(day_totals: dict[str, Any], marked: Decimal) -> Decimal:
    day_value: Decimal = day_totals["sell_value"] - day_totals["buy_value"]
    return day_value + marked


def _realised(totals: dict[str, Any]) -> Decimal:
    matched: int = min(totals["buy_quantity"], totals["sell_quantity"])
    if not matched:
        return ZERO
    spread: Decimal = totals["sell_price"] - totals["buy_price"]
    return matched * spread


def _open_average(totals: dict[str, Any], quantity: int) -> Decimal:
    if quantity > 0:
        average: Decimal = totals["buy_price"]
        return average
    if quantity < 0:
        average = totals["sell_price"]
        return average
    return ZERO


def _totals(position: Position, overnight: int) -> dict[str, Any]:
    """Buy and sell totals, a carried long counted as bought and a short as sold."""
    carried_value = abs(overnight) * position.overnight_price
    buy_q = position.buy_quantity + max(overnight, 0)
    sell_q = position.sell_quantity + max(-overnight, 0)
    buy_value = position.buy_value + (carried_value if overnight > 0 else ZERO)
    sell_value = position.sell_value + (carried_value if overnight < 0 else ZERO)
    return {
        "buy_quantity": buy_q,
        "buy_price": buy_value / buy_q if buy_q else ZERO,
        "buy_value": buy_value,
        "buy_m2m": buy_value,
        "sell_quantity": sell_q,
        "sell_price": sell_value / sell_q if sell_q else ZERO,
        "sell_value": sell_value,
        "sell_m2m": sell_value,
    }


def holding_view(
    holding: Holding, sold_today: int, last_price: Decimal, close_price: Decimal
) -> dict[str, Any]:
    """One holding; `used_quantity` is what today's delivery sales took from it."""
    instrument = holding.instrument
    total = holding.total
    change = last_price - close_price
    return {
        **HOLDING_CONSTANTS,
        "tradingsymbol": instrument.tradingsymbol,
        "exchange": instrument.exchange,
        "instrument_token": instrument.instrument_token,
        "isin": instrument.isin,
        "quantity": holding.quantity,
        "used_quantity": sold_today,
        "t1_quantity": holding.t1_quantity,
        "realised_quantity": holding.quantity,
        "opening_quantity": total,
        "average_price": holding.average_price,
        "last_price": last_price,
        "close_price": close_price,
        "pnl": (last_price - holding.average_price) * total,
        "day_change": change,
        "day_change_percentage": change * 100 / close_price if close_price else ZERO,
        "mtf": dict(NO_MTF),
    }


def segment_view(account: Account | None) -> dict[str, Any]:
    """Funds of one segment; the commodity segment of a paper user is empty but enabled."""
    cash = account.cash if account else ZERO
    blocked = account.blocked if account else ZERO
    opening = account.opening_balance if account else ZERO
    available = {
        "adhoc_margin": 0,
        "cash": cash,
        "opening_balance": opening,
        "live_balance": cash - blocked,
        "collateral": 0,
        "intraday_payin": 0,
    }
    utilised = dict.fromkeys(UTILISED_FIELDS, ZERO)
    utilised["debits"] = blocked
    return {"enabled": True, "net": cash - blocked, "available": available, "utilised": utilised}
