"""The order lifecycle through the unmodified SDK: place, fill, rest, modify, cancel, books."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import pytest
from kiteconnect import KiteConnect
from kiteconnect.exceptions import GeneralException, InputException, OrderException

if TYPE_CHECKING:
    from conftest import Paper

ORDER_FIELDS = {
    "account_id", "placed_by", "terminal_id", "order_id", "exchange_order_id", "parent_order_id",
    "guid", "status", "status_message", "status_message_raw", "modified", "order_timestamp",
    "exchange_update_timestamp", "exchange_timestamp", "variety", "exchange", "tradingsymbol",
    "instrument_token", "order_type", "transaction_type", "validity", "validity_ttl", "product",
    "quantity", "disclosed_quantity", "price", "trigger_price", "auction_number",
    "average_price", "filled_quantity", "pending_quantity", "cancelled_quantity",
    "market_protection", "meta", "tag", "tags",
}  # fmt: skip
POSITION_FIELDS = {
    "tradingsymbol", "exchange", "instrument_token", "product", "quantity", "overnight_quantity",
    "multiplier", "average_price", "close_price", "last_price", "value", "pnl", "m2m",
    "unrealised", "realised", "buy_quantity", "buy_price", "buy_value", "buy_m2m",
    "sell_quantity", "sell_price", "sell_value", "sell_m2m", "day_buy_quantity", "day_buy_price",
    "day_buy_value", "day_sell_quantity", "day_sell_price", "day_sell_value",
}  # fmt: skip
TRADE_FIELDS = {
    "trade_id", "order_id", "exchange", "tradingsymbol", "instrument_token", "product",
    "average_price", "quantity", "exchange_order_id", "transaction_type", "fill_timestamp",
    "order_timestamp", "exchange_timestamp",
}  # fmt: skip


def test_a_market_order_completes_at_once_with_a_trade_and_a_position(
    paper: Paper, kite: KiteConnect
) -> None:
    price = paper.ltp(kite)

    order_id = paper.place_market(kite, quantity=3, tag="run1")

    assert isinstance(order_id, str)
    assert order_id.isdigit()
    (order,) = kite.orders()
    assert set(order) == ORDER_FIELDS
    assert order["status"] == "COMPLETE"
    assert order["filled_quantity"] == 3
    assert order["pending_quantity"] == 0
    assert order["tag"] == "run1"
    assert order["tags"] == ["run1"]
    assert isinstance(order["order_timestamp"], datetime)
    (trade,) = kite.order_trades(order_id)
    assert set(trade) == TRADE_FIELDS
    assert trade["quantity"] == 3
    assert len(trade["order_timestamp"]) == 8  # "HH:MM:SS", left as a string by the SDK
    assert kite.trades() == [trade]
    positions = kite.positions()
    (net,) = positions["net"]
    assert set(net) == POSITION_FIELDS
    assert positions["day"] == positions["net"]
    assert net["quantity"] == 3
    assert abs(net["average_price"] - price) < price * 0.01


def test_fills_move_cash(paper: Paper, kite: KiteConnect) -> None:
    before = kite.margins("equity")["available"]["cash"]

    order_id = paper.place_market(kite, quantity=2)

    (trade,) = kite.order_trades(order_id)
    after = kite.margins()["equity"]["available"]["cash"]
    assert after == pytest.approx(before - 2 * trade["average_price"])
    paper.place_market(kite, side="SELL", quantity=2)
    assert kite.positions()["net"][0]["quantity"] == 0


def test_order_history_walks_through_the_interim_statuses(paper: Paper, kite: KiteConnect) -> None:
    order_id = paper.place_market(kite)

    history = kite.order_history(order_id)

    statuses = [entry["status"] for entry in history]
    assert statuses == [
        "PUT ORDER REQ RECEIVED",
        "VALIDATION PENDING",
        "OPEN PENDING",
        "OPEN",
        "COMPLETE",
    ]
    for entry in history[:2]:
        assert entry["exchange_order_id"] is None
        assert entry["exchange_timestamp"] is None
    # The exchange order id exists from OPEN PENDING on; the exchange timestamp from OPEN.
    assert history[2]["exchange_order_id"] == history[4]["exchange_order_id"] is not None
    assert history[2]["exchange_timestamp"] is None
    assert isinstance(history[3]["exchange_timestamp"], datetime)
    assert all(entry["order_id"] == order_id for entry in history)


def test_a_limit_order_rests_is_modified_and_fills_when_the_price_crosses(
    paper: Paper, kite: KiteConnect
) -> None:
    price = paper.ltp(kite)
    order_id = paper.place_limit(kite, paper.on_tick(price * 0.95))
    assert kite.order_history(order_id)[-1]["status"] == "OPEN"

    new_price = paper.on_tick(price * 0.94)
    assert kite.modify_order("regular", order_id, price=new_price, quantity=2) == order_id
    modified = kite.order_history(order_id)
    assert [entry["status"] for entry in modified[-4:]] == [
        "MODIFY VALIDATION PENDING",
        "MODIFY PENDING",
        "MODIFIED",
        "OPEN",
    ]
    assert modified[-1]["price"] == new_price
    assert modified[-1]["quantity"] == 2
    assert modified[-1]["modified"] is True

    paper.set_prices({"NSE:INFY": str(paper.on_tick(price * 0.93))})

    final = kite.order_history(order_id)[-1]
    assert final["status"] == "COMPLETE"
    assert final["average_price"] == new_price
    assert kite.order_trades(order_id)[0]["quantity"] == 2


def test_a_sell_limit_fills_when_the_price_rises_to_it(paper: Paper, kite: KiteConnect) -> None:
    price = paper.ltp(kite)
    order_id = paper.place_limit(kite, paper.on_tick(price * 1.05), side="SELL", product="MIS")

    paper.set_prices({"NSE:INFY": str(paper.on_tick(price * 1.02))})
    assert kite.order_history(order_id)[-1]["status"] == "OPEN"
    paper.set_prices({"NSE:INFY": str(paper.on_tick(price * 1.06))})

    assert kite.order_history(order_id)[-1]["status"] == "COMPLETE"


def test_a_stop_loss_waits_for_its_trigger(paper: Paper, kite: KiteConnect) -> None:
    price = paper.ltp(kite)
    trigger = paper.on_tick(price * 1.05)
    order_id = kite.place_order(
        variety="regular", exchange="NSE", tradingsymbol="INFY", transaction_type="BUY",
        quantity=1, product="CNC", order_type="SL-M", trigger_price=trigger, market_protection=-1,
    )  # fmt: skip
    assert kite.order_history(order_id)[-1]["status"] == "TRIGGER PENDING"

    paper.set_prices({"NSE:INFY": str(paper.on_tick(price * 1.06))})

    history = [entry["status"] for entry in kite.order_history(order_id)]
    assert history[-3:] == ["TRIGGER PENDING", "OPEN", "COMPLETE"]


def test_cancel_an_open_order(paper: Paper, kite: KiteConnect) -> None:
    order_id = paper.place_limit(kite, paper.on_tick(paper.ltp(kite) * 0.95), quantity=4)

    assert kite.cancel_order("regular", order_id) == order_id

    history = kite.order_history(order_id)
    assert [entry["status"] for entry in history[-2:]] == ["CANCEL PENDING", "CANCELLED"]
    assert history[-1]["cancelled_quantity"] == 4
    assert kite.margins("equity")["utilised"]["debits"] == 0


def test_completed_orders_can_be_neither_cancelled_nor_modified(
    paper: Paper, kite: KiteConnect
) -> None:
    order_id = paper.place_market(kite)

    with pytest.raises(OrderException, match="completed") as cancelled:
        kite.cancel_order("regular", order_id)
    with pytest.raises(OrderException, match="completed") as modified:
        kite.modify_order("regular", order_id, quantity=2)

    assert cancelled.value.code == modified.value.code == 400


def test_unknown_orders_are_input_errors(kite: KiteConnect) -> None:
    for call in (
        lambda: kite.order_history("999"),
        lambda: kite.cancel_order("regular", "999"),
        lambda: kite.modify_order("regular", "999", quantity=1),
    ):
        with pytest.raises(InputException) as raised:
            call()
        assert raised.value.code == 400


def test_the_twenty_sixth_modification_is_refused(paper: Paper, kite: KiteConnect) -> None:
    price = paper.ltp(kite)
    order_id = paper.place_limit(kite, paper.on_tick(price * 0.95))
    for step in range(25):
        kite.modify_order("regular", order_id, price=paper.on_tick(price * 0.95 - 0.05 * step))

    with pytest.raises(OrderException, match="Maximum allowed order modifications exceeded"):
        kite.modify_order("regular", order_id, price=paper.on_tick(price * 0.93))

    assert kite.cancel_order("regular", order_id) == order_id


def test_insufficient_funds_is_a_margin_exception_the_sdk_raises_as_general(
    kite: KiteConnect,
) -> None:
    with pytest.raises(GeneralException) as raised:
        kite.place_order(
            variety="regular", exchange="NSE", tradingsymbol="TCS", transaction_type="BUY",
            quantity=1000, product="CNC", order_type="LIMIT", price=3000,
        )  # fmt: skip

    assert raised.value.code == 400
    assert str(raised.value) == (
        "Insufficient funds. Required margin is 3000000.00 but available margin is 1000000.00."
    )
    assert kite.orders() == []


def test_intraday_orders_need_a_fifth_of_the_value(kite: KiteConnect) -> None:
    order_id = kite.place_order(
        variety="regular", exchange="NSE", tradingsymbol="TCS", transaction_type="BUY",
        quantity=1000, product="MIS", order_type="LIMIT", price=3000,
    )  # fmt: skip

    assert kite.order_history(order_id)[-1]["status"] in {"OPEN", "COMPLETE"}


def test_an_ioc_limit_that_cannot_trade_is_cancelled(paper: Paper, kite: KiteConnect) -> None:
    price = paper.on_tick(paper.ltp(kite) * 0.95)

    order_id = paper.place_limit(kite, price, validity="IOC")

    assert kite.order_history(order_id)[-1]["status"] == "CANCELLED"


def test_futures_trade_in_lots(paper: Paper, kite: KiteConnect) -> None:
    futures = [row for row in kite.instruments("NFO") if row["instrument_type"] == "FUT"]
    nifty = min((row for row in futures if row["name"] == "NIFTY"), key=lambda row: row["expiry"])

    order_id = kite.place_order(
        variety="regular", exchange="NFO", tradingsymbol=nifty["tradingsymbol"],
        transaction_type="SELL", quantity=150, product="NRML", order_type="MARKET",
        market_protection=2,
    )  # fmt: skip

    assert kite.order_history(order_id)[-1]["status"] == "COMPLETE"
    assert kite.positions()["net"][0]["quantity"] == -150


def test_a_cover_order_opens_a_stop_leg_and_exits_through_it(
    paper: Paper, kite: KiteConnect
) -> None:
    price = paper.ltp(kite)
    entry_id = kite.place_order(
        variety="co", exchange="NSE", tradingsymbol="INFY", transaction_type="BUY", quantity=5,
        product="MIS", order_type="MARKET", trigger_price=paper.on_tick(price * 0.95),
        market_protection=-1,
    )  # fmt: skip

    orders = {order["order_id"]: order for order in kite.orders()}
    (leg,) = [order for order in orders.values() if order["parent_order_id"] == entry_id]
    assert orders[entry_id]["product"] == "CO"
    assert leg["status"] == "TRIGGER PENDING"
    assert leg["transaction_type"] == "SELL"

    kite.exit_order("co", leg["order_id"], parent_order_id=entry_id)

    assert kite.order_history(leg["order_id"])[-1]["status"] == "COMPLETE"
    assert kite.positions()["net"][0]["quantity"] == 0


def test_the_stop_of_a_limit_cover_order_can_be_moved(paper: Paper, kite: KiteConnect) -> None:
    price = paper.ltp(kite)
    entry_id = kite.place_order(
        variety="co", exchange="NSE", tradingsymbol="INFY", transaction_type="BUY", quantity=1,
        product="MIS", order_type="LIMIT", price=paper.on_tick(price * 1.01),
        trigger_price=paper.on_tick(price * 0.95),
    )  # fmt: skip
    (leg,) = [order for order in kite.orders() if order["parent_order_id"] == entry_id]

    new_trigger = paper.on_tick(price * 0.9)
    kite.modify_order("co", leg["order_id"], parent_order_id=entry_id, trigger_price=new_trigger)

    last = kite.order_history(leg["order_id"])[-1]
    assert last["status"] == "TRIGGER PENDING"
    assert last["trigger_price"] == new_trigger


def test_autoslice_splits_at_the_freeze_quantity(paper: Paper) -> None:
    paper.post("users", {"user_id": "RICH", "api_key": "rich", "api_secret": "r", "funds": 10**9})
    kite = paper.login("rich", "r")
    nifty = next(
        row for row in kite.instruments("NFO")
        if row["name"] == "NIFTY" and row["instrument_type"] == "FUT"
    )  # fmt: skip

    placed = kite.place_autoslice_order(
        variety="regular", exchange="NFO", tradingsymbol=nifty["tradingsymbol"],
        transaction_type="BUY", quantity=1800 * 2 + 75, product="MIS", order_type="MARKET",
        market_protection=-1,
    )  # fmt: skip

    children = [child["order_id"] for child in placed["children"]]
    assert placed["order_id"] == children[0]
    assert [kite.order_history(child)[-1]["quantity"] for child in children] == [1800, 1800, 75]
    assert kite.order_history(children[1])[-1]["tags"] == ["autoslice", f"autoslice:{children[0]}"]


def test_an_amo_in_an_open_session_goes_straight_to_the_exchange(
    paper: Paper, kite: KiteConnect
) -> None:
    order_id = kite.place_order(
        variety="amo", exchange="NSE", tradingsymbol="SBIN", transaction_type="BUY", quantity=1,
        product="CNC", order_type="LIMIT", price=paper.on_tick(paper.ltp(kite, "NSE:SBIN") * 0.9),
    )  # fmt: skip

    statuses = [entry["status"] for entry in kite.order_history(order_id)]
    assert statuses[0] == "AMO REQ RECEIVED"
    assert statuses[-1] == "OPEN"


def test_orders_of_other_users_are_invisible(paper: Paper, kite: KiteConnect) -> None:
    paper.post("users", {"user_id": "OTHER", "api_key": "other", "api_secret": "o"})
    order_id = paper.place_market(kite)
    other = paper.login("other", "o")

    with pytest.raises(InputException):
        other.order_history(order_id)
    with pytest.raises(InputException):
        other.cancel_order("regular", order_id)
