"""External exits attributed to the strategies they closed, and the cases a person resolves,
through the services and the API: the policies, the books that follow, every refusal."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from order_service.domain.attribution import AttributionPolicy
from order_service.domain.ids import BrokerOrderId, StrategyId
from order_service.domain.order import Order, OrderSource
from order_service.domain.reports import FillReport, TradeId
from order_service.domain.values import Product, TransactionType
from order_service.entrypoints.api.app import create_app
from order_service.entrypoints.workers.attribution import AttributionWorker
from order_service.services import attribution as attribution_module
from order_service.services.attribution import AttributionPass
from tests.external_reports import app_order_row
from tests.factories import ACCOUNT, OTHER_ACCOUNT, make_limit_request
from tests.unit.answers import body, refused
from tests.unit.conftest import World, add_trader, api_client, log_in

pytestmark = pytest.mark.asyncio

DAY = "2026-11-30"  # the FakeClock's day
EXIT_PRICE = Decimal("1530.00")
_exits = iter(range(901, 999))


async def strategy(world: World, name: str) -> StrategyId:
    made = await world.services.strategies.create_strategy(world.trader, ACCOUNT, name)
    return made.strategy_id


async def buy(world: World, strategy_id: StrategyId, quantity: int) -> None:
    """A filled MIS LIMIT BUY of INFY for the strategy, its fill in the ledger; a minute on."""
    request = make_limit_request(quantity=quantity, product=Product.MIS, strategy_id=strategy_id)
    # As a person stepping in (a strategy's scope is under script control).
    placed = await world.services.orders.place_order(world.trader, request, None, force=True)
    order = placed.order
    assert order.broker_order_id is not None
    world.broker.fill(order.broker_order_id)
    await world.services.trades.sync_account(ACCOUNT)
    world.clock.advance(60)


async def sell_in_the_app(
    world: World,
    *fills: int,
    record_fills: bool = True,
    then: int = 60,
    symbol: str = "INFY",
    executed_at: datetime | None = None,
    working: int = 0,
) -> Order:
    """A MIS SELL of INFY placed in the Kite app, filled in trades of these quantities (at
    ``executed_at``, else now), ``working`` more still open, found by the order sync (and its
    trades by the trade sync); ``then`` seconds on."""
    broker_id = BrokerOrderId(f"2511300000{next(_exits)}")
    quantity = sum(fills)
    world.broker.book[broker_id] = app_order_row(
        broker_id, "OPEN" if working else "COMPLETE", transaction_type="SELL",
        quantity=quantity + working, product="MIS", filled_quantity=quantity,
        pending_quantity=working, average_price=EXIT_PRICE, tradingsymbol=symbol,
    )  # fmt: skip
    for number, filled in enumerate(fills):
        world.broker.trade_book.append(
            FillReport(
                TradeId(f"X{broker_id}{number}"),
                broker_id,
                "NSE",
                symbol,
                "MIS",
                TransactionType.SELL,
                filled,
                EXIT_PRICE,
                executed_at or world.clock.now(),
            )
        )
    await world.services.reconcile.sync_account(ACCOUNT)
    if record_fills:
        await world.services.trades.sync_account(ACCOUNT)
    world.clock.advance(then)
    (order,) = [
        o
        for o in world.store.orders.values()
        if o.source is OrderSource.EXTERNAL and o.broker_order_id == broker_id
    ]
    return order


async def attribute(world: World) -> AttributionPass:
    return await world.services.attribution.attribute_account(ACCOUNT)


async def held(api: httpx.AsyncClient) -> dict[str | None, int]:
    """Each strategy's net quantity of INFY MIS today, as ``/positions`` shows it."""
    params = {"day": DAY, "group_by": "strategy"}
    lines = body(await api.get("/api/v1/positions", params=params))
    return {
        line["strategy_id"]: line["net"]["quantity"]
        for line in lines
        if line["net"]["tradingsymbol"] == "INFY" and line["net"]["quantity"]
    }


async def realised(api: httpx.AsyncClient) -> dict[str | None, Decimal]:
    """Each strategy's realised P&L today, where it is not zero."""
    params = {"from": DAY, "to": DAY, "group_by": "strategy"}
    lines = body(await api.get("/api/v1/pnl", params=params))["items"]
    found = {line["strategy_id"]: Decimal(line["realised"]) for line in lines}
    return {strategy: value for strategy, value in found.items() if value}


def event_names(world: World, order: Order) -> list[str]:
    return [e.name for e in world.store.events if e.order_id == order.order_id]


def counted(policy: str) -> float:
    labels = {"policy": policy}
    return REGISTRY.get_sample_value("order_service_exit_attributions_total", labels) or 0.0


async def default_of(world: World) -> StrategyId:
    (found,) = [
        s for s in world.store.strategies.values() if s.is_default and s.account_id == ACCOUNT
    ]
    return found.strategy_id


async def two_holders(world: World) -> tuple[StrategyId, StrategyId]:
    alpha, beta = await strategy(world, "alpha"), await strategy(world, "beta")
    await buy(world, alpha, 5)
    await buy(world, beta, 5)
    return alpha, beta


async def open_case(world: World, api: httpx.AsyncClient, quantity: int = 6) -> dict[str, Any]:
    await sell_in_the_app(world, quantity)
    assert (await attribute(world)).attributed == {AttributionPolicy.MANUAL: 1}
    (case,) = body(await api.get("/api/v1/attribution-cases"))["items"]
    return dict(case)


def allocations(**quantities: int) -> dict[str, Any]:
    return {"allocations": [{"strategy_id": s, "quantity": q} for s, q in quantities.items()]}


async def test_an_exit_one_strategy_held_is_that_strategys(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    alpha = await strategy(world, "alpha")
    await buy(world, alpha, 10)
    exit_ = await sell_in_the_app(world, 4)
    assert await held(trader_api) == {alpha: 10, await default_of(world): -4}
    before = counted("single")

    await AttributionWorker(world.services).run_once()

    assert counted("single") == before + 1
    assert await held(trader_api) == {alpha: 6}
    assert event_names(world, exit_)[-1] == "ExitAttributed"
    assert (await attribute(world)).total == 0  # attributed once


async def test_a_full_exit_closes_every_holder_and_their_pnl_follows(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    alpha, beta = await two_holders(world)
    await sell_in_the_app(world, 7, 3)

    assert (await attribute(world)).attributed == {AttributionPolicy.FULL: 1}

    assert await held(trader_api) == {}
    # Each bought 5 at 1520.50 and is credited 5 of the exit at 1530.00.
    assert await realised(trader_api) == {alpha: Decimal("47.50"), beta: Decimal("47.50")}


async def test_a_partial_exit_across_holders_is_a_case_a_person_resolves_and_applies(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    alpha, beta = await two_holders(world)
    case = await open_case(world, trader_api)
    default = await default_of(world)
    path = f"/api/v1/attribution-cases/{case['attribution_id']}"

    assert (case["status"], case["quantity"], case["reason"]) == (
        "open",
        6,
        "the exit closed part of what several strategies held",
    )
    assert [(h["strategy_id"], h["quantity"]) for h in case["holders"]] == [(alpha, 5), (beta, 5)]
    assert await held(trader_api) == {alpha: 5, beta: 5, default: -6}  # not yet moved
    refused(await trader_api.post(f"{path}/apply"), 409, "CONFLICT")

    resolved = body(
        await trader_api.post(f"{path}/resolve", json=allocations(**{alpha: 4, beta: 2}))
    )
    assert resolved["status"] == "resolved"
    assert await held(trader_api) == {alpha: 5, beta: 5, default: -6}  # resolving moves nothing
    assert await realised(trader_api) == {}  # asked before: the books keep this computation

    applied = body(await trader_api.post(f"{path}/apply"))

    assert applied["status"] == "applied"
    assert applied["allocations"] == [
        {"strategy_id": alpha, "quantity": 4},
        {"strategy_id": beta, "quantity": 2},
    ]
    assert await held(trader_api) == {alpha: 1, beta: 3}
    # Sold at 1530.00 what each bought at 1520.50: 4 and 2 of them.
    assert await realised(trader_api) == {alpha: Decimal("38.00"), beta: Decimal("19.00")}
    refused(await trader_api.post(f"{path}/apply"), 409, "CONFLICT")
    again = await trader_api.post(f"{path}/resolve", json=allocations(**{alpha: 6}))
    refused(again, 409, "CONFLICT")
    events = body(await trader_api.get(f"/api/v1/orders/{case['order_id']}/events"))
    assert [e["name"] for e in events][-3:] == [
        "AttributionCaseOpened",
        "AttributionCaseResolved",
        "AttributionCaseApplied",
    ]


async def test_a_fill_of_the_exit_recorded_after_its_case_stays_with_the_exits_strategy(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    alpha, beta = await two_holders(world)
    exit_ = await sell_in_the_app(world, 4, 2, record_fills=False)
    late = [t for t in world.broker.trade_book if t.broker_order_id == exit_.broker_order_id][-1]
    world.broker.trade_book.remove(late)
    await world.services.trades.sync_account(ACCOUNT)  # the ledger holds the 4 alone
    world.clock.advance(60)  # the settle time: taken with the fills the ledger holds
    assert (await attribute(world)).attributed == {AttributionPolicy.MANUAL: 1}
    (case,) = body(await trader_api.get("/api/v1/attribution-cases"))["items"]
    (covered,) = [
        t.trade_id for t in world.broker.trade_book if t.broker_order_id == exit_.broker_order_id
    ]
    assert (case["quantity"], case["trade_ids"]) == (4, [covered])
    world.broker.trade_book.append(late)  # the broker lists the 2 at last
    await world.services.trades.sync_account(ACCOUNT)
    path = f"/api/v1/attribution-cases/{case['attribution_id']}"
    body(await trader_api.post(f"{path}/resolve", json=allocations(**{alpha: 2, beta: 2})))

    applied = body(await trader_api.post(f"{path}/apply"))

    assert applied["status"] == "applied"
    assert await held(trader_api) == {alpha: 3, beta: 3, await default_of(world): -2}


@pytest.mark.parametrize(
    ("shares", "words"),
    [
        ({"alpha": 3, "beta": 2}, "sum to 5, the exit's quantity is 6"),
        ({"alpha": 6}, "held 5"),
        ({"alpha": 3, "beta": 3, "nobody": 0}, "quantity"),
    ],
)
async def test_allocations_that_do_not_fit_the_exit_are_refused(
    world: World, trader_api: httpx.AsyncClient, shares: dict[str, int], words: str
) -> None:
    alpha, beta = await two_holders(world)
    case = await open_case(world, trader_api)
    names = {"alpha": alpha, "beta": beta, "nobody": "nobody"}
    sent = allocations(**{names[name]: quantity for name, quantity in shares.items()})

    answer = await trader_api.post(
        f"/api/v1/attribution-cases/{case['attribution_id']}/resolve", json=sent
    )

    error = refused(answer, 422, "INVALID_INPUT")
    assert words in str(error)


async def test_a_strategy_of_another_account_cannot_take_a_share(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    alpha, _ = await two_holders(world)
    outsider, _ = await add_trader(world.services, "outsider", OTHER_ACCOUNT)
    theirs = await world.services.strategies.create_strategy(outsider, OTHER_ACCOUNT, "theirs")
    case = await open_case(world, trader_api)
    sent = allocations(**{alpha: 5, theirs.strategy_id: 1})

    answer = await trader_api.post(
        f"/api/v1/attribution-cases/{case['attribution_id']}/resolve", json=sent
    )

    error = refused(answer, 422, "INVALID_INPUT")
    assert error["details"]["strategy_id"] == theirs.strategy_id


async def test_a_later_exit_of_a_position_with_a_case_open_waits_for_a_person_too(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    await two_holders(world)
    await open_case(world, trader_api)
    await sell_in_the_app(world, 4)

    assert (await attribute(world)).attributed == {AttributionPolicy.MANUAL: 1}

    cases = body(await trader_api.get("/api/v1/attribution-cases", params={"status": "open"}))
    reasons = [case["reason"] for case in cases["items"]]
    assert reasons[-1] == "an earlier exit of this position waits for its attribution case"


async def test_an_exit_whose_fills_are_not_in_the_ledger_yet_waits_for_them(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    alpha = await strategy(world, "alpha")
    await buy(world, alpha, 10)
    await sell_in_the_app(world, 4, record_fills=False)
    world.clock.advance(600)  # no fill at all: it waits however long it takes

    assert (await attribute(world)).total == 0
    await world.services.trades.sync_account(ACCOUNT)
    assert (await attribute(world)).attributed == {AttributionPolicy.SINGLE: 1}
    assert await held(trader_api) == {alpha: 6}


async def test_exits_whose_fills_never_come_hold_up_no_later_exit(
    world: World, trader_api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(attribution_module, "BATCH", 2)
    alpha = await strategy(world, "alpha")
    await buy(world, alpha, 10)
    for _ in range(3):  # exits of another scrip whose trades the ledger never gets
        stuck = await sell_in_the_app(world, 1, record_fills=False, symbol="TCS")
        world.broker.trade_book[:] = [
            t for t in world.broker.trade_book if t.broker_order_id != stuck.broker_order_id
        ]
    await sell_in_the_app(world, 4)

    assert (await attribute(world)).attributed == {AttributionPolicy.SINGLE: 1}
    assert await held(trader_api) == {alpha: 6}


async def unfilled_buy(world: World, strategy_id: StrategyId, quantity: int) -> list[FillReport]:
    """A filled BUY that the order book shows complete while the trade book does not list its
    fills yet (they are returned, taken out of the book); a minute on."""
    request = make_limit_request(quantity=quantity, product=Product.MIS, strategy_id=strategy_id)
    placed = await world.services.orders.place_order(world.trader, request, None, force=True)
    assert placed.order.broker_order_id is not None
    known = len(world.broker.trade_book)
    world.broker.fill(placed.order.broker_order_id)
    await world.services.reconcile.sync_account(ACCOUNT)
    unlisted = world.broker.trade_book[known:]
    del world.broker.trade_book[known:]
    assert world.store.orders[placed.order.order_id].filled_quantity == quantity
    world.clock.advance(60)
    return unlisted


async def test_an_exit_waits_while_an_earlier_orders_fills_are_not_all_in_the_ledger(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    alpha, beta = await strategy(world, "alpha"), await strategy(world, "beta")
    await buy(world, alpha, 10)
    unlisted = await unfilled_buy(world, beta, 5)
    await sell_in_the_app(world, 4, then=10)

    # With beta's fills missing, alpha would look like the only holder and take the exit.
    assert (await attribute(world)).waiting == 1
    world.broker.trade_book += unlisted
    await world.services.trades.sync_account(ACCOUNT)

    assert (await attribute(world)).attributed == {AttributionPolicy.MANUAL: 1}
    (case,) = body(await trader_api.get("/api/v1/attribution-cases"))["items"]
    assert {h["strategy_id"]: h["quantity"] for h in case["holders"]} == {alpha: 10, beta: 5}


async def test_an_exit_whose_earlier_fills_never_come_is_a_case_not_a_guess(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    alpha, beta = await strategy(world, "alpha"), await strategy(world, "beta")
    await buy(world, alpha, 10)
    await unfilled_buy(world, beta, 5)
    await sell_in_the_app(world, 4, then=10)
    assert (await attribute(world)).waiting == 1
    world.clock.advance(50)  # 60 s after the exit settled

    assert (await attribute(world)).attributed == {AttributionPolicy.MANUAL: 1}
    (case,) = body(await trader_api.get("/api/v1/attribution-cases"))["items"]
    assert case["reason"] == "the ledger lacks fills of an earlier order of this position"
    assert await held(trader_api) == {alpha: 10, await default_of(world): -4}  # nothing moved


async def test_cases_are_for_the_accounts_people_and_not_for_scripts(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    alpha, _ = await two_holders(world)
    case = await open_case(world, trader_api)
    path = f"/api/v1/attribution-cases/{case['attribution_id']}"
    outsider, outsider_key = await add_trader(world.services, "outsider", OTHER_ACCOUNT)
    script_key = await world.services.users.create_api_key(world.trader.user_id, alpha)
    app = create_app(world.services)

    async with api_client(app, outsider_key) as theirs, api_client(app, script_key) as script:
        refused(await theirs.get(path), 404, "NOT_FOUND")
        refused(await theirs.post(f"{path}/apply"), 404, "NOT_FOUND")
        assert body(await theirs.get("/api/v1/attribution-cases"))["items"] == []
        listed = await theirs.get("/api/v1/attribution-cases", params={"account_id": ACCOUNT})
        refused(listed, 404, "NOT_FOUND")
        sent = allocations(**{alpha: 5, await default_of(world): 1})
        refused(await script.post(f"{path}/resolve", json=sent), 403, "FORBIDDEN")
        to_me = {"assignee": world.trader.user_id}
        refused(await script.post(f"{path}/assign", json=to_me), 403, "FORBIDDEN")
        body(await trader_api.post(f"{path}/resolve", json=sent))
        refused(await script.post(f"{path}/apply"), 403, "FORBIDDEN")
        assert body(await trader_api.get(path))["status"] == "resolved"

    to_outsider = await trader_api.post(f"{path}/assign", json={"assignee": outsider.user_id})
    refused(to_outsider, 422, "INVALID_INPUT")
    assigned = body(
        await trader_api.post(f"{path}/assign", json={"assignee": world.trader.user_id})
    )
    assert assigned["assignee"] == world.trader.user_id
    refused(
        await trader_api.get("/api/v1/attribution-cases/01JNOSUCHCASE0000000000000"),
        404,
        "NOT_FOUND",
    )


async def test_cases_of_one_position_are_applied_in_order_against_the_holders_then(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    alpha, beta = await two_holders(world)
    first = await open_case(world, trader_api)  # a sell of 6 of the 10 held
    await sell_in_the_app(world, 4)
    assert (await attribute(world)).attributed == {AttributionPolicy.MANUAL: 1}
    (_, second) = body(await trader_api.get("/api/v1/attribution-cases"))["items"]
    paths = [f"/api/v1/attribution-cases/{c['attribution_id']}" for c in (first, second)]
    body(await trader_api.post(f"{paths[0]}/resolve", json=allocations(**{alpha: 5, beta: 1})))
    # Alpha held 5 when both were opened; the first case gives alpha all of it.
    body(await trader_api.post(f"{paths[1]}/resolve", json=allocations(**{alpha: 4})))

    early = refused(await trader_api.post(f"{paths[1]}/apply"), 409, "CONFLICT")
    body(await trader_api.post(f"{paths[0]}/apply"))
    stale = refused(await trader_api.post(f"{paths[1]}/apply"), 409, "CONFLICT")

    assert early["details"] == {"reason": "earlier_case"}
    assert (stale["details"]["reason"], stale["details"]["held"]) == ("holders_changed", 0)
    assert await held(trader_api) == {beta: 4, await default_of(world): -4}
    again = await trader_api.post(f"{paths[1]}/resolve", json=allocations(**{alpha: 4}))
    assert refused(again, 422, "INVALID_INPUT")["details"]["held"] == 0
    resolved = body(await trader_api.post(f"{paths[1]}/resolve", json=allocations(**{beta: 4})))
    assert [h["quantity"] for h in resolved["holders"]] == [4]  # beta alone, as it is now
    body(await trader_api.post(f"{paths[1]}/apply"))
    assert await held(trader_api) == {}


async def test_an_exit_attributed_by_policy_is_no_case(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    alpha = await strategy(world, "alpha")
    await buy(world, alpha, 10)
    await sell_in_the_app(world, 4)
    await attribute(world)
    (attribution,) = world.store.attributions.values()

    answer = await trader_api.get(f"/api/v1/attribution-cases/{attribution.attribution_id}")

    refused(answer, 404, "NOT_FOUND")
    assert body(await trader_api.get("/api/v1/attribution-cases"))["items"] == []


async def test_exits_are_attributed_in_the_order_they_filled_not_the_order_they_were_found(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    alpha = await strategy(world, "alpha")
    await buy(world, alpha, 5)
    start = world.clock.now()
    await sell_in_the_app(world, 3, executed_at=start + timedelta(seconds=100))  # found first
    await sell_in_the_app(world, 5, executed_at=start + timedelta(seconds=70))  # filled first

    assert (await attribute(world)).attributed == {
        AttributionPolicy.SINGLE: 1,  # the first to fill closed alpha's five
        AttributionPolicy.NONE: 1,  # nobody held anything when the second filled
    }
    # In the order they were found, alpha would have been sold eight of its five.
    assert await held(trader_api) == {await default_of(world): -3}


async def test_an_exit_waits_while_one_that_filled_before_it_is_working_then_is_a_case(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    alpha = await strategy(world, "alpha")
    await buy(world, alpha, 10)
    start = world.clock.now()
    await sell_in_the_app(world, 2, working=3, executed_at=start, then=1)  # still open
    await sell_in_the_app(world, 4, then=10)

    assert (await attribute(world)).waiting == 1  # alpha's holding is not known until then
    world.clock.advance(50)  # 60 s after the later exit settled: a person decides

    assert (await attribute(world)).attributed == {AttributionPolicy.MANUAL: 1}
    (case,) = body(await trader_api.get("/api/v1/attribution-cases"))["items"]
    assert case["reason"] == "an exit that filled before this one is not attributed yet"
    assert case["quantity"] == 4


async def test_an_exit_that_filled_before_an_attributed_one_is_a_case_not_a_second_taking(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    alpha = await strategy(world, "alpha")
    await buy(world, alpha, 5)
    start = world.clock.now()
    await sell_in_the_app(world, 5)
    assert (await attribute(world)).attributed == {AttributionPolicy.SINGLE: 1}
    # An exit the books learn of only now, although it filled before the one attributed.
    await sell_in_the_app(world, 3, executed_at=start - timedelta(seconds=1))

    assert (await attribute(world)).attributed == {AttributionPolicy.MANUAL: 1}
    (case,) = body(await trader_api.get("/api/v1/attribution-cases"))["items"]
    assert case["reason"] == "an exit that filled after this one was attributed before it"
    assert await held(trader_api) == {await default_of(world): -3}  # nothing moved from alpha


async def test_an_order_of_an_earlier_day_short_of_fills_holds_up_no_exit_of_today(
    world: World,
) -> None:
    beta = await strategy(world, "beta")
    await unfilled_buy(world, beta, 5)  # its fills were never listed, and now never will be
    world.clock.advance(24 * 3600)
    await log_in(world.services, world.trader, ACCOUNT)
    alpha = await strategy(world, "alpha")
    await buy(world, alpha, 10)
    await sell_in_the_app(world, 4, then=10)

    assert (await attribute(world)).attributed == {AttributionPolicy.SINGLE: 1}
