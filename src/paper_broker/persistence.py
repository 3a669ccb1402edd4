"""The paper broker's state as JSON: a whole snapshot, the records it is made of, and restoring it.

The same records make a snapshot and a journal line (journal.py): an order with its history, a
trade, an account with its positions and holdings, a trigger, the users and sessions tables, the
id counters, the clock offset and the price levels. Dataclasses are encoded by orjson as they
are; exact numbers travel as strings and come back as Decimals by the fields' type hints.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from .books import Account, Holding, Position
from .broker import PaperBroker
from .gtt_records import ACTIVE, GttOrder, Trigger
from .instruments import Instrument
from .kite_enums import Validity
from .orders import AMO_REQ_RECEIVED, WORKING, Order, OrderState, Trade
from .schedule import Schedule
from .sessions import Session, User

FORMAT_VERSION = 3


def encode(content: Any, option: int = 0) -> bytes:
    """JSON bytes of records: dataclasses as objects, Decimals as exact strings."""
    return orjson.dumps(content, default=_exact, option=option)


def _exact(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot record {type(value).__name__}")


def account_record(account: Account) -> dict[str, Any]:
    return {
        "user_id": account.user_id,
        "opening_balance": account.opening_balance,
        "cash": account.cash,
        "blocked": account.blocked,
        "positions": list(account.positions.values()),
        "holdings": list(account.holdings.values()),
    }


def sessions_records(broker: PaperBroker) -> dict[str, Any]:
    """The users and sessions tables, small enough to be written whole."""
    sessions = broker.sessions
    return {
        "users": list(sessions.users.values()),
        "sessions": list(sessions.access.values()),
        "request_tokens": sessions.request_tokens,
    }


def common_records(broker: PaperBroker) -> dict[str, Any]:
    """What every journal line carries: the id counters, the clock and the price levels."""
    return {
        "ids": broker.exchange.registry.ids,
        "clock_offset_seconds": broker.clock.offset_seconds,
        "prices": {str(token): level for token, level in broker.market.levels().items()},
    }


def snapshot(broker: PaperBroker) -> dict[str, Any]:
    """Every record of the broker's state."""
    registry = broker.exchange.registry
    return {
        "version": FORMAT_VERSION,
        **common_records(broker),
        **sessions_records(broker),
        "accounts": [account_record(account) for account in registry.accounts.values()],
        "orders": list(registry.orders.values()),
        "trades": [trade for trades in registry.trades.values() for trade in trades],
        "triggers": list(registry.triggers.values()),
        "day_end": broker.exchange.schedule.day_end,
    }


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` all at once, on disk before the rename."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.parent.mkdir(parents=True, exist_ok=True)
    with temporary.open("wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    temporary.replace(path)
    # The rename itself is on disk only once its directory is.
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def save(broker: PaperBroker, path: Path) -> None:
    """Write the whole state atomically (a temporary file renamed over the old one)."""
    write_atomically(path, encode(snapshot(broker), orjson.OPT_INDENT_2))


def load(broker: PaperBroker, path: Path) -> None:
    """Replace the broker's users, sessions, books and prices with those saved in `path`."""
    restore(broker, orjson.loads(path.read_bytes()))


def restore(broker: PaperBroker, state: dict[str, Any]) -> None:
    """Replace the broker's users, sessions, books and prices with those of `state`."""
    broker.clock.offset_seconds = float(state.get("clock_offset_seconds", 0.0))
    registry = broker.exchange.registry
    registry.ids = _decode(type(registry.ids), state["ids"])
    _restore_sessions(broker, state)
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


def _restore_sessions(broker: PaperBroker, state: dict[str, Any]) -> None:
    broker.sessions.users.clear()
    broker.exchange.registry.accounts.clear()
    for raw in state["users"]:
        broker.add_user(_decode(User, raw))
    for raw in state["sessions"]:
        session = _decode(Session, raw)
        broker.sessions.access[session.access_token] = session
    for token, (user_id, expires_at) in state.get("request_tokens", {}).items():
        broker.sessions.request_tokens[token] = (user_id, float(expires_at))


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
        if order.status in WORKING and order.state.validity == Validity.TTL:
            exchange.execution.went_live.append(order)


def _restore_order(broker: PaperBroker, raw: dict[str, Any]) -> None:
    raw = dict(raw)
    history = [_decode(OrderState, item) for item in raw.pop("history")]
    # `state` is the last entry of the history, saved twice.
    raw["state"] = history[-1]
    order = _decode_with_instrument(Order, raw, broker)
    order.history = history
    execution = broker.exchange.execution
    broker.exchange.registry.add_order(order)
    if order.status == AMO_REQ_RECEIVED:
        execution.amo_queue[order.order_id] = order
    elif order.status in WORKING:
        execution.rest(order)


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
