"""Kite's response shapes for orders, trades, positions, margins, profile and quotes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .books import ZERO, Account, Position
from .clock import format_time, format_timestamp
from .orders import Order, OrderState, Trade
from .sessions import Session, User

EXCHANGES = ["NSE", "NFO", "BFO", "CDS", "BSE", "MCX", "BCD", "MF"]
PRODUCTS = ["CNC", "NRML", "MIS", "BO", "CO"]
ORDER_TYPES = ["MARKET", "LIMIT", "SL", "SL-M"]
DAY_FIELDS = (
    "buy_quantity",
    "buy_price",
    "buy_value",
    "sell_quantity",
    "sell_price",
    "sell_value",
)
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


def order_view(order: Order, state: OrderState | None = None) -> dict[str, Any]:
    """One order (or one entry of its history) with every field Kite sends."""
    state = order.state if state is None else state
    return {**_identity(order), **_terms(state), **_progress(state)}


def _identity(order: Order) -> dict[str, Any]:
    instrument = order.instrument
    return {
        "account_id": order.user_id,
        "placed_by": order.user_id,
        "terminal_id": None,
        "order_id": order.order_id,
        "parent_order_id": order.parent_order_id,
        "guid": order.guid,
        "variety": order.variety,
        "exchange": instrument.exchange,
        "tradingsymbol": instrument.tradingsymbol,
        "instrument_token": instrument.instrument_token,
        "transaction_type": order.transaction_type,
        "product": order.product,
        "validity_ttl": order.validity_ttl or 0,
        "auction_number": order.auction_number,
        "meta": order.meta,
        "tag": order.tag,
        "tags": order.tags,
    }


def _terms(state: OrderState) -> dict[str, Any]:
    return {
        "order_type": state.order_type,
        "validity": state.validity,
        "quantity": state.quantity,
        "disclosed_quantity": state.disclosed_quantity,
        "price": state.price,
        "trigger_price": state.trigger_price,
        "market_protection": state.market_protection,
    }


def _progress(state: OrderState) -> dict[str, Any]:
    return {
        "status": state.status,
        "status_message": state.status_message,
        "status_message_raw": state.status_message,
        "exchange_order_id": state.exchange_order_id,
        "order_timestamp": format_timestamp(state.order_timestamp),
        "exchange_update_timestamp": format_timestamp(state.exchange_update_timestamp),
        "exchange_timestamp": format_timestamp(state.exchange_timestamp),
        "modified": state.modified,
        "average_price": state.average_price,
        "filled_quantity": state.filled_quantity,
        "pending_quantity": state.pending_quantity,
        "cancelled_quantity": state.cancelled_quantity,
    }


def history_view(order: Order) -> list[dict[str, Any]]:
    return [order_view(order, state) for state in order.history]


def trade_view(trade: Trade) -> dict[str, Any]:
    instrument = trade.instrument
    return {
        "trade_id": trade.trade_id,
        "order_id": trade.order_id,
        "exchange": instrument.exchange,
        "tradingsymbol": instrument.tradingsymbol,
        "instrument_token": instrument.instrument_token,
        "product": trade.product,
        "average_price": trade.price,
        "quantity": trade.quantity,
        "exchange_order_id": trade.exchange_order_id,
        "transaction_type": trade.transaction_type,
        "fill_timestamp": format_timestamp(trade.filled_at),
        "order_timestamp": format_time(trade.order_timestamp),
        "exchange_timestamp": format_timestamp(trade.filled_at),
    }


def position_view(position: Position, last_price: Decimal, close_price: Decimal) -> dict[str, Any]:
    """A position in Kite's shape; every position is a day position (no overnight carry)."""
    totals = _totals(position)
    quantity = position.quantity
    value = position.sell_value - position.buy_value
    pnl = value + quantity * last_price
    buy_price, sell_price = totals["buy_price"], totals["sell_price"]
    matched = min(position.buy_quantity, position.sell_quantity)
    realised = matched * (sell_price - buy_price) if matched else ZERO
    average = buy_price if quantity > 0 else sell_price if quantity < 0 else ZERO
    return {
        "tradingsymbol": position.instrument.tradingsymbol,
        "exchange": position.instrument.exchange,
        "instrument_token": position.instrument.instrument_token,
        "product": position.product,
        "quantity": quantity,
        "overnight_quantity": 0,
        "multiplier": 1,
        "average_price": average,
        "close_price": close_price,
        "last_price": last_price,
        "value": value,
        "pnl": pnl,
        "m2m": pnl,
        "unrealised": pnl - realised,
        "realised": realised,
        **totals,
        **{f"day_{name}": totals[name] for name in DAY_FIELDS},
    }


def _totals(position: Position) -> dict[str, Any]:
    buy_q, sell_q = position.buy_quantity, position.sell_quantity
    return {
        "buy_quantity": buy_q,
        "buy_price": position.buy_value / buy_q if buy_q else ZERO,
        "buy_value": position.buy_value,
        "buy_m2m": position.buy_value,
        "sell_quantity": sell_q,
        "sell_price": position.sell_value / sell_q if sell_q else ZERO,
        "sell_value": position.sell_value,
        "sell_m2m": position.sell_value,
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


def profile_view(user: User) -> dict[str, Any]:
    return {
        "user_id": user.user_id,
        "user_type": "individual",
        "email": user.email,
        "user_name": user.user_name,
        "user_shortname": user.user_name.split()[0],
        "broker": "ZERODHA",
        "exchanges": EXCHANGES,
        "products": PRODUCTS,
        "order_types": ORDER_TYPES,
        "avatar_url": None,
        "meta": {"demat_consent": "physical"},
    }


def session_view(user: User, session: Session) -> dict[str, Any]:
    return {
        **profile_view(user),
        "api_key": session.api_key,
        "access_token": session.access_token,
        "public_token": session.public_token,
        "enctoken": session.enctoken,
        "refresh_token": "",
        "silo": "",
        "login_time": format_timestamp(session.login_time),
    }
