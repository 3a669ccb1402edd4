"""The repository contract of risk limits and the order counts the count limits use.

Each test runs on the fake, SQLite and PostgreSQL (``contract.py`` says why and how).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from order_service.domain.ids import ClientOrderId, UserId, new_order_id
from order_service.domain.order import Order
from order_service.domain.risk import RiskLimits, RiskScope
from order_service.domain.risk_book import WorkingOrder
from order_service.domain.status import OrderStatus
from order_service.domain.values import OrderType, TransactionType
from tests.factories import make_request
from tests.integration.db.conftest import Seed, build_order
from tests.integration.db.contract import AT, UowFactory, add_orders, read, write

pytestmark = [pytest.mark.asyncio]
ADMIN = UserId("01JADMIN000000000000000000")
LIMITS = RiskLimits.create(
    max_order_value=Decimal("250000.05"), max_quantity=500,
    allowed_exchanges=frozenset({"NSE", "BSE"}),
)  # fmt: skip


@pytest.fixture
def uow_factory(any_uow_factory: UowFactory) -> UowFactory:
    return any_uow_factory


async def test_limits_come_back_exactly_per_scope_and_a_put_replaces_them(
    uow_factory: UowFactory, seed: Seed
) -> None:
    account, strategy = seed.account_a, seed.momentum_a
    assert await read(uow_factory, lambda uow: uow.risk_limits.of_order(account, strategy)) == (
        None, None,
    )  # fmt: skip
    await write(uow_factory, lambda uow: uow.risk_limits.put(
        RiskScope.ACCOUNT, account, account, LIMITS, AT, ADMIN))  # fmt: skip
    tighter = RiskLimits.create(max_quantity=5)
    await write(uow_factory, lambda uow: uow.risk_limits.put(
        RiskScope.STRATEGY, strategy, account, tighter, AT, ADMIN))  # fmt: skip

    both = await read(uow_factory, lambda uow: uow.risk_limits.of_order(account, strategy))
    assert both == (LIMITS, tighter)
    other = await read(uow_factory, lambda uow: uow.risk_limits.of_order(account, seed.default_a))
    assert other == (LIMITS, None)

    await write(uow_factory, lambda uow: uow.risk_limits.put(
        RiskScope.ACCOUNT, account, account, tighter, AT, ADMIN))  # fmt: skip
    assert await read(uow_factory, lambda uow: uow.risk_limits.get(
        RiskScope.ACCOUNT, account)) == tighter  # fmt: skip


async def test_counts_take_working_orders_and_the_orders_sent_since_a_moment(
    uow_factory: UowFactory, seed: Seed
) -> None:
    account = seed.account_a
    made = [
        build_order(status=OrderStatus.OPEN, created_at=AT, updated_at=AT),
        build_order(status=OrderStatus.NEW, created_at=AT, updated_at=AT),
        build_order(status=OrderStatus.COMPLETE, created_at=AT, updated_at=AT),
        build_order(status=OrderStatus.FAILED, created_at=AT, updated_at=AT),
        build_order(status=OrderStatus.CANCELLED, created_at=AT - timedelta(days=1), updated_at=AT),
    ]
    await add_orders(uow_factory, *made)

    assert await read(uow_factory, lambda uow: uow.risk_limits.open_orders(account, None)) == 2
    since = await read(uow_factory, lambda uow: uow.risk_limits.orders_since(account, None, AT))
    assert since == 3  # today's, the FAILED one never reached the broker
    assert await read(uow_factory, lambda uow: uow.risk_limits.open_orders(account, None, 1)) == 1
    since_at_most = await read(
        uow_factory, lambda uow: uow.risk_limits.orders_since(account, None, AT, 2)
    )
    assert since_at_most == 2  # counted no further than asked
    other = seed.momentum_a
    assert await read(uow_factory, lambda uow: uow.risk_limits.open_orders(account, other)) == 0


async def test_working_orders_come_with_their_unfilled_part_and_the_price_they_are_valued_at(
    uow_factory: UowFactory, seed: Seed
) -> None:
    account = seed.account_a
    made = [
        build_order(status=OrderStatus.OPEN, order_type=OrderType.LIMIT, quantity=10,
                    filled_quantity=4, price=Decimal("1520.50"), created_at=AT, updated_at=AT),
        build_order(status=OrderStatus.TRIGGER_PENDING, order_type=OrderType.SL_M, price=None,
                    trigger_price=Decimal("1490.05"), transaction_type=TransactionType.SELL,
                    quantity=3, created_at=AT, updated_at=AT),
        build_order(status=OrderStatus.COMPLETE, quantity=7, filled_quantity=7,
                    created_at=AT, updated_at=AT),
        build_order(status=OrderStatus.OPEN, strategy_id=seed.momentum_a, quantity=2,
                    created_at=AT, updated_at=AT),
    ]  # fmt: skip
    await add_orders(uow_factory, *made)

    working = await read(uow_factory, lambda uow: uow.risk_limits.working(account, None))
    assert sorted(working, key=lambda order: order.open_quantity) == [
        WorkingOrder("NSE", "INFY", "CNC", TransactionType.BUY, 2, None),
        WorkingOrder("NSE", "INFY", "CNC", TransactionType.SELL, 3, Decimal("1490.05")),
        WorkingOrder("NSE", "INFY", "CNC", TransactionType.BUY, 6, Decimal("1520.50")),
    ]
    momentum = await read(
        uow_factory, lambda uow: uow.risk_limits.working(account, seed.momentum_a)
    )
    assert [order.open_quantity for order in momentum] == [2]


def unkeyed(at: datetime, **overrides: Any) -> Order:
    """An order placed without an idempotency key: its client order id is its own id."""
    order_id = new_order_id()
    return build_order(order_id=order_id, client_order_id=ClientOrderId(order_id),
                       created_at=at, updated_at=at, **overrides)  # fmt: skip


async def test_the_last_unkeyed_order_of_the_same_terms_is_found_if_it_may_have_traded(
    uow_factory: UowFactory, seed: Seed
) -> None:
    terms = make_request(account_id=seed.account_a)
    found = unkeyed(AT - timedelta(seconds=1), status=OrderStatus.OPEN)
    await add_orders(
        uow_factory,
        found,
        unkeyed(AT, status=OrderStatus.REJECTED),  # refused at the broker: never traded
        unkeyed(AT, status=OrderStatus.FAILED),  # never sent
        build_order(status=OrderStatus.OPEN, created_at=AT, updated_at=AT),  # keyed: meant
        unkeyed(AT, status=OrderStatus.OPEN, quantity=5),  # other terms
        unkeyed(AT - timedelta(seconds=10), status=OrderStatus.COMPLETE),  # before the window
    )

    def last(since: datetime) -> Any:
        return lambda uow: uow.risk_limits.last_unkeyed(terms, since)

    assert await read(uow_factory, last(AT - timedelta(seconds=2))) == found.created_at
    assert await read(uow_factory, last(AT)) is None
    other = make_request(account_id=seed.account_b)
    window = AT - timedelta(seconds=2)
    assert await read(uow_factory, lambda uow: uow.risk_limits.last_unkeyed(other, window)) is None
