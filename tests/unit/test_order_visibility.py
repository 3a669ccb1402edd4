"""Who sees what: another user's orders, accounts and strategies do not exist; admins see all."""

from __future__ import annotations

import pytest

from order_service.domain.account import Principal, Strategy
from order_service.domain.control import ControlMode
from order_service.domain.ids import AccountId, OrderId, StrategyId
from order_service.domain.order import Order
from order_service.domain.status import OrderStatus
from order_service.errors import NotFound, ValidationError
from order_service.services.ports import OrderFilter
from tests.factories import ACCOUNT, NOW, make_limit_request, make_request
from tests.unit.conftest import OTHER_ACCOUNT, World

pytestmark = pytest.mark.asyncio


async def place_for(
    world: World, principal: Principal, account_id: AccountId, **kw: object
) -> Order:
    request = make_request(account_id=account_id, **kw)
    return (await world.services.orders.place_order(principal, request, None)).order


def ids(orders: list[Order]) -> list[OrderId]:
    return [order.order_id for order in orders]


async def test_another_users_order_does_not_exist(world: World, outsider: Principal) -> None:
    theirs = await place_for(world, outsider, OTHER_ACCOUNT)
    with pytest.raises(NotFound):
        await world.services.orders.get_order(world.trader, theirs.order_id)
    with pytest.raises(NotFound):
        await world.services.orders.order_events(world.trader, theirs.order_id)
    with pytest.raises(NotFound):
        await world.services.amendments.cancel_order(world.trader, theirs.order_id)


async def test_an_unknown_order_does_not_exist(world: World) -> None:
    with pytest.raises(NotFound) as caught:
        await world.services.orders.get_order(world.trader, OrderId("01NOSUCHORDER0000000000000"))
    assert caught.value.details == {"order_id": "01NOSUCHORDER0000000000000"}


async def test_another_users_account_does_not_exist(world: World, outsider: Principal) -> None:
    with pytest.raises(NotFound) as caught:
        await place_for(world, world.trader, OTHER_ACCOUNT)
    assert caught.value.details == {"account_id": OTHER_ACCOUNT}
    with pytest.raises(NotFound):
        await world.services.accounts.get_account(world.trader, OTHER_ACCOUNT)
    assert world.store.orders == {}
    assert world.broker.calls["place_order"] == 0


async def test_an_admin_sees_and_acts_on_everything(
    world: World, outsider: Principal, admin: Principal
) -> None:
    mine = await place_for(world, world.trader, ACCOUNT)
    theirs = await place_for(world, outsider, OTHER_ACCOUNT)
    by_admin = await place_for(world, admin, OTHER_ACCOUNT)

    assert (await world.services.orders.get_order(admin, theirs.order_id)) == theirs
    listed = await world.services.orders.list_orders(admin, OrderFilter())
    assert set(ids(listed)) == {mine.order_id, theirs.order_id, by_admin.order_id}
    accounts = await world.services.accounts.list_accounts(admin)
    assert {a.account_id for a in accounts} == {ACCOUNT, OTHER_ACCOUNT}


async def test_a_trader_lists_only_its_own_accounts_orders(
    world: World, outsider: Principal
) -> None:
    mine = await place_for(world, world.trader, ACCOUNT)
    await place_for(world, outsider, OTHER_ACCOUNT)

    everything = OrderFilter()
    assert ids(await world.services.orders.list_orders(world.trader, everything)) == [mine.order_id]
    asked_for_theirs = OrderFilter(account_id=OTHER_ACCOUNT)
    assert await world.services.orders.list_orders(world.trader, asked_for_theirs) == []
    accounts = await world.services.accounts.list_accounts(world.trader)
    assert [a.account_id for a in accounts] == [ACCOUNT]


async def test_a_strategy_of_another_account_is_invalid_input(
    world: World, outsider: Principal
) -> None:
    theirs = _default_strategy(world, OTHER_ACCOUNT)
    with pytest.raises(ValidationError) as caught:
        await place_for(world, world.trader, ACCOUNT, strategy_id=theirs.strategy_id)
    assert caught.value.details == {"field": "strategy_id", "strategy_id": theirs.strategy_id}
    assert world.store.orders == {}


async def test_an_unknown_strategy_is_invalid_input(world: World) -> None:
    with pytest.raises(ValidationError) as caught:
        await place_for(world, world.trader, ACCOUNT, strategy_id=StrategyId("NOPE"))
    assert caught.value.details["field"] == "strategy_id"
    assert world.store.orders == {}


async def test_an_account_without_a_default_strategy_cannot_place(world: World) -> None:
    world.store.strategies.clear()
    with pytest.raises(NotFound, match="no default strategy"):
        await place_for(world, world.trader, ACCOUNT)
    assert world.broker.calls["place_order"] == 0


async def test_orders_go_to_the_default_or_the_named_strategy(world: World) -> None:
    default = _default_strategy(world, ACCOUNT)
    manual = ControlMode.MANUAL  # a person's own strategy
    named = Strategy(StrategyId("SWING"), ACCOUNT, "swing", False, NOW, control_mode=manual)
    world.store.strategies[named.strategy_id] = named

    plain = await place_for(world, world.trader, ACCOUNT)
    chosen = await place_for(world, world.trader, ACCOUNT, strategy_id=named.strategy_id)

    assert plain.strategy_id == default.strategy_id
    assert chosen.strategy_id == named.strategy_id
    query = OrderFilter(strategy_id=named.strategy_id)
    assert ids(await world.services.orders.list_orders(world.trader, query)) == [chosen.order_id]


async def test_list_orders_filters_by_status(world: World) -> None:
    market = await place_for(world, world.trader, ACCOUNT)
    limit = (
        await world.services.orders.place_order(world.trader, make_limit_request(), None)
    ).order
    await world.services.reconcile.sync_account(ACCOUNT)  # MARKET -> COMPLETE, LIMIT -> OPEN

    def query(status: OrderStatus) -> OrderFilter:
        return OrderFilter(status=status)

    complete = await world.services.orders.list_orders(world.trader, query(OrderStatus.COMPLETE))
    working = await world.services.orders.list_orders(world.trader, query(OrderStatus.OPEN))
    assert ids(complete) == [market.order_id]
    assert ids(working) == [limit.order_id]


async def test_list_orders_pages_newest_first_with_a_cursor(world: World) -> None:
    placed = [await place_for(world, world.trader, ACCOUNT) for _ in range(5)]
    newest_first = [order.order_id for order in reversed(placed)]

    pages: list[list[OrderId]] = []
    cursor: OrderId | None = None
    while True:
        page = await world.services.orders.list_orders(
            world.trader, OrderFilter(after=cursor, limit=2)
        )
        if not page:
            break
        pages.append(ids(page))
        cursor = page[-1].order_id

    assert pages == [newest_first[0:2], newest_first[2:4], newest_first[4:5]]


def _default_strategy(world: World, account_id: AccountId) -> Strategy:
    (strategy,) = [
        s for s in world.store.strategies.values() if s.account_id == account_id and s.is_default
    ]
    return strategy


async def test_a_query_by_account_states_its_scope_or_cannot_be_built() -> None:
    import dataclasses

    from order_service.services.ports import OrderQuery

    scope = {f.name: f for f in dataclasses.fields(OrderQuery)}["scope"]
    assert scope.default is dataclasses.MISSING
    assert scope.default_factory is dataclasses.MISSING
    with pytest.raises(TypeError):
        OrderQuery()  # type: ignore[call-arg]
