"""GTT (good-till-triggered) triggers at work: watched by the books, placed on a crossing.

The instrument's book watches a trigger's values on every price step (`gtt_records.Trigger`
says which); the orders are placed once the walk is done, as regular DAY orders.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from .clock import Clock, format_timestamp
from .errors import InputError, KiteError
from .execution import Execution
from .gtt_records import ACTIVE, DELETED, EXPIRED, TRIGGERED, GttOrder, Trigger
from .instruments import Instrument
from .kite_enums import Validity, Variety
from .matching import Watched
from .prices import Market
from .registry import Registry
from .validation import PlaceRequest, Terms
from .wire import dumps

UNKNOWN_TRIGGER = "Invalid trigger ID."
# How a fired trigger places its order: the exchange's own `place`.
Place = Callable[[str, PlaceRequest], list[str]]


class Gtts:
    """Every user's triggers, placed into the exchange when the price crosses them."""

    def __init__(
        self, registry: Registry, execution: Execution, clock: Clock, market: Market, place: Place
    ) -> None:
        self.registry = registry
        self.execution = execution
        self.clock = clock
        self.market = market
        self.place = place

    @property
    def triggers(self) -> dict[int, Trigger]:
        return self.registry.triggers

    def create(self, trigger: Trigger) -> int:
        self.triggers[trigger.trigger_id] = trigger
        self._watch(trigger)
        return trigger.trigger_id

    def get(self, user_id: str, trigger_id: int) -> Trigger:
        trigger = self.triggers.get(trigger_id)
        if trigger is None or trigger.user_id != user_id:
            raise InputError(UNKNOWN_TRIGGER)
        return trigger

    def listed(self, user_id: str) -> list[Trigger]:
        return [t for t in self.triggers.values() if t.user_id == user_id and t.status != DELETED]

    def replace(self, old: Trigger, new: Trigger) -> int:
        if old.status != ACTIVE:
            raise InputError(f"Trigger is {old.status}; only an active trigger can be modified.")
        self._unwatch(old)
        new.created_at = old.created_at
        self.triggers[old.trigger_id] = new
        self._watch(new)
        return new.trigger_id

    def delete(self, trigger: Trigger, now: datetime) -> int:
        if trigger.status == DELETED:
            raise InputError(UNKNOWN_TRIGGER)
        self._unwatch(trigger)
        trigger.status, trigger.updated_at = DELETED, now
        return trigger.trigger_id

    def watch(self, trigger: Trigger) -> None:
        """Watch a restored trigger again."""
        self._watch(trigger)

    def fire(self, crossed: list[Watched]) -> None:
        """Place the orders of triggers the price crossed (waiting while the market is shut)."""
        for item in crossed:
            trigger = self.triggers.get(item.watch_id)
            if trigger is None or trigger.status != ACTIVE:
                continue
            if not self.clock.is_market_open():
                self._watch(trigger)
                continue
            self._place(trigger)

    def expire(self, second: int) -> None:
        for trigger in self.triggers.values():
            if trigger.status == ACTIVE and trigger.expires_at.timestamp() <= second:
                self._unwatch(trigger)
                trigger.status = EXPIRED

    def _place(self, trigger: Trigger) -> None:
        walk = self.market.walk(trigger.instrument, self.clock.second())
        order = trigger.orders[trigger.leg(walk.ticks)]
        now = self.clock.now()
        try:
            (order_id,) = self.place(trigger.user_id, _request(trigger, order))
            outcome = {"status": "success", "order_id": order_id, "rejection_reason": None}
        except KiteError as exc:
            outcome = {"status": "failed", "order_id": "", "rejection_reason": exc.message}
        order.result = _result(trigger, order, walk.price, now, outcome)
        trigger.status, trigger.updated_at = TRIGGERED, now

    def _watch(self, trigger: Trigger) -> None:
        self.execution.book(trigger.instrument.instrument_token).watch(trigger)

    def _unwatch(self, trigger: Trigger) -> None:
        self.execution.unwatch(trigger.instrument.instrument_token, trigger.trigger_id)


def _request(trigger: Trigger, order: GttOrder) -> PlaceRequest:
    terms = Terms(
        order_type=order.order_type,
        quantity=order.quantity,
        price=order.price,
        trigger_price=Decimal(0),
        validity=Validity.DAY,
        disclosed_quantity=0,
        market_protection=Decimal(0),
    )
    return PlaceRequest(
        variety=Variety.REGULAR,
        instrument=trigger.instrument,
        transaction_type=order.transaction_type,
        product=order.product,
        terms=terms,
    )


def _result(
    trigger: Trigger, order: GttOrder, price: Decimal, now: datetime, outcome: dict[str, Any]
) -> dict[str, Any]:
    meta = {"app_id": trigger.app_id, "gtt": trigger.trigger_id}
    # Kept as plain JSON values so that it reads back the same from a state file.
    result = {
        "account_id": trigger.user_id,
        "exchange": trigger.instrument.exchange,
        "tradingsymbol": trigger.instrument.tradingsymbol,
        "validity": Validity.DAY,
        "product": order.product,
        "order_type": order.order_type,
        "transaction_type": order.transaction_type,
        "quantity": order.quantity,
        "price": order.price,
        "meta": orjson.dumps(meta).decode(),
        "timestamp": format_timestamp(now),
        "triggered_at": price,
        "order_result": outcome,
    }
    parsed: dict[str, Any] = orjson.loads(dumps(result))
    return parsed


def trigger_view(trigger: Trigger) -> dict[str, Any]:
    instrument = trigger.instrument
    return {
        "id": trigger.trigger_id,
        "user_id": trigger.user_id,
        "parent_trigger": None,
        "type": trigger.kind,
        "created_at": format_timestamp(trigger.created_at),
        "updated_at": format_timestamp(trigger.updated_at),
        "expires_at": format_timestamp(trigger.expires_at),
        "status": trigger.status,
        "condition": {
            "exchange": instrument.exchange,
            "last_price": trigger.last_price,
            "tradingsymbol": instrument.tradingsymbol,
            "trigger_values": trigger.trigger_values,
            "instrument_token": instrument.instrument_token,
        },
        "orders": [_order_view(instrument, order) for order in trigger.orders],
        "meta": trigger.meta,
    }


def _order_view(instrument: Instrument, order: GttOrder) -> dict[str, Any]:
    return {
        "exchange": instrument.exchange,
        "tradingsymbol": instrument.tradingsymbol,
        "product": order.product,
        "order_type": order.order_type,
        "transaction_type": order.transaction_type,
        "quantity": order.quantity,
        "price": order.price,
        "result": order.result,
    }
