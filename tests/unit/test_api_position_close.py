"""Closing positions through the API: one position, a strategy's, an account's; each close an
ordinary placement, never sent when it could overshoot, never sent twice for one key."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import pytest_asyncio

from order_service.domain.account import Principal
from order_service.domain.ids import StrategyId
from order_service.domain.reports import PositionReport
from order_service.domain.values import OrderType, Product, TransactionType
from order_service.entrypoints.api.app import create_app
from order_service.errors import BrokerUnavailable, Conflict
from order_service.services.position_close import CloseScope, CloseTerms
from tests.factories import make_request
from tests.unit.answers import LIMIT, body, refused
from tests.unit.conftest import ACCOUNT, OTHER_ACCOUNT, World, api_client, log_in
from tests.unit.test_position_sync import logged_out

pytestmark = pytest.mark.asyncio
PATH = "/api/v1/positions/close"
INFY = {"account_id": ACCOUNT, "exchange": "NSE", "tradingsymbol": "INFY"}
PRICE = Decimal("1500.00")


async def traded(world: World, **terms: Any) -> None:
    """A MARKET order of ours that fills at the broker, and its fill in our ledger."""
    request = make_request(**{"product": Product.MIS, **terms})
    # A new strategy is under script control: the trader steps in to trade it.
    force = request.strategy_id is not None
    placed = await world.services.orders.place_order(world.trader, request, None, force)
    assert placed.created
    await world.services.reconcile.sync_account(ACCOUNT)
    await world.services.trades.sync_account(ACCOUNT)
    world.clock.advance(1)  # what is placed next comes later, as it does


def broker_holds(world: World, *rows: tuple[str, str, int]) -> None:
    """The broker's net positions: (tradingsymbol, product, quantity) on NSE."""
    zero = Decimal(0)
    world.broker.position_book[:] = [
        PositionReport("NSE", symbol, product, quantity, 0, PRICE, PRICE, PRICE, zero, zero, zero)
        for symbol, product, quantity in rows
    ]


def sent(world: World) -> list[tuple[str, str, int, str]]:
    """What the broker was asked to place: side, symbol, quantity and order type."""
    return [
        (r.transaction_type.value, r.tradingsymbol, r.quantity, r.order_type.value)
        for r in world.broker._requests.values()
    ]


async def new_strategy(world: World, name: str) -> StrategyId:
    strategy = await world.services.strategies.create_strategy(world.trader, ACCOUNT, name)
    return strategy.strategy_id


async def test_one_position_is_closed_with_a_protected_market_order_of_the_other_side(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    await traded(world, quantity=10)
    await traded(world, tradingsymbol="SBIN", quantity=5, transaction_type=TransactionType.SELL)
    broker_holds(world, ("INFY", "MIS", 10), ("SBIN", "MIS", -5))

    answer = body(await trader_api.post(PATH, json=INFY))

    assert (answer["placed"], answer["failed"], answer["repeated"]) == (1, 0, 0)
    (close,) = answer["closes"]
    assert (close["tradingsymbol"], close["product"], close["net_quantity"]) == ("INFY", "MIS", 10)
    assert (close["outcome"], close["http_status"]) == ("placed", 201)
    order = close["order"]
    assert (order["transaction_type"], order["quantity"], order["product"]) == ("SELL", 10, "MIS")
    assert (order["order_type"], order["market_protection"]) == ("MARKET", "-1")
    assert order["strategy_id"] == close["strategy_id"]
    assert sent(world)[-1] == ("SELL", "INFY", 10, "MARKET")
    assert len(sent(world)) == 3  # SBIN left as it is


async def test_an_accounts_close_closes_each_open_position_and_passes_flat_ones_by(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    await traded(world, quantity=10)
    await traded(world, tradingsymbol="SBIN", quantity=5, transaction_type=TransactionType.SELL)
    await traded(world, tradingsymbol="TCS", quantity=2)
    await traded(world, tradingsymbol="TCS", quantity=2, transaction_type=TransactionType.SELL)
    broker_holds(world, ("INFY", "MIS", 10), ("SBIN", "MIS", -5), ("TCS", "MIS", 0))

    answer = body(await trader_api.post(PATH, json={"account_id": ACCOUNT}))

    closed = {(c["tradingsymbol"], c["order"]["transaction_type"]) for c in answer["closes"]}
    assert closed == {("INFY", "SELL"), ("SBIN", "BUY")}
    assert answer["placed"] == 2
    assert sorted(sent(world)[-2:]) == [
        ("BUY", "SBIN", 5, "MARKET"),
        ("SELL", "INFY", 10, "MARKET"),
    ]


async def test_a_strategys_close_closes_its_own_share_only(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    swing = await new_strategy(world, "swing")
    await traded(world, quantity=10)  # the default strategy's
    await traded(world, quantity=4, strategy_id=swing)
    broker_holds(world, ("INFY", "MIS", 14))
    scope = {"account_id": ACCOUNT, "strategy_id": swing}
    held = body(await trader_api.post(PATH, json=scope))  # the script's scope: a person waits
    assert held["closes"][0]["error"]["code"] == "OWNERSHIP_CONFLICT"

    answer = body(await trader_api.post(PATH, json={**scope, "force": True}))

    (close,) = answer["closes"]
    assert (close["strategy_id"], close["net_quantity"]) == (swing, 4)
    assert close["order"]["strategy_id"] == swing
    assert sent(world)[-1] == ("SELL", "INFY", 4, "MARKET")


async def test_a_product_narrows_the_close(world: World, trader_api: httpx.AsyncClient) -> None:
    await traded(world, quantity=10)
    await traded(world, quantity=3, product=Product.CNC)
    broker_holds(world, ("INFY", "MIS", 10), ("INFY", "CNC", 3))

    answer = body(await trader_api.post(PATH, json={**INFY, "product": "CNC"}))

    (close,) = answer["closes"]
    assert (close["product"], close["order"]["quantity"]) == ("CNC", 3)


async def test_a_repeat_with_the_same_key_answers_the_first_close_and_sends_nothing(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    await traded(world, quantity=10)
    broker_holds(world, ("INFY", "MIS", 10))
    keyed = {"Idempotency-Key": "close-infy-1"}
    first = body(await trader_api.post(PATH, json=INFY, headers=keyed))
    await world.services.reconcile.sync_account(ACCOUNT)  # the close fills: the position is flat
    await world.services.trades.sync_account(ACCOUNT)
    broker_holds(world, ("INFY", "MIS", 0))
    placed = world.broker.calls["place_order"]

    again = body(await trader_api.post(PATH, json=INFY, headers=keyed))

    (close,) = again["closes"]
    assert (again["repeated"], again["placed"], close["outcome"], close["http_status"]) == (
        1, 0, "repeated", 200,
    )  # fmt: skip
    assert close["order"]["order_id"] == first["closes"][0]["order"]["order_id"]
    assert close["order"]["status"] == "COMPLETE"
    assert world.broker.calls["place_order"] == placed


async def test_without_a_key_a_second_close_while_the_first_works_is_refused(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    await traded(world, quantity=10)
    broker_holds(world, ("INFY", "MIS", 10))
    limit = {**INFY, "order_type": "LIMIT", "price": "1600.00"}  # rests: above the market
    first = body(await trader_api.post(PATH, json=limit))
    assert first["closes"][0]["order"]["status"] in ("PENDING", "OPEN")

    again = body(await trader_api.post(PATH, json=INFY))

    (close,) = again["closes"]
    assert (close["outcome"], close["http_status"], close["error"]["code"]) == (
        "error", 409, "CONFLICT",
    )  # fmt: skip
    assert close["error"]["details"] == {"order_ids": [first["closes"][0]["order"]["order_id"]]}
    assert close["error"]["retryable"] is True
    assert [s[3] for s in sent(world)] == ["MARKET", "LIMIT"]


async def test_a_limit_close_is_sent_at_its_price(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    await traded(world, quantity=10)
    broker_holds(world, ("INFY", "MIS", 10))

    answer = body(
        await trader_api.post(PATH, json={**INFY, "order_type": "LIMIT", "price": "1600"})
    )

    order = answer["closes"][0]["order"]
    assert (order["order_type"], order["price"], order["market_protection"]) == (
        "LIMIT", "1600", None,
    )  # fmt: skip


async def test_a_position_the_broker_holds_otherwise_is_not_closed_blind(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    await traded(world, quantity=10)
    broker_holds(world, ("INFY", "MIS", 15))  # a fill we have not recorded yet

    answer = body(await trader_api.post(PATH, json=INFY))

    (close,) = answer["closes"]
    assert (answer["failed"], close["error"]["code"], close["http_status"]) == (1, "CONFLICT", 409)
    assert close["error"]["details"] == {"books_net_quantity": 10, "broker_net_quantity": 15}
    assert len(sent(world)) == 1


async def test_another_strategys_share_counts_in_the_net_a_close_is_checked_against(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    swing = await new_strategy(world, "swing")
    await traded(world, quantity=10)
    await traded(world, quantity=4, strategy_id=swing)
    broker_holds(world, ("INFY", "MIS", 4))  # the broker holds only the swing strategy's share

    answer = body(await trader_api.post(PATH, json={"account_id": ACCOUNT, "strategy_id": swing}))

    (close,) = answer["closes"]
    assert close["error"]["details"] == {"books_net_quantity": 14, "broker_net_quantity": 4}


async def test_a_delivery_sale_from_holdings_is_never_bought_back(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    await traded(world, quantity=3, product=Product.CNC, transaction_type=TransactionType.SELL)
    broker_holds(world, ("INFY", "CNC", -3))

    answer = body(await trader_api.post(PATH, json=INFY))

    (close,) = answer["closes"]
    assert (close["net_quantity"], close["error"]["code"]) == (-3, "CONFLICT")
    assert "holdings" in close["error"]["message"]
    assert len(sent(world)) == 1


async def test_a_refused_placement_is_that_positions_error_and_the_others_go_on(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    await traded(world, quantity=10)
    await traded(world, tradingsymbol="SBIN", quantity=5)
    broker_holds(world, ("INFY", "MIS", 10), ("SBIN", "MIS", 5))
    world.broker.fail_next("place_order", BrokerUnavailable("down"))

    answer = body(await trader_api.post(PATH, json={"account_id": ACCOUNT}))

    outcomes = sorted((c["outcome"], c["http_status"]) for c in answer["closes"])
    assert outcomes == [("error", 503), ("placed", 201)]
    failed = next(c for c in answer["closes"] if c["outcome"] == "error")
    assert failed["error"]["code"] == "BROKER_UNAVAILABLE"


async def test_a_halted_account_closes_nothing(world: World, trader_api: httpx.AsyncClient) -> None:
    await traded(world, quantity=10)
    broker_holds(world, ("INFY", "MIS", 10))
    body(await trader_api.post("/api/v1/kill-switch", json={"account_id": ACCOUNT}), 201)

    answer = body(await trader_api.post(PATH, json=INFY))

    (close,) = answer["closes"]
    assert (close["http_status"], close["error"]["code"]) == (403, "TRADING_HALTED")
    assert len(sent(world)) == 1


async def test_the_brokers_positions_unread_close_nothing_and_say_why(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    await traded(world, quantity=10)
    broker_holds(world, ("INFY", "MIS", 10))
    world.broker.fail_next("positions", BrokerUnavailable("down"))

    refused(await trader_api.post(PATH, json=INFY), 503, "BROKER_UNAVAILABLE")
    assert len(sent(world)) == 1


async def test_a_logged_out_account_closes_nothing(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    await traded(world, quantity=10)
    await logged_out(world, ACCOUNT)

    error = refused(await trader_api.post(PATH, json=INFY), 409, "BROKER_SESSION_EXPIRED")
    assert error["details"]["session_state"] == "login_required"
    assert len(sent(world)) == 1


async def test_naming_a_position_that_is_not_open_is_not_found(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    await traded(world, quantity=10)
    broker_holds(world, ("INFY", "MIS", 10))

    error = refused(
        await trader_api.post(PATH, json={**INFY, "tradingsymbol": "SBIN"}), 404, "NOT_FOUND"
    )
    assert error["details"] == {"exchange": "NSE", "tradingsymbol": "SBIN"}
    nothing = body(await trader_api.post(PATH, json={**INFY, "product": "NRML"}), 404)
    assert nothing["error"]["code"] == "NOT_FOUND"


async def test_an_account_with_nothing_open_answers_no_closes(
    trader_api: httpx.AsyncClient,
) -> None:
    answer = body(await trader_api.post(PATH, json={"account_id": ACCOUNT}))
    assert (answer["placed"], answer["closes"]) == (0, [])


async def test_another_users_account_is_not_found(
    world: World, trader_api: httpx.AsyncClient, outsider: object
) -> None:
    refused(await trader_api.post(PATH, json={"account_id": OTHER_ACCOUNT}), 404, "NOT_FOUND")


async def test_a_strategy_of_another_account_is_invalid(
    world: World, trader_api: httpx.AsyncClient, outsider: Principal
) -> None:
    (theirs,) = await world.services.strategies.list_strategies(outsider, OTHER_ACCOUNT)
    scope = {"account_id": ACCOUNT, "strategy_id": theirs.strategy_id}

    error = refused(await trader_api.post(PATH, json=scope), 422, "INVALID_INPUT")
    assert error["details"]["field"] == "strategy_id"


@pytest_asyncio.fixture
async def script_api(world: World) -> AsyncIterator[httpx.AsyncClient]:
    """The trader's script: a key bound to the strategy "algo" of the account."""
    algo = await new_strategy(world, "algo")
    _, key = await world.services.users.issue_own_api_key(world.trader, algo)
    async with api_client(create_app(world.services), key) as client:
        yield client


async def test_a_scripts_key_closes_its_own_strategys_positions_only(
    world: World, script_api: httpx.AsyncClient
) -> None:
    await traded(world, quantity=10)  # the default strategy's, a person's
    broker_holds(world, ("INFY", "MIS", 10))
    default = await world.services.strategies.list_strategies(world.trader, ACCOUNT)
    default_id = next(s.strategy_id for s in default if s.is_default)

    answer = body(await script_api.post(PATH, json={"account_id": ACCOUNT}))
    assert answer["closes"] == []  # the script's strategy holds nothing
    other = {"account_id": ACCOUNT, "strategy_id": default_id}
    error = refused(await script_api.post(PATH, json=other), 403, "FORBIDDEN")
    assert error["details"]["strategy_id"] == default_id
    assert len(sent(world)) == 1


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"exchange": "NSE"}, "both exchange and tradingsymbol"),
        ({"order_type": "LIMIT"}, "a LIMIT close takes a price"),
        ({"price": "1500"}, "a MARKET close none"),
        ({**INFY, "order_type": "LIMIT", "price": "1500", "market_protection": 2}, "for a MARKET"),
        ({"product": "XYZ"}, "product"),
        ({"price": "NaN", "order_type": "LIMIT", **INFY}, "price"),
        ({"quantity": 5}, "quantity"),  # a close is always the whole position
    ],
)
async def test_a_malformed_close_is_refused_before_anything_is_read(
    world: World, trader_api: httpx.AsyncClient, extra: dict[str, Any], field: str
) -> None:
    error = refused(
        await trader_api.post(PATH, json={"account_id": ACCOUNT, **extra}), 422, "INVALID_INPUT"
    )
    assert field in str(error["details"])
    assert world.broker.calls["positions"] == 0


async def test_a_limit_close_of_several_instruments_is_refused(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    limit = {"account_id": ACCOUNT, "order_type": "LIMIT", "price": "1500"}
    error = refused(await trader_api.post(PATH, json=limit), 422, "INVALID_INPUT")
    assert error["details"]["field"] == "price"


def slow_positions(world: World) -> None:
    """The broker's positions answer after a round trip, as Kite's do: room for a race."""
    read = world.broker.positions

    async def positions(session: Any) -> Any:
        await asyncio.sleep(0.01)
        return await read(session)

    world.broker.positions = positions  # type: ignore[method-assign]


async def test_two_closes_at_once_send_one_order_whatever_their_keys(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    await traded(world, quantity=10)
    broker_holds(world, ("INFY", "MIS", 10))
    slow_positions(world)

    answers = await asyncio.gather(
        trader_api.post(PATH, json=INFY, headers={"Idempotency-Key": "ui-1"}),
        trader_api.post(PATH, json=INFY),
    )

    closes = sorted((body(a)["closes"][0] for a in answers), key=lambda c: c["outcome"])
    assert [c["outcome"] for c in closes] == ["error", "placed"]
    assert closes[0]["error"]["code"] == "CONFLICT"
    assert closes[0]["error"]["details"]["order_ids"] == [closes[1]["order"]["order_id"]]
    assert sent(world)[1:] == [("SELL", "INFY", 10, "MARKET")]


async def test_an_exit_working_when_the_close_begins_holds_it_though_it_fills_meanwhile(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await traded(world, quantity=10)
    exit_request = make_request(
        quantity=4, product=Product.MIS, transaction_type=TransactionType.SELL,
        order_type=OrderType.LIMIT, price=Decimal("1600.00"),
    )  # fmt: skip
    exit_order = (await world.services.orders.place_order(world.trader, exit_request, None)).order
    broker_holds(world, ("INFY", "MIS", 10))  # Kite's positions a moment behind its trades
    books = world.services.books
    read = books.positions

    async def positions(*args: Any) -> Any:
        lines = await read(*args)  # our books, read before the exit's fill is in them
        assert exit_order.broker_order_id is not None
        world.broker.fill(exit_order.broker_order_id)
        await world.services.reconcile.sync_account(ACCOUNT)
        await world.services.trades.sync_account(ACCOUNT)
        return lines

    monkeypatch.setattr(books, "positions", positions)
    scope = CloseScope(ACCOUNT, exchange="NSE", tradingsymbol="INFY")

    (close,) = await world.services.position_closes.close(world.trader, scope, CloseTerms(), None)

    assert isinstance(close.error, Conflict)
    assert close.error.details == {"order_ids": [exit_order.order_id]}
    assert len(sent(world)) == 2  # the entry and the exit: no close of 10 against 6


@pytest.mark.parametrize(
    "again",
    [
        {"account_id": ACCOUNT},  # another scope
        {**INFY, "order_type": "LIMIT", "price": "1400"},  # other terms
    ],
)
async def test_a_key_used_for_another_close_is_refused(
    world: World, trader_api: httpx.AsyncClient, again: dict[str, Any]
) -> None:
    await traded(world, quantity=10)
    await traded(world, tradingsymbol="SBIN", quantity=5)
    broker_holds(world, ("INFY", "MIS", 10), ("SBIN", "MIS", 5))
    keyed = {"Idempotency-Key": "k:2"}  # a key may hold ":": "k" is another key
    first = body(await trader_api.post(PATH, json={**INFY, "order_type": "LIMIT",
                                                   "price": "1600"}, headers=keyed))  # fmt: skip
    other_key = {"Idempotency-Key": "k"}
    body(await trader_api.post(PATH, json={**INFY, "tradingsymbol": "SBIN"}, headers=other_key))
    placed = len(sent(world))

    error = refused(await trader_api.post(PATH, json=again, headers=keyed), 409,
                    "IDEMPOTENCY_CONFLICT")  # fmt: skip

    assert error["details"]["order_ids"] == [first["closes"][0]["order"]["order_id"]]
    assert len(sent(world)) == placed


async def test_a_key_used_on_an_earlier_day_is_refused_not_answered_with_that_days_close(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    await traded(world, quantity=10)
    broker_holds(world, ("INFY", "MIS", 10))
    keyed = {"Idempotency-Key": "eod"}
    body(await trader_api.post(PATH, json=INFY, headers=keyed))
    world.clock.advance(24 * 3600)
    await log_in(world.services, world.trader, ACCOUNT, "day-2")
    await traded(world, quantity=10)

    refused(await trader_api.post(PATH, json=INFY, headers=keyed), 409, "IDEMPOTENCY_CONFLICT")


@pytest.mark.parametrize("key", ["close:1:k:x", "flatten:1:PAPER1"])
async def test_a_close_or_square_off_key_is_reserved_from_other_orders(
    trader_api: httpx.AsyncClient, key: str
) -> None:
    order = {**LIMIT, "client_order_id": key}
    error = refused(await trader_api.post("/api/v1/orders", json=order), 422, "INVALID_INPUT")
    assert "reserved" in error["message"]


async def test_a_retry_after_a_send_that_never_reached_the_broker_closes_what_is_open_now(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    await traded(world, quantity=10)
    broker_holds(world, ("INFY", "MIS", 10))
    keyed = {"Idempotency-Key": "k4"}
    world.broker.fail_next("place_order", BrokerUnavailable("down"))
    first = body(await trader_api.post(PATH, json=INFY, headers=keyed))
    assert first["closes"][0]["error"]["code"] == "BROKER_UNAVAILABLE"
    await traded(world, quantity=5)  # the position grew meanwhile
    broker_holds(world, ("INFY", "MIS", 15))

    again = body(await trader_api.post(PATH, json=INFY, headers=keyed))

    assert again["placed"] == 1
    assert sent(world)[-1] == ("SELL", "INFY", 15, "MARKET")


async def test_an_accounts_close_leaves_an_instrument_strategies_hold_both_ways(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    swing = await new_strategy(world, "swing")
    await traded(world, quantity=10)
    await traded(world, quantity=10, strategy_id=swing, transaction_type=TransactionType.SELL)
    broker_holds(world, ("INFY", "MIS", 0))  # flat at the broker: crossing closes could open it

    answer = body(await trader_api.post(PATH, json={"account_id": ACCOUNT, "force": True}))

    assert sorted(c["net_quantity"] for c in answer["closes"]) == [-10, 10]
    assert {c["error"]["code"] for c in answer["closes"]} == {"CONFLICT"}
    assert "both sides" in answer["closes"][0]["error"]["message"]
    assert len(sent(world)) == 2
    scope = {"account_id": ACCOUNT, "strategy_id": swing, "force": True}
    one = body(await trader_api.post(PATH, json=scope))  # asked for by strategy: its own close
    assert (one["placed"], sent(world)[-1]) == (1, ("BUY", "INFY", 10, "MARKET"))


async def test_an_archived_strategys_position_is_still_closed(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    swing = await new_strategy(world, "swing")
    await traded(world, quantity=4, strategy_id=swing)
    broker_holds(world, ("INFY", "MIS", 4))
    await world.services.strategies.update_strategy(world.trader, swing, None, True)

    answer = body(await trader_api.post(PATH, json={**INFY, "force": True}))

    assert (answer["placed"], answer["closes"][0]["order"]["strategy_id"]) == (1, swing)


async def test_a_cover_orders_position_is_left_to_its_own_stop(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    await traded(world, quantity=10, product=Product.CO, trigger_price=Decimal("1400"))
    broker_holds(world, ("INFY", "CO", 10))

    answer = body(await trader_api.post(PATH, json=INFY))

    (close,) = answer["closes"]
    assert (close["product"], close["error"]["code"]) == ("CO", "CONFLICT")
    assert len(sent(world)) == 1


async def test_a_position_the_broker_holds_and_our_books_do_not_is_named(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    await traded(world, quantity=10)
    broker_holds(world, ("INFY", "MIS", 10), ("SBIN", "MIS", 7))

    answer = body(await trader_api.post(PATH, json={"account_id": ACCOUNT}))

    unbooked = next(c for c in answer["closes"] if c["tradingsymbol"] == "SBIN")
    assert (unbooked["strategy_id"], unbooked["net_quantity"]) == (None, 7)
    assert unbooked["error"]["details"] == {"broker_net_quantity": 7}
    assert (answer["placed"], answer["failed"]) == (1, 1)
    assert [s[1] for s in sent(world)] == ["INFY", "INFY"]


async def test_a_foreign_accounts_strategies_are_not_revealed(
    world: World, trader_api: httpx.AsyncClient, outsider: Principal
) -> None:
    (theirs,) = await world.services.strategies.list_strategies(outsider, OTHER_ACCOUNT)
    for strategy_id in (theirs.strategy_id, "01JXXXXXXXXXXXXXXXXXXXXXXX"):
        scope = {"account_id": OTHER_ACCOUNT, "strategy_id": strategy_id}
        refused(await trader_api.post(PATH, json=scope), 404, "NOT_FOUND")


async def test_one_price_in_other_digits_is_the_same_close(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    await traded(world, quantity=10)
    broker_holds(world, ("INFY", "MIS", 10))
    keyed = {"Idempotency-Key": "same-price"}
    limit = {**INFY, "order_type": "LIMIT", "price": "1600"}
    first = body(await trader_api.post(PATH, json=limit, headers=keyed))

    again = body(await trader_api.post(PATH, json={**limit, "price": "1600.00"}, headers=keyed))

    assert again["closes"][0]["outcome"] == "repeated"
    assert again["closes"][0]["order"]["order_id"] == first["closes"][0]["order"]["order_id"]
