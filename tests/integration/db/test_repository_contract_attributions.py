"""The repository contract of exit attributions: which exits wait, one attribution per order,
the cases of a position, and the orders whose fills the ledger lacks.

Each test runs on the fake, SQLite and PostgreSQL (``contract.py`` says why and how).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from order_service.domain.attribution import (
    Allocation,
    AttributionId,
    AttributionPolicy,
    CaseStatus,
    ExitAttribution,
    Holder,
    PositionKey,
)
from order_service.domain.fill import Fill, FillSource
from order_service.domain.ids import BrokerOrderId, OrderId, StrategyId, new_ulid
from order_service.domain.order import Order, OrderSource
from order_service.domain.reports import FillReport, TradeId
from order_service.domain.status import OrderStatus
from order_service.domain.values import Product, TransactionType
from order_service.errors import StaleWrite
from order_service.services.ports import ExitsAround, UnitOfWork
from tests.integration.db.conftest import Seed, build_order
from tests.integration.db.contract import AT, UowFactory, add_orders, read, write

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("seed")]

INFY = PositionKey("NSE", "INFY", "MIS")
_ids = iter(range(1, 10_000))


@pytest.fixture
def uow_factory(any_uow_factory: UowFactory) -> UowFactory:
    return any_uow_factory


def an_order(filled: int, *, minutes: int = 0, **overrides: Any) -> Order:
    """A MIS order of INFY that filled ``filled``, created ``minutes`` after ``AT``."""
    number = next(_ids)
    values: dict[str, Any] = {
        "broker_order_id": BrokerOrderId(f"2601050000{number:05d}"),
        "product": Product.MIS,
        "status": OrderStatus.COMPLETE if filled else OrderStatus.OPEN,
        "filled_quantity": filled,
        "average_price": Decimal("1520.50") if filled else None,
        "created_at": AT + timedelta(minutes=minutes),
        "updated_at": AT + timedelta(minutes=minutes),
    }
    return build_order(**{**values, **overrides})


def an_exit(filled: int, *, minutes: int = 0, **overrides: Any) -> Order:
    """An external SELL of INFY MIS (no tag of ours)."""
    return an_order(
        filled,
        minutes=minutes,
        transaction_type=TransactionType.SELL,
        source=OrderSource.EXTERNAL,
        tag=None,
        **overrides,
    )


def fill_of(order: Order, quantity: int) -> Fill:
    assert order.broker_order_id is not None
    report = FillReport(
        trade_id=TradeId(f"T{next(_ids)}"),
        broker_order_id=order.broker_order_id,
        exchange=order.request.exchange.value,
        tradingsymbol=order.request.tradingsymbol,
        product=order.request.product.value,
        transaction_type=order.request.transaction_type,
        quantity=quantity,
        price=Decimal("1520.50"),
        exchange_timestamp=order.created_at,
    )
    return Fill.of(order, report, FillSource.TRADES, order.created_at)


async def add_fills(uow_factory: UowFactory, *fills: Fill) -> None:
    async def adding(uow: UnitOfWork) -> None:
        await uow.fills.add_new(list(fills))

    await write(uow_factory, adding)


def attribution_of(order: Order, status: CaseStatus = CaseStatus.OPEN) -> ExitAttribution:
    return ExitAttribution(
        attribution_id=AttributionId(new_ulid()),
        account_id=order.account_id,
        order_id=order.order_id,
        position=INFY,
        transaction_type=TransactionType.SELL,
        quantity=order.filled_quantity,
        default_strategy_id=order.strategy_id,
        holders=(),
        policy=AttributionPolicy.MANUAL,
        status=status,
        reason="the exit closed part of what several strategies held",
        created_at=AT,
        updated_at=AT,
    )


async def add_attribution(uow_factory: UowFactory, attribution: ExitAttribution) -> bool:
    stored: list[bool] = []

    async def adding(uow: UnitOfWork) -> None:
        stored.append(await uow.attributions.add(attribution))

    await write(uow_factory, adding)
    return stored[0]


async def short_of_fills(
    uow_factory: UowFactory,
    seed: Seed,
    by_minutes: int,
    other_than: OrderId,
    from_minutes: int = -1,
) -> int:
    created = (AT + timedelta(minutes=from_minutes), AT + timedelta(minutes=by_minutes))
    found: int = await read(
        uow_factory,
        lambda uow: uow.attributions.short_of_fills(seed.account_a, INFY, created, other_than),
    )
    return found


async def test_the_exits_waiting_are_settled_external_in_the_ledger_unattributed_oldest_first(
    uow_factory: UowFactory, seed: Seed
) -> None:
    later, earlier = an_exit(4, minutes=2), an_exit(3, minutes=1)
    working = an_exit(0)  # nothing filled, still open
    ours = an_order(5)  # placed through the service
    theirs = an_exit(2, account_id=seed.account_b, strategy_id=seed.default_b)
    done = an_exit(1)
    unlisted = an_exit(2)  # filled, but the ledger holds none of its fills yet
    await add_orders(uow_factory, later, earlier, working, ours, theirs, done, unlisted)
    await add_fills(
        uow_factory, *(fill_of(o, o.filled_quantity) for o in (later, earlier, ours, theirs, done))
    )
    assert await add_attribution(uow_factory, attribution_of(done, CaseStatus.APPLIED))

    waiting: list[Order] = await read(
        uow_factory, lambda uow: uow.attributions.unattributed_exits(seed.account_a, 10)
    )
    first: list[Order] = await read(
        uow_factory, lambda uow: uow.attributions.unattributed_exits(seed.account_a, 1)
    )
    accounts = await read(uow_factory, lambda uow: uow.attributions.accounts_unattributed())

    assert [o.order_id for o in waiting] == [earlier.order_id, later.order_id]
    assert [o.order_id for o in first] == [earlier.order_id]
    assert accounts == sorted([seed.account_a, seed.account_b])


async def test_an_attribution_comes_back_as_it_was_stored(uow_factory: UowFactory) -> None:
    exit_ = an_exit(6)
    await add_orders(uow_factory, exit_)
    stored = replace(
        attribution_of(exit_),
        holders=(Holder(exit_.strategy_id, 5, AT), Holder(StrategyId(new_ulid()), 3, AT)),
        allocations=(Allocation(exit_.strategy_id, 6),),
        trade_ids=(TradeId("T-1"), TradeId("T-2")),
        status=CaseStatus.RESOLVED,
    )
    await add_attribution(uow_factory, stored)

    found = await read(uow_factory, lambda uow: uow.attributions.get(stored.attribution_id))

    assert found == stored


async def test_an_order_is_attributed_once(uow_factory: UowFactory) -> None:
    exit_ = an_exit(4)
    await add_orders(uow_factory, exit_)

    first = await add_attribution(uow_factory, attribution_of(exit_))
    second = await add_attribution(uow_factory, attribution_of(exit_))

    assert (first, second) == (True, False)


async def test_a_case_saved_by_someone_else_since_it_was_read_is_stale(
    uow_factory: UowFactory,
) -> None:
    exit_ = an_exit(4)
    await add_orders(uow_factory, exit_)
    case = attribution_of(exit_)
    await add_attribution(uow_factory, case)
    stale = attribution_of(exit_)
    stale.attribution_id = case.attribution_id

    await write(uow_factory, lambda uow: uow.attributions.save(case))

    with pytest.raises(StaleWrite):
        await write(uow_factory, lambda uow: uow.attributions.save(stale))
    assert case.version == 1


async def test_the_cases_not_applied_of_a_position_are_counted(
    uow_factory: UowFactory, seed: Seed
) -> None:
    statuses = (CaseStatus.OPEN, CaseStatus.RESOLVED, CaseStatus.APPLIED)
    exits = [an_exit(1, minutes=n) for n in range(len(statuses))]
    await add_orders(uow_factory, *exits)
    made = [attribution_of(exit_, status) for exit_, status in zip(exits, statuses, strict=True)]
    for attribution in made:
        await add_attribution(uow_factory, attribution)
    other = PositionKey("NSE", "TCS", "MIS")
    resolved = made[1].attribution_id  # ids are made in order: the open case's is lower

    counted = await read(
        uow_factory, lambda uow: uow.attributions.unapplied_cases(seed.account_a, INFY)
    )
    none = await read(
        uow_factory, lambda uow: uow.attributions.unapplied_cases(seed.account_a, other)
    )

    before_resolved = await read(
        uow_factory, lambda uow: uow.attributions.unapplied_cases(seed.account_a, INFY, resolved)
    )

    assert (counted, none) == (2, 0)  # the open and the resolved one
    assert before_resolved == 1  # the open one alone


async def test_the_orders_of_a_position_whose_fills_the_ledger_lacks_are_counted(
    uow_factory: UowFactory, seed: Seed
) -> None:
    whole, short, unfilled = an_order(5), an_order(5), an_order(0)
    half = an_order(6, minutes=1)
    later = an_order(5, minutes=10)  # created after the moment asked about
    elsewhere = an_order(5, tradingsymbol="TCS")
    delivery = an_order(5, product=Product.CNC)
    theirs = an_order(5, account_id=seed.account_b, strategy_id=seed.default_b)
    exit_ = an_exit(4, minutes=2)  # its own fills are not asked about
    everything = (whole, short, unfilled, half, later, elsewhere, delivery, theirs, exit_)
    await add_orders(uow_factory, *everything)
    await add_fills(uow_factory, fill_of(whole, 2), fill_of(whole, 3), fill_of(half, 3))

    counted = await short_of_fills(uow_factory, seed, 5, exit_.order_id)
    with_the_exit = await short_of_fills(uow_factory, seed, 5, whole.order_id)
    earlier = await short_of_fills(uow_factory, seed, 0, exit_.order_id)

    assert counted == 2  # short and half
    assert with_the_exit == 3
    assert earlier == 1  # only short was created by then
    assert await short_of_fills(uow_factory, seed, 5, exit_.order_id, from_minutes=1) == 1  # half


async def test_the_exits_around_an_exits_first_fill_are_counted_by_their_own_first_fill(
    uow_factory: UowFactory, seed: Seed
) -> None:
    exit_ = an_exit(4, minutes=5)
    waiting_before = an_exit(2, minutes=1)  # began before it, not attributed
    case_before = an_exit(2, minutes=2)  # began before it, a case not applied
    done_before = an_exit(2, minutes=3)  # began before it, applied: in its holders
    done_after = an_exit(3, minutes=8)  # began after it, attributed already
    waiting_after = an_exit(1, minutes=9)  # began after it, not attributed: waits for it
    overlapping = an_exit(3, minutes=4)  # began before it, filled again after it, applied
    stale = an_exit(1, minutes=-24 * 60)  # began yesterday, not touched since
    ours = an_order(5, minutes=1)  # placed through the service
    elsewhere = an_exit(2, minutes=1, tradingsymbol="TCS")
    theirs = an_exit(2, minutes=1, account_id=seed.account_b, strategy_id=seed.default_b)
    everything = (
        exit_, waiting_before, case_before, done_before, done_after, waiting_after,
        overlapping, stale, ours, elsewhere, theirs,
    )  # fmt: skip
    await add_orders(uow_factory, *everything)
    await add_fills(uow_factory, *(fill_of(o, o.filled_quantity) for o in everything))
    later_fill = fill_of(overlapping, 1)
    late = replace(later_fill.report, exchange_timestamp=AT + timedelta(minutes=7))
    await add_fills(uow_factory, replace(later_fill, report=late))
    assert await add_attribution(uow_factory, attribution_of(case_before, CaseStatus.OPEN))
    for done in (done_before, done_after, overlapping):
        assert await add_attribution(uow_factory, attribution_of(done, CaseStatus.APPLIED))
    today = AT - timedelta(hours=1)

    def around(minutes: int, other_than: Order, since: datetime = today) -> Any:
        placing = (AT + timedelta(minutes=minutes), "", 0)
        return lambda uow: uow.attributions.exits_around(
            seed.account_a, INFY, placing, other_than.order_id, since
        )

    # The overlapping exit's late fill (minute 7) does not make it one that began after.
    assert await read(uow_factory, around(5, exit_)) == ExitsAround(1, 1, 1)
    assert await read(uow_factory, around(10, exit_)) == ExitsAround(2, 1, 0)
    assert await read(uow_factory, around(10, waiting_after)) == ExitsAround(2, 1, 0)
    assert await read(uow_factory, around(0, exit_)) == ExitsAround(0, 0, 4)  # cases too
    with_yesterday = around(5, exit_, AT - timedelta(days=2))
    assert await read(uow_factory, with_yesterday) == ExitsAround(2, 1, 1)
