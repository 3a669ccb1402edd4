"""The gateway inside the services: stored sessions, a budget store that is down, expired reads."""

from __future__ import annotations

import pytest

from order_service.adapters.broker.fake import FakeBroker
from order_service.bootstrap import bootstrap
from order_service.config import Settings
from order_service.domain.account import SessionState
from order_service.domain.budget import Bucket
from order_service.domain.ids import AccountId
from order_service.domain.status import OrderStatus
from order_service.errors import AuthenticationError, ServiceUnavailableError
from order_service.services.access import stored_sessions
from order_service.services.gateway import GuardedBroker
from order_service.services.ports import BrokerSession
from tests.unit.conftest import World, add_trader
from tests.unit.factories import ACCOUNT, make_limit_request, make_request
from tests.unit.fakes import FakeClock, FakeStore, FakeUnitOfWork

pytestmark = pytest.mark.asyncio


class SwitchableBudget:
    """A budget that admits everything until the test takes its store down."""

    def __init__(self) -> None:
        self.down = False

    async def reserve(self, account_id: AccountId, bucket: Bucket, max_wait: float) -> float:
        if self.down:
            raise ServiceUnavailableError("the rate budget store is unreachable")
        return 0.0

    async def close(self) -> None:
        self.down = True


@pytest.fixture
def budget() -> SwitchableBudget:
    return SwitchableBudget()


@pytest.fixture
def guarded(
    store: FakeStore, clock: FakeClock, budget: SwitchableBudget
) -> tuple[GuardedBroker, FakeBroker]:
    inner = FakeBroker(clock)
    sessions = stored_sessions(lambda: FakeUnitOfWork(store), clock)
    return GuardedBroker(inner, budget, sessions), inner


async def test_the_stored_session_is_read_while_it_is_live(world: World) -> None:
    current = stored_sessions(lambda: FakeUnitOfWork(world.store), world.clock)

    assert await current(ACCOUNT) == BrokerSession(ACCOUNT, "paper", world.broker.tokens[ACCOUNT])
    assert await current(AccountId("NOSUCH")) is None
    world.clock.advance(24 * 3600)  # past 06:00 IST: the token has expired
    assert await current(ACCOUNT) is None


async def test_an_unreachable_budget_store_fails_the_placement_unsent(
    settings: Settings,
    store: FakeStore,
    clock: FakeClock,
    budget: SwitchableBudget,
    guarded: tuple[GuardedBroker, FakeBroker],
) -> None:
    broker, inner = guarded
    services = bootstrap(
        settings, uow_factory=lambda: FakeUnitOfWork(store), broker=broker, clock=clock
    )
    trader, _ = await add_trader(services, "trader", ACCOUNT)
    budget.down = True

    with pytest.raises(ServiceUnavailableError):
        await services.orders.place_order(trader, make_request(), None)

    (order,) = store.orders.values()
    assert order.status is OrderStatus.FAILED
    assert inner.calls["place_order"] == 0


async def test_an_expired_session_on_the_read_back_requires_a_login(world: World) -> None:
    placed = await world.services.orders.place_order(world.trader, make_limit_request(), None)
    world.broker.fail_next("order_history", AuthenticationError())

    await world.services.amendments.cancel_order(world.trader, placed.order.order_id)

    assert world.store.accounts[ACCOUNT].session_state is SessionState.LOGIN_REQUIRED


async def test_bootstrap_guards_the_broker_it_builds(settings: Settings) -> None:
    services = bootstrap(settings)
    try:
        assert isinstance(services.broker, GuardedBroker)
    finally:
        await services.close()
