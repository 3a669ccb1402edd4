"""Ticker order updates: applied like the order book, forward-only, only to the order they name."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from prometheus_client import REGISTRY

from order_service.domain.account import Principal, SessionState
from order_service.domain.fill import ORDER_FILL_RECORDED, FillSource
from order_service.domain.ids import AccountId, BrokerOrderId
from order_service.domain.order import Order, OrderRequest
from order_service.domain.postback import postback_checksum
from order_service.domain.reports import OrderStatusReport
from order_service.domain.status import OrderStatus
from order_service.errors import AuthenticationError, BrokerOutcomeUnknown, BrokerUnavailable
from order_service.services.order_updates import UpdateOutcome
from order_service.services.ports import BrokerSession, OrderUpdate
from tests.factories import make_limit_request
from tests.unit.conftest import ACCOUNT, OTHER_ACCOUNT, World

pytestmark = pytest.mark.asyncio


async def placed(world: World, request: OrderRequest | None = None) -> Order:
    """A LIMIT order of ours, accepted by the broker and resting there (we hold it PENDING)."""
    placement = await world.services.orders.place_order(
        world.trader, request or make_limit_request(), None
    )
    return await stored(world, placement.order)


async def stored(world: World, order: Order) -> Order:
    return await world.services.orders.get_order(world.trader, order.order_id)


def at_broker(world: World, order: Order) -> OrderStatusReport:
    assert order.broker_order_id is not None
    return world.broker.book[order.broker_order_id]


def update(report: OrderStatusReport, user_id: str | None = ACCOUNT) -> OrderUpdate:
    return OrderUpdate(report, user_id=user_id)


def events(world: World, order: Order) -> list[str]:
    return [event.name for event in world.store.events if event.order_id == order.order_id]


async def stream_session(world: World) -> BrokerSession:
    """The session ACCOUNT's stream is opened with."""
    sessions = await world.services.order_updates.live_sessions()
    return next(session for session in sessions if session.account_id == ACCOUNT)


async def apply(world: World, pushed: OrderUpdate) -> UpdateOutcome:
    """Apply ``pushed`` as the account's stream delivers it, with the stream's session."""
    return await world.services.order_updates.apply(ACCOUNT, pushed, await stream_session(world))


async def test_a_fill_on_the_ticker_completes_our_order_without_asking_the_broker(
    world: World,
) -> None:
    order = await placed(world)
    assert order.broker_order_id is not None
    world.broker.fill(order.broker_order_id)
    world.broker.calls.clear()

    outcome = await apply(world, update(at_broker(world, order)))

    after = await stored(world, order)
    assert outcome is UpdateOutcome.APPLIED
    assert (after.status, after.filled_quantity) == (OrderStatus.COMPLETE, 10)
    assert after.average_price == order.request.price
    # Trusted like the order book: no confirmation read, only the fills' own trades.
    assert dict(world.broker.calls) == {"order_trades": 1}
    fills = await world.services.trades.fills_of(order.order_id)
    assert [(f.report.quantity, f.source) for f in fills] == [(10, FillSource.ORDER_TRADES)]


async def test_an_update_without_more_filled_reads_no_trades(world: World) -> None:
    order = await placed(world)
    world.broker.calls.clear()
    cancelled = replace(at_broker(world, order), raw_status="CANCELLED")

    assert await apply(world, update(cancelled)) is UpdateOutcome.APPLIED

    assert "order_trades" not in world.broker.calls


async def test_fills_the_broker_will_not_list_now_are_left_to_the_trade_book(
    world: World,
) -> None:
    order = await placed(world)
    assert order.broker_order_id is not None
    world.broker.fill(order.broker_order_id)
    world.broker.fail_next("order_trades", BrokerUnavailable())

    outcome = await apply(world, update(at_broker(world, order)))

    assert outcome is UpdateOutcome.APPLIED
    assert (await stored(world, order)).status is OrderStatus.COMPLETE
    assert await world.services.trades.fills_of(order.order_id) == []
    assert (await world.services.trades.sync_account(ACCOUNT)).recorded == 1


async def test_a_repeat_and_an_older_update_change_nothing(world: World) -> None:
    order = await placed(world)
    assert order.broker_order_id is not None
    opened = at_broker(world, order)
    world.broker.fill(order.broker_order_id)
    assert await apply(world, update(at_broker(world, order))) is UpdateOutcome.APPLIED
    before = (await stored(world, order), events(world, order))

    outcomes = [
        await apply(world, update(at_broker(world, order))),
        await apply(world, update(opened)),  # OPEN, delivered late
    ]

    assert outcomes == [UpdateOutcome.DUPLICATE, UpdateOutcome.DUPLICATE]
    assert (await stored(world, order), events(world, order)) == before


async def test_a_partial_fill_reported_as_update_is_news_once(world: World) -> None:
    order = await placed(world)
    partial = replace(at_broker(world, order), raw_status="UPDATE", filled_quantity=4)

    outcomes = [await apply(world, update(partial)), await apply(world, update(partial))]

    after = await stored(world, order)
    assert outcomes == [UpdateOutcome.APPLIED, UpdateOutcome.DUPLICATE]
    assert (after.status, after.filled_quantity) == (OrderStatus.PENDING, 4)


async def test_an_order_of_unknown_outcome_is_found_by_its_tag_and_takes_the_broker_id(
    world: World,
) -> None:
    world.broker.fail_next("place_order", BrokerOutcomeUnknown("timed out"), after_accept=True)
    order = await placed(world)
    assert (order.status, order.broker_order_id) == (OrderStatus.UNKNOWN, None)
    (report,) = [r for r in world.broker.book.values() if r.tag == order.tag]

    outcome = await apply(world, update(report))

    after = await stored(world, order)
    assert outcome is UpdateOutcome.APPLIED
    assert (after.status, after.broker_order_id) == (OrderStatus.OPEN, report.broker_order_id)


async def test_an_update_for_an_order_placed_elsewhere_is_unknown(world: World) -> None:
    foreign = OrderStatusReport(BrokerOrderId("990001"), "COMPLETE", tag="KITEWEB", quantity=1)

    assert await apply(world, update(foreign)) is UpdateOutcome.UNKNOWN_ORDER
    assert await apply(world, update(replace(foreign, tag=None))) is UpdateOutcome.UNKNOWN_ORDER


async def test_another_accounts_tag_is_not_adopted(world: World, outsider: Principal) -> None:
    request = make_limit_request(account_id=OTHER_ACCOUNT)
    theirs = await world.services.orders.place_order(outsider, request, None)
    stolen = replace(at_broker(world, theirs.order), broker_order_id=BrokerOrderId("990002"))

    assert await apply(world, update(stolen)) is UpdateOutcome.UNKNOWN_ORDER


async def test_our_broker_id_with_another_tag_is_a_mismatch_never_adopted(world: World) -> None:
    order = await placed(world)
    impostor = replace(at_broker(world, order), raw_status="COMPLETE", tag="NOTOURTAG")

    outcome = await apply(world, update(impostor))

    assert outcome is UpdateOutcome.MISMATCH
    assert (await stored(world, order)).status is OrderStatus.PENDING


async def test_an_update_naming_another_broker_user_is_refused(world: World) -> None:
    order = await placed(world)
    assert order.broker_order_id is not None
    world.broker.fill(order.broker_order_id)

    outcome = await apply(world, update(at_broker(world, order), user_id="ZZ9999"))

    assert outcome is UpdateOutcome.UNKNOWN_ACCOUNT
    assert (await stored(world, order)).status is OrderStatus.PENDING


async def test_an_unreadable_update_is_malformed(world: World) -> None:
    unreadable = OrderUpdate(None, user_id=ACCOUNT, problem="order 1: a negative price -1")

    assert await apply(world, unreadable) is UpdateOutcome.MALFORMED


async def test_streams_are_wanted_for_live_sessions_only(world: World, outsider: Principal) -> None:
    service = world.services.order_updates
    both = {s.account_id for s in await service.live_sessions()}
    world.store.accounts[OTHER_ACCOUNT].require_login()

    one = await service.live_sessions()
    world.clock.advance(timedelta(days=1).total_seconds())  # past 06:00 IST: the token died

    assert both == {ACCOUNT, OTHER_ACCOUNT}
    assert one == [_session_of(world, ACCOUNT)]
    assert await service.live_sessions() == []


async def test_a_removed_account_wants_no_stream(world: World) -> None:
    account = world.store.accounts[ACCOUNT]
    account.removed_at = world.clock.now()

    assert await world.services.order_updates.live_sessions() == []


async def test_a_refused_stream_logs_out_only_once_the_broker_confirms_the_token_dead(
    world: World,
) -> None:
    session = _session_of(world, ACCOUNT)
    assert await world.services.order_updates.session_refused(session) is False  # margins ok
    assert world.store.accounts[ACCOUNT].session_state is SessionState.ACTIVE

    world.broker.fail_next("margins", AuthenticationError("Incorrect `api_key` or `access_token`."))
    assert await world.services.order_updates.session_refused(session) is True

    assert world.store.accounts[ACCOUNT].session_state is SessionState.LOGIN_REQUIRED


async def test_a_refusal_of_an_older_token_leaves_a_newer_login_alone(world: World) -> None:
    stale = replace(_session_of(world, ACCOUNT), access_token="an-older-token")
    world.broker.fail_next("margins", AuthenticationError("Incorrect `api_key` or `access_token`."))

    await world.services.order_updates.session_refused(stale)

    assert world.store.accounts[ACCOUNT].session_state is SessionState.ACTIVE


async def test_the_postback_route_counts_its_outcomes_as_order_updates(
    world: World, anonymous_api: httpx.AsyncClient
) -> None:
    labels = {"channel": "postback", "outcome": "unknown_order"}
    before = _sample(labels)
    stamp = "2026-11-30 10:15:00"
    body = {
        "user_id": ACCOUNT,
        "order_id": "990003",
        "order_timestamp": stamp,
        "status": "COMPLETE",
        "checksum": postback_checksum(BrokerOrderId("990003"), stamp, "paper-secret"),
    }

    reply = await anonymous_api.post("/api/v1/broker/postback", json=body)

    assert reply.json() == {"outcome": "unknown_order"}
    assert _sample(labels) == before + 1


def _sample(labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value("order_service_order_updates_total", labels) or 0.0


def _session_of(world: World, account_id: AccountId) -> BrokerSession:
    account = world.store.accounts[account_id]
    assert account.access_token is not None
    return BrokerSession(account_id, account.api_key, account.access_token)


async def test_with_the_streams_session_a_fill_and_its_trades_are_one_commit(
    world: World,
) -> None:
    order = await placed(world)
    assert order.broker_order_id is not None
    world.broker.fill(order.broker_order_id)
    session = await stream_session(world)
    commits = world.store.commits

    pushed = update(at_broker(world, order))
    outcome = await world.services.order_updates.apply(ACCOUNT, pushed, session)

    assert outcome is UpdateOutcome.APPLIED
    assert world.store.commits == commits + 1  # the order's change and its fills together
    after = await stored(world, order)
    assert (after.status, after.filled_quantity) == (OrderStatus.COMPLETE, 10)
    fills = await world.services.trades.fills_of(order.order_id)
    assert [(f.report.quantity, f.source) for f in fills] == [(10, FillSource.ORDER_TRADES)]
    assert events(world, order).count(ORDER_FILL_RECORDED) == 1


async def test_with_the_streams_session_unreadable_trades_still_apply_the_update(
    world: World,
) -> None:
    order = await placed(world)
    assert order.broker_order_id is not None
    world.broker.fill(order.broker_order_id)
    world.broker.fail_next("order_trades", BrokerUnavailable())
    session = await stream_session(world)

    pushed = update(at_broker(world, order))
    outcome = await world.services.order_updates.apply(ACCOUNT, pushed, session)

    assert outcome is UpdateOutcome.APPLIED
    assert (await stored(world, order)).status is OrderStatus.COMPLETE
    assert await world.services.trades.fills_of(order.order_id) == []  # the trade book's


async def test_with_the_streams_session_a_repeat_stores_nothing_twice(world: World) -> None:
    order = await placed(world)
    assert order.broker_order_id is not None
    world.broker.fill(order.broker_order_id)
    session = await stream_session(world)
    pushed = update(at_broker(world, order))
    await world.services.order_updates.apply(ACCOUNT, pushed, session)
    before = events(world, order)

    again = await world.services.order_updates.apply(ACCOUNT, pushed, session)

    assert again is UpdateOutcome.DUPLICATE
    assert events(world, order) == before
    assert len(await world.services.trades.fills_of(order.order_id)) == 1
