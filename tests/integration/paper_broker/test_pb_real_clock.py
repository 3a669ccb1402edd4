"""The `real` clock keeps NSE hours: regular orders are refused outside them, AMOs wait."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from kiteconnect import KiteConnect
from kiteconnect.exceptions import InputException

from paper_broker import PaperBrokerConfig, PaperBrokerServer
from tests.moments import PAPER_CLOCK_START

if TYPE_CHECKING:
    from conftest import Paper

SATURDAY_NOON = "2026-12-05T12:00:00+05:30"
FRIDAY_EVENING = "2026-12-04T18:30:00+05:30"
MONDAY_OPEN = "2026-12-07T09:15:00+05:30"


@pytest.fixture(scope="module")
def server() -> Iterator[PaperBrokerServer]:
    server = PaperBrokerServer(
        PaperBrokerConfig(port=0, clock="real", rate_limits=False, clock_start=PAPER_CLOCK_START)
    )
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("moment", [SATURDAY_NOON, FRIDAY_EVENING, "2026-12-07T09:14:59+05:30"])
def test_regular_orders_are_refused_when_the_market_is_closed(paper: Paper, moment: str) -> None:
    paper.post("clock", {"set": moment})
    kite = paper.login()

    with pytest.raises(InputException, match="Markets are closed right now") as raised:
        paper.place_market(kite)

    assert raised.value.code == 400
    assert kite.orders() == []


def test_orders_trade_in_session(paper: Paper) -> None:
    paper.post("clock", {"set": "2026-12-07T10:00:00+05:30"})
    kite = paper.login()

    order_id = paper.place_market(kite)

    assert kite.order_history(order_id)[-1]["status"] == "COMPLETE"


def test_an_amo_waits_for_the_open(paper: Paper) -> None:
    paper.post("clock", {"set": FRIDAY_EVENING})
    kite: KiteConnect = paper.login()
    order_id = kite.place_order(
        variety="amo", exchange="NSE", tradingsymbol="INFY", transaction_type="BUY", quantity=1,
        product="CNC", order_type="MARKET", market_protection=-1,
    )  # fmt: skip
    assert [entry["status"] for entry in kite.order_history(order_id)] == ["AMO REQ RECEIVED"]
    kite.modify_order("amo", order_id, quantity=2)
    assert kite.order_history(order_id)[-1]["status"] == "AMO REQ RECEIVED"

    paper.post("clock", {"set": MONDAY_OPEN})
    kite = paper.login()

    history = kite.order_history(order_id)
    assert history[-1]["status"] == "COMPLETE"
    assert history[-1]["quantity"] == 2
    assert "VALIDATION PENDING" in [entry["status"] for entry in history]
