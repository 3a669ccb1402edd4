"""Holdings, the trading-day rollover and position conversion through the SDK."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from kiteconnect import KiteConnect
from kiteconnect.exceptions import GeneralException, InputException

if TYPE_CHECKING:
    from conftest import Paper

HOLDING_FIELDS = {
    "tradingsymbol", "exchange", "instrument_token", "isin", "product", "price", "quantity",
    "used_quantity", "t1_quantity", "realised_quantity", "authorised_quantity",
    "authorised_date", "authorisation", "opening_quantity", "short_quantity",
    "collateral_quantity", "collateral_type", "discrepancy", "average_price", "last_price",
    "close_price", "pnl", "day_change", "day_change_percentage", "mtf",
}  # fmt: skip


def test_delivery_buys_become_holdings_t1_then_settled(paper: Paper, kite: KiteConnect) -> None:
    paper.place_market(kite, quantity=5)
    assert kite.holdings() == []

    kite = paper.next_day()
    (holding,) = kite.holdings()
    assert set(holding) == HOLDING_FIELDS
    assert (holding["quantity"], holding["t1_quantity"], holding["isin"]) == (0, 5, "INE009A01021")
    assert kite.positions() == {"net": [], "day": []}
    assert kite.orders() == []
    assert kite.trades() == []

    kite = paper.next_day()
    (holding,) = kite.holdings()
    assert (holding["quantity"], holding["t1_quantity"]) == (5, 0)
    assert holding["pnl"] == pytest.approx((holding["last_price"] - holding["average_price"]) * 5)


def test_selling_more_than_held_is_a_holding_exception(paper: Paper, kite: KiteConnect) -> None:
    with pytest.raises(GeneralException, match="Insufficient holdings") as refused:
        paper.place_market(kite, side="SELL")

    assert type(refused.value) is GeneralException  # the SDK has no HoldingException
    assert refused.value.code == 400
    assert kite.orders() == []
    paper.place_market(kite, quantity=3)
    kite = paper.next_day()
    paper.place_market(kite, side="SELL", quantity=2)

    (holding,) = kite.holdings()
    assert holding["used_quantity"] == 2
    with pytest.raises(GeneralException, match="at most 1 INFY"):
        paper.place_market(kite, side="SELL", quantity=2)


def test_day_orders_expire_at_the_rollover(paper: Paper, kite: KiteConnect) -> None:
    resting = paper.place_limit(kite, paper.on_tick(paper.ltp(kite) * 0.92))
    before = kite.order_history(resting)

    kite = paper.next_day()

    assert before[-1]["status"] == "OPEN"
    assert kite.orders() == []
    assert kite.margins("equity")["utilised"]["debits"] == 0


def test_ttl_orders_expire_after_their_minutes(paper: Paper, kite: KiteConnect) -> None:
    order_id = paper.place_limit(
        kite, paper.on_tick(paper.ltp(kite) * 0.95), validity="TTL", validity_ttl=1
    )

    paper.advance(61)

    final = kite.order_history(order_id)[-1]
    assert final["status"] == "CANCELLED"
    assert final["status_message"] == "Order expired: its validity (TTL) ran out."


def test_open_positions_carry_overnight(paper: Paper, kite: KiteConnect) -> None:
    kite.place_order(
        variety="regular", exchange="NSE", tradingsymbol="SBIN", transaction_type="SELL",
        quantity=4, product="MIS", order_type="MARKET", market_protection=-1,
    )  # fmt: skip
    (sold,) = kite.positions()["net"]

    kite = paper.next_day()

    positions = kite.positions()
    (net,) = positions["net"]
    assert positions["day"] == []
    assert (net["quantity"], net["overnight_quantity"], net["sell_quantity"]) == (-4, -4, 4)
    assert net["average_price"] == sold["average_price"]
    assert net["day_sell_quantity"] == 0


def test_convert_position(paper: Paper, kite: KiteConnect) -> None:
    kite.place_order(
        variety="regular", exchange="NSE", tradingsymbol="INFY", transaction_type="BUY",
        quantity=6, product="MIS", order_type="MARKET", market_protection=-1,
    )  # fmt: skip

    assert kite.convert_position("NSE", "INFY", "BUY", "day", 4, "MIS", "CNC") is True

    quantities = {row["product"]: row["quantity"] for row in kite.positions()["net"]}
    assert quantities == {"MIS": 2, "CNC": 4}
    with pytest.raises(InputException, match="exceeds the open day quantity"):
        kite.convert_position("NSE", "INFY", "BUY", "day", 3, "MIS", "CNC")
    with pytest.raises(InputException, match="Invalid `position_type`"):
        kite.convert_position("NSE", "INFY", "BUY", "week", 1, "MIS", "CNC")
    with pytest.raises(InputException, match="cannot be converted"):
        kite.convert_position("NSE", "INFY", "BUY", "day", 1, "CNC", "NRML")


def test_no_auctions_in_the_paper_market(kite: KiteConnect) -> None:
    assert kite.get_auction_instruments() == []
