"""The paper exchange with a frozen clock: fills, resting orders, modifications, cancels."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from paper_broker.clock import IST, Clock, second_to_datetime
from paper_broker.engine import Exchange
from paper_broker.errors import InputError, MarginError, OrderError
from paper_broker.instruments import Catalogue
from paper_broker.orders import MAX_MODIFICATIONS
from paper_broker.prices import Market
from paper_broker.validation import PlaceRequest, parse_place

if TYPE_CHECKING:
    from conftest import FakeWall


# A buy limit below the market yet inside INFY's circuit band (1580 * 0.9 = 1422).
RESTING = {"order_type": "LIMIT", "price": "1450"}


def request(catalogue: Catalogue, variety: str = "regular", **fields: str) -> PlaceRequest:
    form = {
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "transaction_type": "BUY",
        "quantity": "10",
        "product": "CNC",
        "order_type": "MARKET",
        "market_protection": "-1",
        **fields,
    }
    return parse_place(form, variety, catalogue)


def statuses(exchange: Exchange, order_id: str) -> list[str]:
    return [state.status for state in exchange.registry.orders[order_id].history]


def ticks_of(exchange: Exchange, key: str = "NSE:INFY") -> int:
    instrument = exchange.catalogue.by_key(key)
    assert instrument is not None
    return exchange.market.walk(instrument, exchange.clock.second()).ticks


def test_a_market_order_fills_at_the_current_price(exchange: Exchange) -> None:
    price = ticks_of(exchange) * Decimal("0.05")

    (order_id,) = exchange.place("U1", request(exchange.catalogue))

    order = exchange.registry.orders[order_id]
    assert order.state.status == "COMPLETE"
    assert order.state.average_price == price
    (trade,) = exchange.registry.trades["U1"]
    assert (trade.quantity, trade.price) == (10, price)
    account = exchange.registry.accounts["U1"]
    assert account.cash == Decimal(1_000_000) - 10 * price
    assert account.blocked == 0


def test_a_resting_limit_fills_at_its_price_when_the_walk_reaches_it(
    exchange: Exchange, wall: FakeWall
) -> None:
    start = exchange.clock.second()
    infy = exchange.catalogue.by_key("NSE:INFY")
    assert infy is not None
    path = Market(3, start)
    lows = [path.walk(infy, start + second).ticks for second in range(1, 3601)]
    target = min(lows[:1800])
    crossing = start + 1 + next(index for index, ticks in enumerate(lows) if ticks <= target)
    limit = str(target * Decimal("0.05"))
    (order_id,) = exchange.place("U1", request(exchange.catalogue, order_type="LIMIT", price=limit))
    assert statuses(exchange, order_id)[-1] == "OPEN"

    wall.tick(3600)
    exchange.sync()

    order = exchange.registry.orders[order_id]
    assert order.state.status == "COMPLETE"
    assert order.state.average_price == Decimal(limit)
    assert order.state.exchange_update_timestamp == second_to_datetime(crossing)


def test_a_refused_margin_leaves_no_order(exchange: Exchange) -> None:
    with pytest.raises(MarginError):
        exchange.place("U1", request(exchange.catalogue, quantity="100000"))

    assert exchange.registry.orders == {}
    assert exchange.registry.accounts["U1"].blocked == 0


def test_cancel_releases_the_margin(exchange: Exchange) -> None:
    form = {"order_type": "LIMIT", "price": "1450", "quantity": "3"}
    (order_id,) = exchange.place("U1", request(exchange.catalogue, **form))
    assert exchange.registry.accounts["U1"].blocked == 4350

    exchange.cancel("U1", order_id)

    assert exchange.registry.accounts["U1"].blocked == 0
    assert statuses(exchange, order_id)[-2:] == ["CANCEL PENDING", "CANCELLED"]
    with pytest.raises(OrderError, match="cancelled"):
        exchange.cancel("U1", order_id)


def test_modifications_are_capped(exchange: Exchange) -> None:
    (order_id,) = exchange.place("U1", request(exchange.catalogue, **RESTING))
    for number in range(MAX_MODIFICATIONS):
        exchange.modify("U1", order_id, {"price": str(1450 - number)})

    with pytest.raises(OrderError, match=r"Maximum allowed order modifications exceeded\."):
        exchange.modify("U1", order_id, {"price": "1430"})
    assert exchange.registry.orders[order_id].state.price == 1426


def test_a_modification_that_needs_more_margin_than_available_changes_nothing(
    exchange: Exchange,
) -> None:
    (order_id,) = exchange.place("U1", request(exchange.catalogue, **RESTING))

    with pytest.raises(MarginError):
        exchange.modify("U1", order_id, {"quantity": "20000"})

    assert exchange.registry.orders[order_id].state.quantity == 10
    assert exchange.registry.accounts["U1"].blocked == 14500


def test_modifying_a_limit_into_a_stop_waits_for_the_trigger(exchange: Exchange) -> None:
    (order_id,) = exchange.place("U1", request(exchange.catalogue, **RESTING))
    trigger = str((ticks_of(exchange) + 200) * Decimal("0.05"))

    exchange.modify("U1", order_id, {"order_type": "SL-M", "trigger_price": trigger})

    assert statuses(exchange, order_id)[-1] == "TRIGGER PENDING"


def test_rms_rejection_after_acceptance(exchange: Exchange) -> None:
    (order_id,) = exchange.place("U1", request(exchange.catalogue), reject="RMS:blocked")

    state = exchange.registry.orders[order_id].state
    assert statuses(exchange, order_id) == [
        "PUT ORDER REQ RECEIVED",
        "VALIDATION PENDING",
        "REJECTED",
    ]
    assert state.status_message == "RMS:blocked"
    assert exchange.registry.accounts["U1"].blocked == 0


def test_a_cover_order_stop_leg_triggers_on_the_way_down(exchange: Exchange) -> None:
    price = ticks_of(exchange) * Decimal("0.05")
    trigger = str((price * Decimal("0.95") / Decimal("0.05")).to_integral_value() * Decimal("0.05"))
    (entry_id,) = exchange.place(
        "U1", request(exchange.catalogue, "co", product="MIS", trigger_price=trigger)
    )
    (leg,) = [o for o in exchange.registry.orders.values() if o.parent_order_id == entry_id]
    infy = exchange.catalogue.by_key("NSE:INFY")
    assert infy is not None

    exchange.market.set_price(infy, Decimal(trigger) - 1, exchange.clock.second())

    assert leg.state.status == "COMPLETE"
    assert leg.state.average_price == Decimal(trigger) - 1
    assert exchange.registry.accounts["U1"].positions[("NSE:INFY", "CO")].quantity == 0


def test_amo_orders_wait_for_the_session_in_real_mode(catalogue: Catalogue, wall: FakeWall) -> None:
    clock = Clock("real", wall=wall)
    clock.set(datetime(2026, 12, 5, 20, 0, tzinfo=IST))
    exchange = Exchange(catalogue, Market(1, clock.second()), clock)
    exchange.registry.open_account("U1", Decimal(1_000_000))
    with pytest.raises(InputError, match="Markets are closed"):
        exchange.place("U1", request(catalogue))
    (order_id,) = exchange.place("U1", request(catalogue, "amo"))
    exchange.sync()
    assert statuses(exchange, order_id) == ["AMO REQ RECEIVED"]

    clock.set(datetime(2026, 12, 7, 9, 15, tzinfo=IST))
    exchange.sync()

    assert statuses(exchange, order_id)[-1] == "COMPLETE"


def test_autoslices_block_margin_per_slice(exchange: Exchange) -> None:
    exchange.registry.accounts["U1"].cash = Decimal(10**9)
    future = next(item for item in exchange.catalogue if item.instrument_type == "FUT")
    form = {
        "exchange": "NFO",
        "tradingsymbol": future.tradingsymbol,
        "product": "NRML",
        "order_type": "LIMIT",
        "price": "26000",
        "quantity": str(future.freeze_quantity + future.lot_size),
        "autoslice": "true",
    }

    order_ids = exchange.place("U1", request(exchange.catalogue, **form))

    orders = [exchange.registry.orders[order_id] for order_id in order_ids]
    assert [order.state.quantity for order in orders] == [future.freeze_quantity, future.lot_size]
    assert sum(order.blocked_margin for order in orders) == exchange.registry.accounts["U1"].blocked
    assert orders[1].tags == ["autoslice", f"autoslice:{order_ids[0]}"]
