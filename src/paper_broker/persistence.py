"""Saving the paper broker's state to a JSON file and loading it back."""

from __future__ import annotations

import dataclasses
import typing
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from .books import Account, Holding, Position
from .broker import PaperBroker
from .gtt import ACTIVE, GttOrder, Trigger
from .instruments import Instrument
from .orders import AMO_REQ_RECEIVED, WORKING, Order, OrderState, Trade
from .schedule import Schedule
from .sessions import Session, User

FORMAT_VERSION = 2


def save(broker: PaperBroker, path: Path) -> None:
    """Write the state atomically (a temporary file renamed over the old one)."""
    registry = broker.exchange.registry
    state = {
        "version": FORMAT_VERSION,
        "clock_offset_seconds": broker.clock.offset_seconds,
        "ids": _encode(registry.ids),
        "users": [_encode(user) for user in broker.sessions.users.values()],
        "sessions": [_encode(session) for session in broker.sessions.access.values()],
        "accounts": [_encode_account(account) for account in registry.accounts.values()],
        "orders": [_encode_order(order) for order in registry.orders.values()],
        "trades": [_encode(trade) for trades in registry.trades.values() for trade in trades],
        "triggers": [_encode(trigger) for trigger in registry.triggers.values()],
        "prices": {str(token): level for token, level in broker.market.levels().items()},
        "day_end": broker.exchange.schedule.day_end,
    }
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.parent.mkdir(parents=True, exist_ok=True)
    temporary.write_bytes(orjson.dumps(state, default=str, option=orjson.OPT_INDENT_2))
    temporary.replace(path)


def load(broker: PaperBroker, path: Path) -> None:
    """Replace the broker's users, sessions, books and prices with those saved in `path`."""
    state = orjson.loads(path.read_bytes())
    broker.clock.offset_seconds = float(state.get("clock_offset_seconds", 0.0))
    registry = broker.exchange.registry
    registry.ids = _decode(type(registry.ids), state["ids"])
    broker.sessions.users.clear()
    registry.accounts.clear()
    for raw in state["users"]:
        broker.add_user(_decode(User, raw))
    for raw in state["sessions"]:
        session = _decode(Session, raw)
        broker.sessions.access[session.access_token] = session
    for raw in state["accounts"]:
        _restore_account(broker, raw)
    for raw in state["orders"]:
        _restore_order(broker, raw)
    for raw in state["trades"]:
        registry.add_trade(_decode_with_instrument(Trade, raw, broker))
    for raw in state.get("triggers", []):
        _restore_trigger(broker, raw)
    _restore_schedule(broker, int(state.get("day_end", broker.exchange.schedule.day_end)))
    levels = {int(token): float(level) for token, level in state["prices"].items()}
    broker.market.restore_levels(levels, list(broker.catalogue))


def _restore_account(broker: PaperBroker, raw: dict[str, Any]) -> None:
    account: Account = broker.exchange.registry.accounts[raw["user_id"]]
    account.cash = Decimal(raw["cash"])
    account.blocked = Decimal(raw["blocked"])
    account.opening_balance = Decimal(raw["opening_balance"])
    for item in raw["positions"]:
        position = _decode_with_instrument(Position, item, broker)
        account.positions[(position.instrument.key, position.product)] = position
    for item in raw.get("holdings", []):
        holding = _decode_with_instrument(Holding, item, broker)
        account.holdings[holding.instrument.key] = holding


def _restore_trigger(broker: PaperBroker, raw: dict[str, Any]) -> None:
    raw = dict(raw)
    raw["orders"] = [_decode(GttOrder, item) for item in raw["orders"]]
    raw["trigger_values"] = [Decimal(value) for value in raw["trigger_values"]]
    trigger = _decode_with_instrument(Trigger, raw, broker)
    broker.exchange.registry.triggers[trigger.trigger_id] = trigger
    if trigger.status == ACTIVE:
        broker.gtts.watch(trigger)


def _restore_schedule(broker: PaperBroker, day_end: int) -> None:
    """Resume the day that was saved: missed rollovers run on the first catch-up."""
    exchange = broker.exchange
    exchange.schedule = Schedule(exchange.clock.second())
    exchange.schedule.day_end = exchange.schedule.next_at = day_end
    for order in exchange.registry.orders.values():
        if order.status in WORKING and order.state.validity == "TTL":
            exchange.execution.went_live.append(order)


def _restore_order(broker: PaperBroker, raw: dict[str, Any]) -> None:
    raw = dict(raw)
    history = [_decode(OrderState, item) for item in raw.pop("history")]
    raw["state"] = history[-1]
    order = _decode_with_instrument(Order, raw, broker)
    order.history = history
    execution = broker.exchange.execution
    broker.exchange.registry.add_order(order)
    if order.status == AMO_REQ_RECEIVED:
        execution.amo_queue[order.order_id] = order
    elif order.status in WORKING:
        execution.rest(order)


def _encode_account(account: Account) -> dict[str, Any]:
    data = _encode(account)
    data["positions"] = [_encode(position) for position in account.positions.values()]
    data["holdings"] = [_encode(holding) for holding in account.holdings.values()]
    return data


def _encode_order(order: Order) -> dict[str, Any]:
    data = _encode(order)
    data.pop("state")
    return data


def _encode(item: Any) -> dict[str, Any]:
    """A dataclass as JSON-ready primitives; exact numbers travel as strings."""
    data: dict[str, Any] = {}
    for field in dataclasses.fields(item):
        data[field.name] = _primitive(getattr(item, field.name))
    return data


def _primitive(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _encode(value)
    if isinstance(value, Decimal | datetime | date):
        return str(value) if isinstance(value, Decimal) else value.isoformat()
    if isinstance(value, list):
        return [_primitive(item) for item in value]
    if isinstance(value, dict):
        return {key: _primitive(item) for key, item in value.items()}
    return value


T = typing.TypeVar("T")


def _decode_with_instrument(cls: type[T], raw: dict[str, Any], broker: PaperBroker) -> T:
    raw = dict(raw)
    saved = _decode(Instrument, raw["instrument"])
    raw["instrument"] = broker.catalogue.by_key(saved.key) or saved
    return _decode(cls, raw)


def _decode(cls: type[T], raw: dict[str, Any]) -> T:
    hints = typing.get_type_hints(cls)
    values = {
        field.name: _convert(hints[field.name], raw[field.name])
        for field in dataclasses.fields(cls)  # type: ignore[arg-type]
        if field.name in raw
    }
    return cls(**values)


def _convert(hint: Any, value: Any) -> Any:
    if value is None or not isinstance(value, str):
        return value
    options = typing.get_args(hint) or (hint,)
    if Decimal in options:
        return Decimal(value)
    if datetime in options:
        return datetime.fromisoformat(value)
    if date in options:
        return date.fromisoformat(value)
    return value
