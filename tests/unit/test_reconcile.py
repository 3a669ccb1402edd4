"""Reconciliation: the broker's order book settles our orders, forward-only and idempotently."""

from __future__ import annotations

from dataclasses import replace

import pytest

from order_service.domain.account import Principal, SessionState
from order_service.domain.ids import AccountId
from order_service.domain.order import Order
from order_service.domain.status import OrderStatus
from order_service.errors import (
    AuthenticationError,
    BrokerOutcomeUnknown,
    BrokerUnavailable,
    NotFound,
)
from order_service.services.ports import BrokerSession
from order_service.services.reconcile import SyncResult
from tests.factories import ACCOUNT, make_limit_request, make_request
from tests.unit.conftest import World, insert_order
from tests.unit.fakes import FakeUnitOfWork

pytestmark = pytest.mark.asyncio

GRACE = 60  # settings.unknown_grace_seconds in tests/conftest.py
UNKNOWN = BrokerOutcomeUnknown(details={"operation": "place_order", "reason": "ReadTimeout"})


async def stored(world: World, order: Order) -> Order:
    return await world.services.orders.get_order(world.trader, order.order_id)


async def events(world: World, order: Order) -> list[str]:
    found = await world.services.orders.order_events(world.trader, order.order_id)
    return [event.name for event in found]


async def lost_placement(world: World, *, at_broker: bool) -> Order:
    world.broker.fail_next("place_order", UNKNOWN, after_accept=at_broker)
    placement = await world.services.orders.place_order(world.trader, make_request(), None)
    assert placement.order.status is OrderStatus.UNKNOWN
    return placement.order


async def test_an_ambiguous_send_leaves_the_order_unknown_with_the_reason(world: World) -> None:
    order = await lost_placement(world, at_broker=True)
    last = world.store.events[-1]
    assert last.name == "OrderOutcomeUnknown"
    assert last.data["error_code"] == "BROKER_OUTCOME_UNKNOWN"
    assert last.data["reason"] == "ReadTimeout"
    assert order.broker_order_id is None


async def test_an_unknown_order_found_by_tag_takes_its_broker_state(world: World) -> None:
    order = await lost_placement(world, at_broker=True)

    result = await world.services.reconcile.sync_account(ACCOUNT)

    assert (result.updated, result.resolved, result.failed) == (1, 1, 0)
    found = await stored(world, order)
    assert found.status is OrderStatus.COMPLETE
    (broker_order_id,) = world.broker.book
    assert found.broker_order_id == broker_order_id
    assert world.broker.calls["place_order"] == 1


async def test_an_unknown_order_absent_from_the_book_waits_out_the_grace(world: World) -> None:
    order = await lost_placement(world, at_broker=False)

    world.clock.advance(GRACE - 1)
    within = await world.services.reconcile.sync_account(ACCOUNT)
    assert (within.updated, within.failed) == (0, 0)
    assert (await stored(world, order)).status is OrderStatus.UNKNOWN

    world.clock.advance(2)
    after = await world.services.reconcile.sync_account(ACCOUNT)
    assert after.failed == 1
    assert (await stored(world, order)).status is OrderStatus.FAILED
    assert (await events(world, order))[-1] == "OrderNotFoundAtBroker"


async def test_a_new_order_left_by_a_crash_fails_after_the_grace(world: World) -> None:
    order = await insert_order(world, OrderStatus.NEW)

    assert (await world.services.reconcile.sync_account(ACCOUNT)).failed == 0
    assert (await stored(world, order)).status is OrderStatus.NEW

    world.clock.advance(GRACE)
    assert (await world.services.reconcile.sync_account(ACCOUNT)).failed == 1
    assert (await stored(world, order)).status is OrderStatus.FAILED
    assert (await events(world, order))[-1] == "OrderFailed"
    assert world.broker.calls["place_order"] == 0


async def test_a_submitting_order_left_by_a_crash_is_found_after_the_grace(world: World) -> None:
    order = await insert_order(world, OrderStatus.SUBMITTING)
    session = BrokerSession(ACCOUNT, "paper", world.broker.tokens[ACCOUNT])
    await world.broker.place_order(session, order.request, order.tag)  # sent, then the crash

    assert (await world.services.reconcile.sync_account(ACCOUNT)).updated == 0
    world.clock.advance(GRACE)
    result = await world.services.reconcile.sync_account(ACCOUNT)

    assert (result.updated, result.resolved) == (1, 1)
    assert (await stored(world, order)).status is OrderStatus.COMPLETE


async def test_a_submitting_order_missing_after_the_grace_fails(world: World) -> None:
    order = await insert_order(world, OrderStatus.SUBMITTING)
    world.clock.advance(GRACE)
    assert (await world.services.reconcile.sync_account(ACCOUNT)).failed == 1
    assert (await events(world, order))[-1] == "OrderNotFoundAtBroker"


async def test_a_working_order_missing_from_the_book_is_left_alone(world: World) -> None:
    order = (await world.services.orders.place_order(world.trader, make_request(), None)).order
    world.broker.book.clear()
    world.clock.advance(GRACE * 10)
    result = await world.services.reconcile.sync_account(ACCOUNT)
    assert (result.updated, result.failed) == (0, 0)
    assert (await stored(world, order)).status is OrderStatus.PENDING


async def test_stale_reports_are_ignored(world: World) -> None:
    order = (
        await world.services.orders.place_order(world.trader, make_limit_request(), None)
    ).order
    assert order.broker_order_id is not None
    await world.services.reconcile.sync_account(ACCOUNT)  # PENDING -> OPEN
    assert (await stored(world, order)).status is OrderStatus.OPEN
    report = world.broker.book[order.broker_order_id]
    world.broker.book[order.broker_order_id] = replace(report, raw_status="OPEN PENDING")
    before = len(world.store.events)

    result = await world.services.reconcile.sync_account(ACCOUNT)

    assert result.updated == 0
    assert (await stored(world, order)).status is OrderStatus.OPEN
    assert len(world.store.events) == before


async def test_a_second_pass_over_the_same_book_changes_nothing(world: World) -> None:
    await world.services.orders.place_order(world.trader, make_limit_request(), None)
    assert (await world.services.reconcile.sync_account(ACCOUNT)).updated == 1
    commits = world.store.commits
    assert (await world.services.reconcile.sync_account(ACCOUNT)).updated == 0
    assert world.store.commits == commits


async def test_partial_fills_are_recorded_until_the_order_completes(world: World) -> None:
    order = (
        await world.services.orders.place_order(world.trader, make_limit_request(), None)
    ).order
    assert order.broker_order_id is not None
    world.broker.fill(order.broker_order_id, 4)
    await world.services.reconcile.sync_account(ACCOUNT)
    world.broker.fill(order.broker_order_id, 7)
    await world.services.reconcile.sync_account(ACCOUNT)
    world.broker.fill(order.broker_order_id)
    await world.services.reconcile.sync_account(ACCOUNT)

    assert (await events(world, order))[-3:] == [
        "OrderOpened",
        "OrderPartiallyFilled",
        "OrderFilled",
    ]
    final = await stored(world, order)
    assert (final.status, final.filled_quantity) == (OrderStatus.COMPLETE, 10)


async def test_unmapped_broker_statuses_are_reported_not_fatal(world: World) -> None:
    order = (
        await world.services.orders.place_order(world.trader, make_limit_request(), None)
    ).order
    assert order.broker_order_id is not None
    report = world.broker.book[order.broker_order_id]
    world.broker.book[order.broker_order_id] = replace(report, raw_status="LAPSED")

    result = await world.services.reconcile.sync_account(ACCOUNT)

    assert result.unmapped_statuses == ["LAPSED"]
    assert result.updated == 0
    assert (await stored(world, order)).status is OrderStatus.PENDING


async def test_an_account_without_unsettled_orders_is_not_due_for_a_sync(world: World) -> None:
    assert await world.services.reconcile.accounts_to_sync() == []


async def test_a_full_pass_over_a_quiet_account_reads_the_book_once_and_changes_nothing(
    world: World,
) -> None:
    """A full pass always reads the book: it is how orders placed elsewhere are found."""
    reads, commits = world.broker.calls["orders"], world.store.commits

    result = await world.services.reconcile.sync_account(ACCOUNT)

    assert result == SyncResult()
    assert world.broker.calls["orders"] == reads + 1
    assert world.store.commits == commits


async def test_accounts_to_sync_lists_accounts_with_unsettled_orders(
    world: World, outsider: Principal
) -> None:
    await world.services.orders.place_order(world.trader, make_limit_request(), None)
    assert await world.services.reconcile.accounts_to_sync() == [ACCOUNT]


async def test_an_account_that_must_log_in_is_skipped(world: World) -> None:
    await world.services.orders.place_order(world.trader, make_limit_request(), None)
    async with FakeUnitOfWork(world.store) as uow:
        account = await uow.accounts.get(ACCOUNT)
        assert account is not None
        account.require_login()
        await uow.accounts.save(account)
        await uow.commit()
    reads = world.broker.calls["orders"]

    result = await world.services.reconcile.sync_account(ACCOUNT)

    assert result.updated == 0
    assert world.broker.calls["orders"] == reads


async def test_an_unknown_account_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        await world.services.reconcile.sync_account(AccountId("NOPE"))


async def test_an_unreachable_broker_is_raised_to_the_worker(world: World) -> None:
    await world.services.orders.place_order(world.trader, make_limit_request(), None)
    world.broker.fail_next("orders", BrokerUnavailable())
    with pytest.raises(BrokerUnavailable):
        await world.services.reconcile.sync_account(ACCOUNT)


async def test_an_expired_session_found_by_the_sync_requires_a_login(world: World) -> None:
    await world.services.orders.place_order(world.trader, make_limit_request(), None)
    world.broker.fail_next("orders", AuthenticationError())

    with pytest.raises(AuthenticationError):
        await world.services.reconcile.sync_account(ACCOUNT)

    account = await world.services.accounts.get_account(world.trader, ACCOUNT)
    assert account.session_state is SessionState.LOGIN_REQUIRED


async def test_a_report_our_request_would_not_validate_does_not_wedge_the_sync(
    world: World,
) -> None:
    orders = world.services.orders
    reduced = (
        await orders.place_order(
            world.trader, make_limit_request(quantity=20, disclosed_quantity=10), None
        )
    ).order
    filled = (await orders.place_order(world.trader, make_limit_request(), None)).order
    assert reduced.broker_order_id is not None
    assert filled.broker_order_id is not None
    # Modified at Kite's own terminal: 5 shares (and a smaller disclosed quantity, not reported).
    report = world.broker.book[reduced.broker_order_id]
    world.broker.book[reduced.broker_order_id] = replace(report, quantity=5)
    world.broker.fill(filled.broker_order_id)

    result = await world.services.reconcile.sync_account(ACCOUNT)

    assert result.updated == 2
    assert (await stored(world, filled)).status is OrderStatus.COMPLETE


async def test_a_submitting_order_is_left_to_its_request_for_the_whole_request_window(
    world: World,
) -> None:
    """A request may wait for its rate-budget slot longer than the grace for unknown orders."""
    from datetime import timedelta

    from order_service.services.reconcile import ReconcileService

    reconcile = ReconcileService(
        lambda: FakeUnitOfWork(world.store),
        world.broker,
        world.clock,
        unknown_grace=timedelta(seconds=2),
        request_window=timedelta(seconds=20),
    )
    order = await insert_order(world, OrderStatus.SUBMITTING)

    world.clock.advance(5)
    assert (await reconcile.sync_account(ACCOUNT)).failed == 0
    assert (await stored(world, order)).status is OrderStatus.SUBMITTING

    world.clock.advance(16)
    assert (await reconcile.sync_account(ACCOUNT)).failed == 1
    assert (await stored(world, order)).status is OrderStatus.FAILED


async def test_a_row_with_our_broker_id_and_another_tag_is_never_adopted(world: World) -> None:
    order = (
        await world.services.orders.place_order(world.trader, make_limit_request(), None)
    ).order
    assert order.broker_order_id is not None
    report = world.broker.book[order.broker_order_id]
    world.broker.book[order.broker_order_id] = replace(
        report, raw_status="COMPLETE", filled_quantity=10, tag="SOMEONEELSESORDER001"
    )

    first = await world.services.reconcile.sync_account(ACCOUNT)
    commits = world.store.commits
    second = await world.services.reconcile.sync_account(ACCOUNT)

    assert world.store.commits == commits  # nothing new to write
    assert (first.mismatched, second.mismatched) == (1, 1)  # counted on every pass
    assert (first.updated, second.updated) == (0, 0)
    found = await stored(world, order)
    assert (found.status, found.filled_quantity) == (OrderStatus.PENDING, 0)
    mismatches = [
        e
        for e in world.store.events
        if e.order_id == order.order_id and e.name == "OrderReportMismatched"
    ]
    assert [e.data for e in mismatches] == [  # recorded once
        {"broker_order_id": order.broker_order_id, "reported_tag": "SOMEONEELSESORDER001"}
    ]


async def test_a_state_found_by_the_book_says_so_in_its_event(world: World) -> None:
    order = (
        await world.services.orders.place_order(world.trader, make_limit_request(), None)
    ).order

    result = await world.services.reconcile.sync_account(ACCOUNT)

    assert result.drift()["order_status"] == 1
    last = world.store.events[-1]
    assert (last.order_id, last.name) == (order.order_id, "OrderOpened")
    assert last.data["found_by"] == "order_book"
