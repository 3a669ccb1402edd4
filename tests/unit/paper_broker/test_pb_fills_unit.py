"""Partial fills, IOC remainders, iceberg legs, circuit rejections and order-update events."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from paper_broker.engine import Exchange
from paper_broker.errors import InputError, OrderError
from paper_broker.orders import Order
from paper_broker.validation import PlaceRequest, parse_place

if TYPE_CHECKING:
    from conftest import FakeWall


def place(exchange: Exchange, variety: str = "regular", **fields: str) -> list[str]:
    form = {
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "transaction_type": "BUY",
        "quantity": "10",
        "product": "MIS",
        "order_type": "MARKET",
        "market_protection": "-1",
        **fields,
    }
    request: PlaceRequest = parse_place(form, variety, exchange.catalogue)
    return exchange.place("U1", request)


def volume(exchange: Exchange, offset: int = 0) -> int:
    infy = exchange.catalogue.by_key("NSE:INFY")
    assert infy is not None
    return exchange.market.volume(infy, exchange.clock.second() + offset)


class Events:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, int]] = []

    def __call__(self, order: Order, event: str) -> None:
        self.seen.append((order.order_id, event, order.state.filled_quantity))


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def listener(events: Events) -> Events:
    """The exchange of these tests reports its order updates to `events`."""
    return events


def test_an_order_within_the_seconds_volume_fills_at_once(
    exchange: Exchange, events: Events
) -> None:
    (order_id,) = place(exchange, quantity=str(volume(exchange)))

    assert exchange.registry.orders[order_id].status == "COMPLETE"
    assert events.seen == [(order_id, "COMPLETE", volume(exchange))]


def test_a_big_order_fills_over_several_seconds_with_an_update_per_trade(
    exchange: Exchange, events: Events, wall: FakeWall
) -> None:
    first = volume(exchange)
    (order_id,) = place(exchange, quantity="1500")
    order = exchange.registry.orders[order_id]
    assert (order.status, order.state.filled_quantity) == ("OPEN", first)

    wall.tick(5)
    exchange.sync()

    trades = exchange.registry.order_trades[order_id]
    assert sum(trade.quantity for trade in trades) == 1500
    assert len(trades) >= 2
    assert order.status == "COMPLETE"
    assert [event for _, event, _ in events.seen] == ["UPDATE"] * (len(trades) - 1) + ["COMPLETE"]
    value = sum(trade.price * trade.quantity for trade in trades)
    assert order.state.average_price == (value / 1500).quantize(Decimal("0.0001"))
    assert exchange.registry.accounts["U1"].blocked == 0


def test_an_ioc_order_cancels_what_the_second_could_not_fill(
    exchange: Exchange, events: Events
) -> None:
    first = volume(exchange)

    (order_id,) = place(exchange, quantity="1500", validity="IOC")

    state = exchange.registry.orders[order_id].state
    assert (state.status, state.filled_quantity, state.cancelled_quantity) == (
        "CANCELLED",
        first,
        1500 - first,
    )
    assert [event for _, event, _ in events.seen] == ["UPDATE", "CANCELLED"]


def test_a_limit_outside_the_band_is_accepted_then_rejected_by_the_rms(
    exchange: Exchange, events: Events
) -> None:
    (order_id,) = place(exchange, order_type="LIMIT", price="1800")

    order = exchange.registry.orders[order_id]
    assert [state.status for state in order.history] == [
        "PUT ORDER REQ RECEIVED",
        "VALIDATION PENDING",
        "REJECTED",
    ]
    assert order.state.status_message is not None
    assert "upper circuit limit of 1738.00" in order.state.status_message
    assert order.state.status_message_raw == (
        "RMS:Rule: Check circuit limit including square off order exceeds"
    )
    assert order.state.exchange_order_id is None
    assert events.seen == [(order_id, "REJECTED", 0)]
    assert exchange.registry.accounts["U1"].blocked == 0


def test_modifying_a_price_outside_the_band_is_refused(exchange: Exchange) -> None:
    (order_id,) = place(exchange, order_type="LIMIT", price="1450")

    with pytest.raises(OrderError, match="lower circuit limit"):
        exchange.modify("U1", order_id, {"price": "1400"})

    assert exchange.registry.orders[order_id].state.price == 1450


def test_a_modification_is_an_update_event_and_cannot_go_below_the_filled_quantity(
    exchange: Exchange, events: Events
) -> None:
    (order_id,) = place(exchange, quantity="1500")
    filled = exchange.registry.orders[order_id].state.filled_quantity

    with pytest.raises(InputError, match="filled quantity"):
        exchange.modify("U1", order_id, {"quantity": str(filled)})
    exchange.modify("U1", order_id, {"quantity": str(filled + 1)})

    assert [event for _, event, _ in events.seen] == ["UPDATE", "UPDATE", "COMPLETE"]
    assert exchange.registry.orders[order_id].state.filled_quantity == filled + 1


def test_an_iceberg_shows_one_leg_and_places_the_next_when_it_fills(
    exchange: Exchange, wall: FakeWall
) -> None:
    (first_id,) = place(
        exchange, "iceberg", quantity="1000", iceberg_legs="3", iceberg_quantity="400",
        order_type="LIMIT", price="1450",
    )  # fmt: skip
    first = exchange.registry.orders[first_id]
    assert first.state.quantity == 400
    assert first.meta["iceberg"] == {
        "leg": 1, "legs": 3, "leg_quantity": 400, "total_quantity": 1000,
        "remaining_quantity": 600,
    }  # fmt: skip
    blocked = exchange.registry.accounts["U1"].blocked
    assert blocked == Decimal("0.2") * 1000 * 1450

    exchange.modify("U1", first_id, {"order_type": "MARKET"})
    wall.tick(5)
    exchange.sync()

    legs = [order for order in exchange.registry.orders.values() if order.variety == "iceberg"]
    assert [leg.state.quantity for leg in legs] == [400, 400, 200]
    assert [leg.meta["iceberg"]["leg"] for leg in legs] == [1, 2, 3]
    assert [leg.meta["iceberg"]["remaining_quantity"] for leg in legs] == [600, 200, 0]
    assert exchange.registry.accounts["U1"].blocked == 0


def test_exchange_order_ids_start_at_open_pending(exchange: Exchange) -> None:
    (order_id,) = place(exchange)

    history = exchange.registry.orders[order_id].history
    ids = [state.exchange_order_id for state in history]
    assert ids[:2] == [None, None]
    assert history[2].status == "OPEN PENDING"
    assert ids[2] is not None
    assert len(set(ids[2:])) == 1
