"""Saving and loading the whole state keeps every order, trade, position and session."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import orjson

from paper_broker.books import Holding
from paper_broker.broker import PaperBroker
from paper_broker.config import PaperBrokerConfig
from paper_broker.gtt import trigger_view
from paper_broker.gtt_forms import parse_trigger
from paper_broker.persistence import load, save
from paper_broker.portfolio import position_view
from paper_broker.sessions import User
from paper_broker.validation import parse_place
from paper_broker.views import history_view, order_view, trade_view

FORM = {
    "exchange": "NSE",
    "tradingsymbol": "TCS",
    "transaction_type": "BUY",
    "quantity": "2",
    "product": "MIS",
    "order_type": "MARKET",
    "market_protection": "-1",
}


def test_round_trip(tmp_path: Path) -> None:
    config = PaperBrokerConfig(seed=11)
    broker = PaperBroker(config)
    broker.add_user(User("U2", "k2", "s2", Decimal("5000.25"), "http://cb"))
    exchange = broker.exchange
    (filled,) = exchange.place("PAPER1", parse_place(FORM, "regular", broker.catalogue))
    limit = {**FORM, "order_type": "LIMIT", "price": "3000.05", "tag": "keep"}
    (resting,) = exchange.place("PAPER1", parse_place(limit, "regular", broker.catalogue))
    path = tmp_path / "state.json"

    save(broker, path)
    restored = PaperBroker(config)
    load(restored, path)

    before, after = exchange.registry, restored.exchange.registry
    assert set(after.orders) == {filled, resting}
    for order_id in (filled, resting):
        assert history_view(after.orders[order_id]) == history_view(before.orders[order_id])
    assert [trade_view(t) for t in after.trades["PAPER1"]] == [
        trade_view(t) for t in before.trades["PAPER1"]
    ]
    account, copy = before.accounts["PAPER1"], after.accounts["PAPER1"]
    assert (copy.cash, copy.blocked) == (account.cash, account.blocked)
    ((key, position),) = account.positions.items()
    assert position_view(copy.positions[key], Decimal(1), Decimal(1)) == position_view(
        position, Decimal(1), Decimal(1)
    )
    assert restored.sessions.users["U2"].funds == Decimal("5000.25")
    assert resting in {
        o.order_id for b in restored.exchange.execution.books.values() for o in b.orders.values()
    }
    assert after.ids == before.ids
    assert order_view(after.orders[resting])["tag"] == "keep"


def test_holdings_triggers_and_the_trading_day_survive(tmp_path: Path) -> None:
    config = PaperBrokerConfig(seed=11)
    broker = PaperBroker(config)
    infy = broker.catalogue.by_key("NSE:INFY")
    assert infy is not None
    account = broker.exchange.registry.accounts["PAPER1"]
    account.holdings["NSE:INFY"] = Holding(
        infy, quantity=3, t1_quantity=2, average_price=Decimal(9)
    )
    values = {"exchange": "NSE", "tradingsymbol": "INFY", "trigger_values": [1500]}
    leg = {**values, "transaction_type": "BUY", "quantity": 1, "order_type": "LIMIT",
           "product": "CNC", "price": 1500}  # fmt: skip
    trigger = parse_trigger(
        {"type": "single", "condition": orjson.dumps(values).decode(),
         "orders": orjson.dumps([leg]).decode()},
        broker.catalogue,
        lambda item: broker.market.walk(item, broker.clock.second()),
        ("PAPER1", 100_001, 5),
        broker.clock.now(),
    )  # fmt: skip
    broker.gtts.create(trigger)
    ttl = {**FORM, "order_type": "LIMIT", "price": "3000", "validity": "TTL", "validity_ttl": "3"}
    (resting,) = broker.exchange.place("PAPER1", parse_place(ttl, "regular", broker.catalogue))
    path = tmp_path / "state.json"

    save(broker, path)
    restored = PaperBroker(config)
    load(restored, path)

    holding = restored.exchange.registry.accounts["PAPER1"].holdings["NSE:INFY"]
    assert (holding.quantity, holding.t1_quantity, holding.average_price) == (3, 2, 9)
    assert trigger_view(restored.gtts.get("PAPER1", 100_001)) == trigger_view(trigger)
    book = restored.exchange.execution.books[infy.instrument_token]
    assert 100_001 in book.triggers
    assert restored.exchange.schedule.day_end == broker.exchange.schedule.day_end
    assert [order.order_id for order in restored.exchange.execution.went_live] == [resting]
