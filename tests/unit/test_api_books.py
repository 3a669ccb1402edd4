"""The books over HTTP: positions, trades, P&L with charges by name, CSV, and every refusal."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import httpx
import pytest

from order_service.domain.ids import AccountId
from order_service.domain.reports import HoldingReport, QuoteReport
from order_service.domain.values import Exchange, Product, TransactionType
from order_service.entrypoints.api.app import create_app
from order_service.errors import BrokerUnavailable, RateLimitError
from tests.factories import OTHER_ACCOUNT, make_limit_request
from tests.unit.answers import body, refused
from tests.unit.conftest import World, add_trader, api_client, log_in

pytestmark = pytest.mark.asyncio

DAY = "2026-11-30"  # the FakeClock's day (09:30 IST), under the schedule of 2026-04-01


async def trade(world: World, side: TransactionType, price: str, quantity: int = 10) -> None:
    """A MIS LIMIT order of INFY on PAPER1, filled whole at its price, its fill in the ledger."""
    request = make_limit_request(
        transaction_type=side, price=Decimal(price), quantity=quantity, product=Product.MIS
    )
    order = (await world.services.orders.place_order(world.trader, request, None)).order
    assert order.broker_order_id is not None
    world.broker.fill(order.broker_order_id)
    await world.services.trades.sync_account(order.account_id)


async def round_trip(world: World) -> None:
    await trade(world, TransactionType.BUY, "1500.00")
    await trade(world, TransactionType.SELL, "1510.00")


async def test_an_intraday_round_trip_nets_its_gain_less_every_charge(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    await round_trip(world)

    answer = body(await trader_api.get("/api/v1/pnl", params={"from": DAY, "to": DAY}))

    (line,) = answer["items"]
    # Realised: 10 x (1510 - 1500) = 100.00; nothing open.
    assert Decimal(line["realised"]) == Decimal(100)
    assert Decimal(line["unrealised"]) == 0
    # Buy, turnover 15,000: brokerage 0.03 % = 4.50; exchange 0.00297 % = 0.4455 -> 0.45;
    # SEBI 0.015 -> 0.02; stamp 0.003 % = 0.45; STT none on an intraday buy;
    # GST 18 % of (4.50 + 0.45 + 0.02 = 4.97) = 0.8946 -> 0.89.
    # Sell, turnover 15,100: brokerage 4.53; STT 0.025 % = 3.775 -> 4 (to the rupee);
    # exchange 0.44847 -> 0.45; SEBI 0.0151 -> 0.02; GST 18 % of 5.00 = 0.90.
    expected = {
        "brokerage": "9.03",
        "stt": "4",
        "exchange_transaction": "0.90",
        "sebi_fee": "0.04",
        "stamp_duty": "0.45",
        "gst": "1.79",
        "dp": "0",
    }
    assert {name: Decimal(value) for name, value in line["charges"].items()} == {
        name: Decimal(value) for name, value in expected.items()
    }
    assert Decimal(line["total_charges"]) == Decimal("16.21")
    assert Decimal(line["net"]) == Decimal("83.79")


async def test_fifo_and_average_agree_on_a_flat_position(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    await round_trip(world)
    params = {"from": DAY, "to": DAY}

    average = body(await trader_api.get("/api/v1/pnl", params=params))
    fifo = body(await trader_api.get("/api/v1/pnl", params={**params, "method": "fifo"}))

    assert fifo["method"] == "fifo"
    assert fifo["items"][0]["realised"] == average["items"][0]["realised"]


async def test_positions_show_kites_fields_marked_by_the_quote_when_there_is_one(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    await trade(world, TransactionType.BUY, "1500.00")
    world.broker.marks["NSE:INFY"] = QuoteReport("NSE", "INFY", Decimal("1512.25"), Decimal(1490))

    (position,) = body(await trader_api.get("/api/v1/positions", params={"day": DAY}))

    net = position["net"]
    assert (net["quantity"], net["product"], net["mark_source"]) == (10, "MIS", "quote")
    assert Decimal(net["value"]) == Decimal(-15000)  # sold 0 - bought 15,000
    assert Decimal(net["pnl"]) == Decimal("122.50")  # -15,000 + 10 x 1512.25
    assert Decimal(net["unrealised"]) == Decimal("122.50")


async def test_without_a_quote_the_last_fill_marks_and_the_answer_says_so(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    await trade(world, TransactionType.BUY, "1500.00")
    world.broker.fail_next("quotes", RateLimitError("the quote budget is spent"))

    (position,) = body(await trader_api.get("/api/v1/positions", params={"day": DAY}))

    assert position["net"]["mark_source"] == "last_fill"
    assert Decimal(position["net"]["last_price"]) == Decimal(1500)
    assert Decimal(position["net"]["pnl"]) == 0


async def test_strategy_view_names_the_strategy(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    await round_trip(world)

    answer = body(await trader_api.get("/api/v1/pnl", params={"group_by": "strategy", "from": DAY}))

    (line,) = answer["items"]
    assert line["strategy_id"] is not None
    assert Decimal(line["realised"]) == Decimal(100)


async def test_trades_page_by_sequence_and_stream_as_csv(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    await round_trip(world)

    first = body(await trader_api.get("/api/v1/trades", params={"from": DAY, "limit": 1}))
    cursor = first["next_cursor"]
    second = body(
        await trader_api.get("/api/v1/trades", params={"from": DAY, "limit": 1, "cursor": cursor})
    )
    exported = await trader_api.get("/api/v1/trades.csv", params={"from": DAY, "to": DAY})

    assert [t["transaction_type"] for t in first["items"] + second["items"]] == ["BUY", "SELL"]
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["transaction_type"], r["price"]) for r in rows] == [
        ("BUY", "1500.00"),
        ("SELL", "1510.00"),
    ]


async def test_pnl_csv_has_a_column_per_charge(world: World, trader_api: httpx.AsyncClient) -> None:
    await round_trip(world)

    exported = await trader_api.get("/api/v1/pnl.csv", params={"from": DAY})

    (row,) = list(csv.DictReader(io.StringIO(exported.text)))
    assert Decimal(row["stt"]) == 4
    assert Decimal(row["net"]) == Decimal("83.79")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"group_by": "desk"}, "group_by"),
        ({"method": "lifo"}, "method"),
        ({"from": "2026-11-30", "to": "2026-11-01"}, "from"),
        ({"from": "2020-01-01", "to": "2026-11-30"}, "to"),
        ({"from": "30-11-2026"}, "from"),
        ({"from": "2026-11-30", "to": "9999-12-31"}, "to"),
        ({"from": "0001-01-01", "to": "0001-01-02"}, "from"),
    ],
)
async def test_bad_pnl_queries_name_the_field(
    trader_api: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    error = refused(await trader_api.get("/api/v1/pnl", params=params), 422, "INVALID_INPUT")
    # The framework names a query parameter it could not parse "query.<name>".
    assert error["details"]["field"] in (field, f"query.{field}")


async def test_another_users_account_does_not_exist(
    world: World, outsider: object, trader_api: httpx.AsyncClient
) -> None:
    for path in ("/api/v1/pnl", "/api/v1/positions", "/api/v1/trades", "/api/v1/trades.csv"):
        response = await trader_api.get(path, params={"account_id": OTHER_ACCOUNT})
        refused(response, 404, "NOT_FOUND")


async def test_the_books_need_credentials(anonymous_api: httpx.AsyncClient) -> None:
    for path in ("/api/v1/pnl", "/api/v1/positions", "/api/v1/holdings", "/api/v1/trades"):
        refused(await anonymous_api.get(path), 401, "UNAUTHENTICATED")


async def test_holdings_are_the_brokers_attributed_by_our_delivery_fills(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    request = make_limit_request(quantity=4, price=Decimal("1500.00"))  # CNC BUY
    order = (await world.services.orders.place_order(world.trader, request, None)).order
    assert order.broker_order_id is not None
    world.broker.fill(order.broker_order_id)
    await world.services.trades.sync_account(order.account_id)
    world.clock.advance(24 * 3600)  # the next day: yesterday's delivery buy is a holding
    await log_in(world.services, world.trader, order.account_id)
    world.broker.holding_book[:] = [
        HoldingReport(
            "NSE",
            "INFY",
            "INE009A01021",
            0,
            4,
            Decimal(1500),
            Decimal(1510),
            Decimal(1505),
            Decimal(40),
        ),
    ]

    answer = body(await trader_api.get("/api/v1/holdings"))

    (holding,) = answer["items"]
    assert (holding["tradingsymbol"], holding["t1_quantity"]) == ("INFY", 4)
    assert holding["by_strategy"] == {order.strategy_id: 4}
    assert answer["unavailable"] == []


async def test_an_account_the_broker_cannot_answer_for_is_named_not_fatal(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    world.broker.fail_next("holdings", BrokerUnavailable("the broker is down"))

    answer = body(await trader_api.get("/api/v1/holdings"))

    assert answer["items"] == []
    ((unavailable),) = answer["unavailable"]
    assert (unavailable["account_id"], unavailable["code"]) == ("PAPER1", "BROKER_UNAVAILABLE")


async def test_a_new_fill_moves_the_charges_of_a_repeated_question(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    await round_trip(world)
    first = body(await trader_api.get("/api/v1/pnl", params={"from": DAY}))

    await trade(world, TransactionType.BUY, "1500.00")  # one more executed order
    again = body(await trader_api.get("/api/v1/pnl", params={"from": DAY}))

    before = Decimal(first["items"][0]["charges"]["brokerage"])
    assert Decimal(again["items"][0]["charges"]["brokerage"]) == before + Decimal("4.50")


async def test_each_user_gets_the_charges_of_their_own_accounts(
    world: World, outsider: object, trader_api: httpx.AsyncClient
) -> None:
    await round_trip(world)
    body(await trader_api.get("/api/v1/pnl", params={"from": DAY}))
    _, key = await add_trader(world.services, "third", AccountId("PAPER3"))

    async with api_client(create_app(world.services), key) as third:
        answer = body(await third.get("/api/v1/pnl", params={"from": DAY}))

    assert answer["items"] == []  # PAPER3 traded nothing; PAPER1's charges are not its


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/positions", {"day": "9999-12-31"}, "day"),
        ("/api/v1/trades", {"from": "0001-01-01"}, "from"),
        ("/api/v1/trades", {"cursor": str(10**20)}, "cursor"),
    ],
)
async def test_the_calendars_ends_and_huge_cursors_are_refused_not_a_500(
    trader_api: httpx.AsyncClient, path: str, params: dict[str, str], field: str
) -> None:
    error = refused(await trader_api.get(path, params=params), 422, "INVALID_INPUT")
    assert error["details"]["field"] in (field, f"query.{field}")


async def test_an_order_no_schedule_can_charge_is_named_and_the_rest_answered(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    await round_trip(world)
    request = make_limit_request(
        exchange=Exchange.MCX, tradingsymbol="CRUDEOIL26DECFUT", product=Product.NRML
    )
    order = (await world.services.orders.place_order(world.trader, request, None)).order
    assert order.broker_order_id is not None
    world.broker.fill(order.broker_order_id)
    await world.services.trades.sync_account(order.account_id)

    answer = body(await trader_api.get("/api/v1/pnl", params={"from": DAY}))

    (uncharged,) = answer["uncharged"]
    assert uncharged["order_id"] == order.order_id
    assert "not supported" in uncharged["reason"]
    assert Decimal(answer["items"][0]["charges"]["stt"]) == 4  # the INFY round trip still


async def test_a_past_day_is_marked_by_its_last_fill_not_todays_quote(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    await trade(world, TransactionType.BUY, "1500.00")
    world.clock.advance(24 * 3600)
    world.broker.marks["NSE:INFY"] = QuoteReport("NSE", "INFY", Decimal(1600), Decimal(1590))

    (position,) = body(await trader_api.get("/api/v1/positions", params={"day": DAY}))

    assert position["net"]["mark_source"] == "last_fill"
    assert Decimal(position["net"]["last_price"]) == Decimal(1500)


async def test_an_instrument_the_broker_does_not_quote_costs_no_read_per_request(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    await trade(world, TransactionType.BUY, "1500.00")  # no quote for NSE:INFY in the fake
    body(await trader_api.get("/api/v1/positions", params={"day": DAY}))
    reads = world.broker.calls["quotes"]

    (position,) = body(await trader_api.get("/api/v1/positions", params={"day": DAY}))

    assert world.broker.calls["quotes"] == reads
    assert position["net"]["mark_source"] == "last_fill"


async def test_holdings_polled_again_are_answered_without_another_broker_read(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    body(await trader_api.get("/api/v1/holdings"))
    reads = world.broker.calls["holdings"]

    body(await trader_api.get("/api/v1/holdings"))

    assert world.broker.calls["holdings"] == reads


async def test_a_pnl_polled_through_the_day_follows_each_new_fill(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    # Each answer goes on from the last one: it must be the answer asked afresh would be.
    world.broker.marks["NSE:INFY"] = QuoteReport("NSE", "INFY", Decimal("1504.00"), Decimal(1490))
    await trade(world, TransactionType.BUY, "1500.00")
    (opened,) = body(await trader_api.get("/api/v1/pnl", params={"from": DAY}))["items"]
    await trade(world, TransactionType.SELL, "1510.00")
    (closed,) = body(await trader_api.get("/api/v1/pnl", params={"from": DAY}))["items"]

    assert (Decimal(opened["realised"]), Decimal(opened["unrealised"])) == (0, Decimal(40))
    assert (Decimal(closed["realised"]), Decimal(closed["unrealised"])) == (Decimal(100), 0)
    assert Decimal(closed["total_charges"]) == Decimal("16.21")
    assert Decimal(closed["net"]) == Decimal("83.79")


async def test_a_pnl_spends_no_quote_read_on_what_is_flat(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    await round_trip(world)  # INFY bought and sold: nothing open to mark
    reads = world.broker.calls["quotes"]

    (line,) = body(await trader_api.get("/api/v1/pnl", params={"from": DAY}))["items"]

    assert world.broker.calls["quotes"] == reads
    assert Decimal(line["realised"]) == Decimal(100)
