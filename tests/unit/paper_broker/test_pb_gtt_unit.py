"""GTT triggers: reading Kite's form, watching the price, placing the order on a crossing."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest

from paper_broker.clock import IST
from paper_broker.engine import Exchange
from paper_broker.errors import InputError
from paper_broker.gtt import trigger_view
from paper_broker.gtt_forms import parse_trigger
from paper_broker.gtt_records import Trigger
from paper_broker.instruments import Instrument
from paper_broker.prices import PriceWalk

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=IST)


def form(kind: str, values: list[float], orders: list[dict[str, Any]]) -> dict[str, str]:
    condition = {"exchange": "NSE", "tradingsymbol": "INFY", "trigger_values": values}
    legs = [
        {"exchange": "NSE", "tradingsymbol": "INFY", "quantity": 1, "order_type": "LIMIT",
         "product": "CNC", **order}
        for order in orders
    ]  # fmt: skip
    return {"type": kind, "condition": orjson.dumps({**condition, "last_price": 1580}).decode(),
            "orders": orjson.dumps(legs).decode()}  # fmt: skip


def parse(exchange: Exchange, fields: dict[str, str], trigger_id: int = 1) -> Trigger:
    def walk_of(instrument: Instrument) -> PriceWalk:
        return exchange.market.walk(instrument, exchange.clock.second())

    return parse_trigger(fields, exchange.catalogue, walk_of, ("U1", trigger_id, 7), NOW)


def infy(exchange: Exchange) -> Instrument:
    instrument = exchange.catalogue.by_key("NSE:INFY")
    assert instrument is not None
    return instrument


def buy_below(exchange: Exchange, value: float = 1550) -> Trigger:
    leg = {"transaction_type": "BUY", "price": value}
    return parse(exchange, form("single", [value], [leg]))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"type": "oco"}, "Invalid `type`."),
        ({"condition": "not json"}, "Invalid `condition`."),
        ({"condition": "[]"}, "Invalid `condition`."),
        ({"orders": "{}"}, "Invalid `orders`."),
    ],
)
def test_malformed_forms_are_input_errors(
    exchange: Exchange, fields: dict[str, str], message: str
) -> None:
    base = form("single", [1550], [{"transaction_type": "BUY", "price": 1550}])

    with pytest.raises(InputError, match=message):
        parse(exchange, {**base, **fields})


@pytest.mark.parametrize(
    ("kind", "values", "orders", "message"),
    [
        ("single", [1550, 1600], [{"transaction_type": "BUY", "price": 1}], "trigger_values"),
        ("two-leg", [1500, 1550], [{"transaction_type": "SELL", "price": 1500}] * 2, "below and"),
        ("single", [1580], [{"transaction_type": "BUY", "price": 1580}], "same as the last"),
        ("single", [1550], [{"transaction_type": "HOLD", "price": 1}], "transaction_type"),
        ("single", [1550], [{"transaction_type": "BUY", "price": 1.03}], "Tick size"),
        ("single", [1550], [{"transaction_type": "BUY", "price": 1, "quantity": 0}], "quantity"),
        ("single", [1550], [{"transaction_type": "BUY", "price": 1}] * 2, "takes 1 order"),
        ("single", [1550], [{"transaction_type": "BUY", "price": 1, "tradingsymbol": "TCS"}],
         "instrument of the condition"),
    ],
)  # fmt: skip
def test_triggers_are_checked_against_the_market(
    exchange: Exchange, kind: str, values: list[float], orders: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        parse(exchange, form(kind, values, orders))


def test_a_single_trigger_fires_towards_its_value(exchange: Exchange) -> None:
    below, above = buy_below(exchange), buy_below(exchange, 1600)

    assert below.rising is False
    assert above.rising is True
    assert below.thresholds()[0] == int(Decimal(1550) / Decimal("0.05"))


def test_a_crossing_places_the_order_and_records_the_result(exchange: Exchange) -> None:
    gtts = exchange.gtts
    trigger_id = gtts.create(buy_below(exchange))

    exchange.market.set_price(infy(exchange), Decimal("1549"), exchange.clock.second())
    exchange.sync()

    trigger = gtts.get("U1", trigger_id)
    assert trigger.status == "triggered"
    result = trigger.orders[0].result
    assert result is not None
    assert result["triggered_at"] == 1549
    assert result["order_result"]["status"] == "success"
    order = exchange.registry.orders[result["order_result"]["order_id"]]
    assert (order.transaction_type, order.state.price, order.status) == ("BUY", 1550, "COMPLETE")
    assert orjson.loads(result["meta"]) == {"app_id": 7, "gtt": trigger_id}
    assert exchange.execution.books == {}


def test_a_two_leg_trigger_fires_the_leg_it_crosses(exchange: Exchange) -> None:
    gtts = exchange.gtts
    legs = [
        {"transaction_type": "SELL", "price": 1500},
        {"transaction_type": "SELL", "price": 1650},
    ]
    exchange.registry.accounts["U1"].apply_fill(infy(exchange), "CNC", True, 1, Decimal(1500))
    trigger_id = gtts.create(parse(exchange, form("two-leg", [1500, 1650], legs)))

    exchange.market.set_price(infy(exchange), Decimal("1660"), exchange.clock.second())
    exchange.sync()

    trigger = gtts.get("U1", trigger_id)
    assert [order.result is None for order in trigger.orders] == [True, False]


def test_a_failed_placement_is_a_failed_result(exchange: Exchange) -> None:
    gtts = exchange.gtts
    leg = {"transaction_type": "SELL", "price": 1550}
    trigger_id = gtts.create(parse(exchange, form("single", [1550], [leg])))

    exchange.market.set_price(infy(exchange), Decimal("1540"), exchange.clock.second())
    exchange.sync()

    result = gtts.get("U1", trigger_id).orders[0].result
    assert result is not None
    assert result["order_result"]["status"] == "failed"
    assert "Insufficient holdings" in result["order_result"]["rejection_reason"]


def test_modify_and_delete_only_active_triggers(exchange: Exchange) -> None:
    gtts = exchange.gtts
    first = buy_below(exchange)
    gtts.create(first)

    gtts.replace(first, buy_below(exchange, 1540))
    assert gtts.get("U1", 1).trigger_values == [Decimal(1540)]
    assert gtts.delete(gtts.get("U1", 1), NOW) == 1

    assert gtts.listed("U1") == []
    assert trigger_view(gtts.get("U1", 1))["status"] == "deleted"
    with pytest.raises(InputError, match="Invalid trigger ID"):
        gtts.delete(gtts.get("U1", 1), NOW)
    with pytest.raises(InputError, match="only an active trigger"):
        gtts.replace(gtts.get("U1", 1), buy_below(exchange))
    with pytest.raises(InputError, match="Invalid trigger ID"):
        gtts.get("U2", 1)
