"""GTT triggers: /gtt/triggers (list, place) and /gtt/triggers/{id} (get, modify, delete)."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from ..errors import InputError
from ..gtt import UNKNOWN_TRIGGER, trigger_view
from ..gtt_forms import parse_trigger
from ..gtt_records import Trigger
from ..instruments import Instrument
from ..prices import PriceWalk
from ..ratelimit import OTHER
from ..updates import app_id
from ..wire import form
from .guard import Call, kite_call


@kite_call("gtt", OTHER)
async def list_triggers(call: Call) -> list[dict[str, Any]]:
    return [trigger_view(trigger) for trigger in call.broker.gtts.listed(call.user_id)]


@kite_call("gtt", OTHER)
async def get_trigger(call: Call) -> dict[str, Any]:
    return trigger_view(_named(call))


@kite_call("gtt", OTHER)
async def place_trigger(call: Call) -> dict[str, Any]:
    trigger_id = call.broker.exchange.registry.ids.trigger_id()
    trigger = await _parsed(call, trigger_id)
    return {"trigger_id": call.broker.gtts.create(trigger)}


@kite_call("gtt", OTHER)
async def modify_trigger(call: Call) -> dict[str, Any]:
    old = _named(call)
    new = await _parsed(call, old.trigger_id)
    return {"trigger_id": call.broker.gtts.replace(old, new)}


@kite_call("gtt", OTHER)
async def delete_trigger(call: Call) -> dict[str, Any]:
    trigger = _named(call)
    return {"trigger_id": call.broker.gtts.delete(trigger, call.broker.clock.now())}


def _named(call: Call) -> Trigger:
    raw = call.request.path_params["trigger_id"]
    if not raw.isdigit():
        raise InputError(UNKNOWN_TRIGGER)
    return call.broker.gtts.get(call.user_id, int(raw))


async def _parsed(call: Call, trigger_id: int) -> Trigger:
    broker = call.broker
    second = broker.clock.second()

    def walk_of(instrument: Instrument) -> PriceWalk:
        return broker.market.walk(instrument, second)

    owner = (call.user_id, trigger_id, app_id(call.session.api_key))
    fields = await form(call.request)
    return parse_trigger(fields, broker.catalogue, walk_of, owner, broker.clock.now())


ROUTES = [
    Route("/gtt/triggers", list_triggers, methods=["GET"]),
    Route("/gtt/triggers", place_trigger, methods=["POST"]),
    Route("/gtt/triggers/{trigger_id}", get_trigger, methods=["GET"]),
    Route("/gtt/triggers/{trigger_id}", modify_trigger, methods=["PUT"]),
    Route("/gtt/triggers/{trigger_id}", delete_trigger, methods=["DELETE"]),
]
