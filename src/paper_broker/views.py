"""Kite's response shapes for orders, trades, the profile and the session."""

from __future__ import annotations

from typing import Any

from .clock import format_time, format_timestamp
from .kite_enums import ExchangeCode, OrderType, Product
from .orders import Order, OrderState, Trade
from .sessions import Session, User

EXCHANGES = [
    ExchangeCode.NSE, ExchangeCode.NFO, ExchangeCode.BFO, ExchangeCode.CDS,
    ExchangeCode.BSE, ExchangeCode.MCX, ExchangeCode.BCD, ExchangeCode.MF,
]  # fmt: skip
PRODUCTS = [Product.CNC, Product.NRML, Product.MIS, Product.BO, Product.CO]
ORDER_TYPES = [OrderType.MARKET, OrderType.LIMIT, OrderType.SL, OrderType.SL_M]


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
        "status_message_raw": state.status_message_raw or state.status_message,
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
