"""The trading-day rollover: expiries, T1 then settled holdings, carried positions, a new book."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from paper_broker.books import Account, Holding
from paper_broker.clock import IST
from paper_broker.engine import Exchange
from paper_broker.errors import HoldingError, InputError
from paper_broker.instruments import Catalogue, Instrument
from paper_broker.prices import next_midnight
from paper_broker.schedule import Schedule
from paper_broker.validation import parse_place

if TYPE_CHECKING:
    from conftest import FakeWall

# Seconds from the fixtures' 10:00 IST to the next midnight IST.
TO_MIDNIGHT = 14 * 3600


def place(exchange: Exchange, **fields: str) -> str:
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
    (order_id,) = exchange.place("U1", parse_place(form, "regular", exchange.catalogue))
    return order_id


def infy(exchange: Exchange) -> Instrument:
    instrument = exchange.catalogue.by_key("NSE:INFY")
    assert instrument is not None
    return instrument


def next_day(exchange: Exchange, wall: FakeWall) -> None:
    """Move just past the next midnight IST and let the exchange catch up."""
    now = exchange.clock.second()
    wall.tick(next_midnight(now) - now + 60)
    exchange.sync()


def test_the_schedule_runs_expiries_before_midnight_in_time_order() -> None:
    start = int(datetime(2026, 12, 7, 10, 0, tzinfo=IST).timestamp())
    schedule = Schedule(start)
    schedule.expire_at(start + 120, "b")
    schedule.expire_at(start + 60, "a")

    assert schedule.next_at == start + 60
    assert schedule.pop_due(start + 30) is None
    due = [schedule.pop_due(start + 2 * 86_400) for _ in range(5)]

    midnight = start + TO_MIDNIGHT
    assert due == [
        (start + 60, "a"),
        (start + 120, "b"),
        (midnight, None),
        (midnight + 86_400, None),
        None,
    ]


def test_day_orders_expire_at_midnight_and_the_books_start_empty(
    exchange: Exchange, wall: FakeWall
) -> None:
    resting = place(exchange, order_type="LIMIT", price="1450")
    filled = place(exchange)

    next_day(exchange, wall)

    registry = exchange.registry
    assert registry.orders == {}
    assert registry.user_orders["U1"] == {}
    assert registry.trades["U1"] == []
    assert exchange.execution.books == {}
    assert {resting, filled}.isdisjoint(registry.order_trades)


def test_ttl_orders_expire_after_their_minutes(exchange: Exchange, wall: FakeWall) -> None:
    order_id = place(exchange, order_type="LIMIT", price="1450", validity="TTL", validity_ttl="2")
    order = exchange.registry.orders[order_id]

    wall.tick(119)
    exchange.sync()
    assert order.status == "OPEN"
    wall.tick(2)
    exchange.sync()

    assert order.status == "CANCELLED"
    assert order.state.status_message == "Order expired: its validity (TTL) ran out."
    assert exchange.registry.accounts["U1"].blocked == 0


def test_delivery_buys_become_t1_then_settled_holdings(exchange: Exchange, wall: FakeWall) -> None:
    place(exchange, quantity="10")
    account = exchange.registry.accounts["U1"]
    price = account.positions[("NSE:INFY", "CNC")].average_price()

    next_day(exchange, wall)
    holding = account.holdings["NSE:INFY"]
    assert (holding.quantity, holding.t1_quantity, holding.average_price) == (0, 10, price)
    assert account.positions == {}

    next_day(exchange, wall)
    assert (holding.quantity, holding.t1_quantity) == (10, 0)


def test_delivery_sales_are_checked_against_holdings(exchange: Exchange, wall: FakeWall) -> None:
    with pytest.raises(HoldingError, match="Insufficient holdings") as refused:
        place(exchange, transaction_type="SELL", quantity="1")
    assert refused.value.http_status == 400
    assert refused.value.error_type == "HoldingException"
    place(exchange, quantity="10")
    next_day(exchange, wall)

    price = exchange.market.walk(infy(exchange), exchange.clock.second()).price
    above = str((price * Decimal("1.08")).quantize(Decimal("0.1")))
    place(exchange, transaction_type="SELL", order_type="LIMIT", price=above, quantity="6")
    with pytest.raises(HoldingError, match="at most 4 INFY"):
        place(exchange, transaction_type="SELL", quantity="5")
    place(exchange, transaction_type="SELL", quantity="4")
    next_day(exchange, wall)

    # The resting sale expired unfilled; the market sale delivered 4 of the 10.
    assert exchange.registry.accounts["U1"].holdings["NSE:INFY"].total == 6


def test_carried_positions_keep_their_quantity_and_price(
    exchange: Exchange, wall: FakeWall
) -> None:
    place(exchange, product="MIS", quantity="7")
    account = exchange.registry.accounts["U1"]
    price = account.positions[("NSE:INFY", "MIS")].average_price()
    place(exchange, product="MIS", transaction_type="SELL", quantity="2")

    next_day(exchange, wall)

    (position,) = account.positions.values()
    assert (position.quantity, position.overnight_quantity, position.buy_quantity) == (5, 5, 0)
    assert position.overnight_price == price
    assert position.average_price() == price


def test_holdings_deliver_settled_shares_first() -> None:
    holding = Holding(instrument=None, quantity=3, t1_quantity=5)  # type: ignore[arg-type]

    holding.deliver(4)

    assert (holding.quantity, holding.t1_quantity) == (0, 4)


def test_conversion_moves_quantity_at_its_average_price(catalogue: Catalogue) -> None:
    infy = catalogue.by_key("NSE:INFY")
    assert infy is not None
    account = Account("U1", Decimal(100_000))
    account.apply_fill(infy, "MIS", True, 10, Decimal(100))
    account.apply_fill(infy, "MIS", True, 10, Decimal(110))

    account.convert(infy, ("MIS", "CNC"), True, 5, overnight=False)

    mis, cnc = account.positions[("NSE:INFY", "MIS")], account.positions[("NSE:INFY", "CNC")]
    assert (mis.quantity, cnc.quantity) == (15, 5)
    assert cnc.average_price() == mis.average_price() == Decimal(105)
    with pytest.raises(InputError, match="exceeds"):
        account.convert(infy, ("MIS", "CNC"), True, 16, overnight=False)
    with pytest.raises(InputError, match="cannot be converted from MIS to NRML"):
        account.convert(infy, ("MIS", "NRML"), True, 1, overnight=False)
    with pytest.raises(InputError, match="no such position"):
        account.convert(infy, ("MTF", "MIS"), False, 1, overnight=False)
