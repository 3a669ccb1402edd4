"""Saving and loading the whole state keeps every order, trade, position and session."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from paper_broker.broker import PaperBroker
from paper_broker.config import PaperBrokerConfig
from paper_broker.persistence import load, save
from paper_broker.sessions import User
from paper_broker.validation import parse_place
from paper_broker.views import history_view, order_view, position_view, trade_view

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
    limit = {**FORM, "order_type": "LIMIT", "price": "100.05", "tag": "keep"}
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
