"""The admin API under /_admin: faults, clock, prices, users, reset and state (loopback only)."""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..broker import PaperBroker
from ..clock import format_timestamp, parse_moment
from ..errors import ConfigError, InputError, KiteError, PermissionDenied, invalid
from ..gtt import trigger_view
from ..persistence import save
from ..sessions import User
from ..validation import MAX_PRICE
from ..views import order_view, trade_view
from ..wire import error, json_body, success
from .guard import broker_of, record

MAX_CLOCK_STEP_SECONDS = 10 * 366 * 86_400
MAX_FUNDS = Decimal(10**15)
URL_FIELDS = frozenset({"postback_url", "redirect_url"})
AdminHandler = Callable[[Request, PaperBroker], Awaitable[Any]]


def admin(handler: AdminHandler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            _check_loopback(request)
            response = success(await handler(request, broker_of(request)))
        except KiteError as exc:
            response = error(exc)
        # Prices set by decree are recorded too: they change nothing else a commit would see.
        return record(request, response, force=request.method != "GET")

    endpoint.__name__ = handler.__name__
    return endpoint


def _check_loopback(request: Request) -> None:
    host = request.client.host if request.client else ""
    try:
        allowed = ipaddress.ip_address(host).is_loopback
    except ValueError:
        allowed = host in {"localhost", "testclient"}
    if not allowed:
        raise PermissionDenied("The admin API answers on loopback only.")


@admin
async def add_fault(request: Request, broker: PaperBroker) -> dict[str, Any]:
    spec = await _object(request)
    return {"fault_id": broker.faults.add(spec).fault_id}


@admin
async def clear_faults(request: Request, broker: PaperBroker) -> bool:
    broker.faults.clear()
    return True


@admin
async def move_clock(request: Request, broker: PaperBroker) -> dict[str, Any]:
    spec = await _object(request)
    if "set" in spec:
        try:
            broker.clock.set(parse_moment(str(spec["set"])))
        except ValueError as exc:
            raise invalid("set") from exc
    elif _is_number(spec.get("advance_seconds"), MAX_CLOCK_STEP_SECONDS):
        broker.clock.advance(float(spec["advance_seconds"]))
    else:
        raise InputError("Send `advance_seconds` or `set`.")
    broker.exchange.sync()
    return _clock(broker)


@admin
async def set_prices(request: Request, broker: PaperBroker) -> dict[str, Any]:
    spec = await _object(request)
    second = broker.clock.second()
    broker.exchange.sync()
    for key, raw in spec.items():
        instrument = broker.catalogue.by_key(key)
        if instrument is None:
            raise InputError(f"Unknown instrument {key}.")
        broker.market.set_price(instrument, _price(raw, key), second)
    return {key: broker.price(key) for key in spec}


@admin
async def add_user(request: Request, broker: PaperBroker) -> dict[str, Any]:
    """Add a user, or set the postback and redirect URLs of an existing one."""
    spec = await _object(request)
    existing = broker.sessions.users.get(str(spec.get("user_id")))
    if existing is not None and set(spec) <= URL_FIELDS | {"user_id"}:
        user = replace(existing, **{name: _url(spec, name) for name in URL_FIELDS & set(spec)})
        broker.sessions.replace_user(user)
        return _user(user)
    user = _new_user(spec, broker)
    broker.add_user(user)
    return _user(user)


def _new_user(spec: dict[str, Any], broker: PaperBroker) -> User:
    config = broker.config
    try:
        user = User(
            user_id=str(spec["user_id"]),
            api_key=str(spec.get("api_key", config.api_key)),
            api_secret=str(spec.get("api_secret", config.api_secret)),
            funds=Decimal(str(spec.get("funds", config.funds))),
            redirect_url=str(spec.get("redirect_url", config.redirect_url)),
            postback_url=_url(spec, "postback_url"),
        )
    except (KeyError, InvalidOperation) as exc:
        raise InputError("A user needs `user_id` and numeric `funds`.") from exc
    if not user.funds.is_finite() or not 0 <= user.funds < MAX_FUNDS:
        raise invalid("funds")
    return user


def _url(spec: dict[str, Any], name: str) -> Any:
    value = spec.get(name)
    if value is not None and (not isinstance(value, str) or "://" not in value):
        raise invalid(name)
    if value is None and name == "redirect_url":
        raise invalid(name)
    return value


def _user(user: User) -> dict[str, Any]:
    return {
        "user_id": user.user_id,
        "api_key": user.api_key,
        "redirect_url": user.redirect_url,
        "postback_url": user.postback_url,
    }


@admin
async def reset(request: Request, broker: PaperBroker) -> bool:
    # The order feed belongs to the server: its queue and open ticker connections carry over.
    # Ids are never handed out twice, not even by a broker that starts over.
    try:
        fresh = PaperBroker(broker.config, feed=broker.feed, ids=broker.exchange.registry.ids)
    except ConfigError as exc:
        # The replay file is read again and may have been edited into a bad one since the start.
        raise KiteError(str(exc)) from exc
    broker.feed.postbacks.clear()
    request.app.state.broker = fresh
    return True


@admin
async def dump_state(request: Request, broker: PaperBroker) -> dict[str, Any]:
    if request.query_params.get("save") in {"1", "true"}:
        if broker.config.state_file is None:
            raise InputError("No state file is configured.")
        journal = request.app.state.journal
        if journal is None:
            save(broker, broker.config.state_file)
        else:
            journal.snapshot(broker)
    return describe(broker)


def describe(broker: PaperBroker) -> dict[str, Any]:
    """A readable dump of everything the paper broker holds."""
    broker.exchange.sync()
    registry = broker.exchange.registry
    return {
        "clock": _clock(broker),
        "users": [_user(user) for user in broker.sessions.users.values()],
        "funds": {
            user_id: {"cash": account.cash, "blocked": account.blocked}
            for user_id, account in registry.accounts.items()
        },
        "orders": [order_view(order) for order in registry.orders.values()],
        "trades": [trade_view(trade) for trades in registry.trades.values() for trade in trades],
        **_books(broker),
        "gtts": [trigger_view(trigger) for trigger in registry.triggers.values()],
        "faults": broker.faults.dump(),
        "postbacks": broker.feed.postbacks.state(),
        "ticker": {"connections": broker.feed.connections},
    }


def _books(broker: PaperBroker) -> dict[str, Any]:
    accounts = broker.exchange.registry.accounts.items()
    return {
        "positions": {
            user_id: [
                {"instrument": key, "product": product, "quantity": position.quantity}
                for (key, product), position in account.positions.items()
            ]
            for user_id, account in accounts
        },
        "holdings": {
            user_id: [
                {"instrument": key, "quantity": item.quantity, "t1_quantity": item.t1_quantity}
                for key, item in account.holdings.items()
            ]
            for user_id, account in accounts
        },
    }


def _clock(broker: PaperBroker) -> dict[str, Any]:
    return {
        "mode": broker.clock.mode,
        "now": format_timestamp(broker.clock.now()),
        "offset_seconds": broker.clock.offset_seconds,
        "market_open": broker.clock.is_market_open(),
    }


async def _object(request: Request) -> dict[str, Any]:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise InputError("Send a JSON object.")
    return body


def _is_number(value: Any, bound: float) -> bool:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return is_number and abs(value) <= bound


def _price(raw: Any, key: str) -> Decimal:
    try:
        price = Decimal(str(raw))
    except InvalidOperation as exc:
        raise InputError(f"Invalid price for {key}.") from exc
    if not price.is_finite() or not 0 < price < MAX_PRICE:
        raise InputError(f"Invalid price for {key}.")
    return price


ROUTES = [
    Route("/_admin/faults", add_fault, methods=["POST"]),
    Route("/_admin/faults", clear_faults, methods=["DELETE"]),
    Route("/_admin/clock", move_clock, methods=["POST"]),
    Route("/_admin/prices", set_prices, methods=["POST"]),
    Route("/_admin/users", add_user, methods=["POST"]),
    Route("/_admin/reset", reset, methods=["POST"]),
    Route("/_admin/state", dump_state, methods=["GET"]),
]
