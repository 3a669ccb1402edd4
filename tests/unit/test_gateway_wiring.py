"""The gateway inside the services: stored sessions, a budget store that is down, expired reads."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from order_service.adapters.broker.fake import FakeBroker
from order_service.bootstrap import Services, bootstrap
from order_service.config import Settings
from order_service.domain.account import Principal, SessionState
from order_service.domain.budget import Bucket
from order_service.domain.ids import AccountId, BrokerOrderId
from order_service.domain.order import OrderChanges
from order_service.domain.status import OrderStatus, OrderTrigger
from order_service.domain.values import Variety
from order_service.errors import (
    AuthenticationError,
    BrokerUnavailable,
    OrderServiceError,
    RateLimitError,
    ServiceUnavailableError,
)
from order_service.services.access import stored_sessions
from order_service.services.gateway import GatewayPolicy, GuardedBroker
from order_service.services.ports import BrokerSession
from order_service.services.sessions import SessionExpiry
from order_service.services.writes import OrderWriter
from tests.factories import ACCOUNT, make_limit_request, make_request
from tests.unit.conftest import World, add_trader, log_in
from tests.unit.fakes import FakeClock, FakeStore, FakeUnitOfWork

pytestmark = pytest.mark.asyncio
CHANGES = OrderChanges(price=Decimal("1500.00"))
RESTING = BrokerOrderId("0000000000001")


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
    policy = GatewayPolicy(max_wait=5.0, breaker_failures=5, breaker_cooldown=10.0)
    return GuardedBroker(inner, budget, sessions, policy), inner


async def guarded_services(
    settings: Settings, store: FakeStore, clock: FakeClock, broker: GuardedBroker
) -> tuple[Services, Principal]:
    """The services around the guarded broker, and a trader of ``ACCOUNT``."""
    services = bootstrap(
        settings, uow_factory=lambda: FakeUnitOfWork(store), broker=broker, clock=clock
    )
    trader, _ = await add_trader(services, "trader", ACCOUNT)
    return services, trader


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
    services, trader = await guarded_services(settings, store, clock, broker)
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
        assert isinstance(services.broker, SessionExpiry)
        assert isinstance(services.broker.inner, GuardedBroker)
    finally:
        await services.close()


@pytest.fixture
def guarded_world(
    settings: Settings,
    store: FakeStore,
    clock: FakeClock,
    guarded: tuple[GuardedBroker, FakeBroker],
) -> Services:
    return bootstrap(
        settings, uow_factory=lambda: FakeUnitOfWork(store), broker=guarded[0], clock=clock
    )


@pytest.mark.parametrize("amendment", ["cancel", "modify"])
async def test_an_amendment_refused_unsent_restores_the_previous_state(
    guarded_world: Services,
    store: FakeStore,
    budget: SwitchableBudget,
    guarded: tuple[GuardedBroker, FakeBroker],
    amendment: str,
) -> None:
    trader, _ = await add_trader(guarded_world, "trader", ACCOUNT)
    placed = await guarded_world.orders.place_order(trader, make_limit_request(), None)
    await guarded_world.reconcile.sync_account(ACCOUNT)
    amendments, order_id = guarded_world.amendments, placed.order.order_id
    send = (
        amendments.cancel_order(trader, order_id)
        if amendment == "cancel"
        else amendments.modify_order(trader, order_id, OrderChanges(price=Decimal("1500.00")))
    )
    budget.down = True

    with pytest.raises(ServiceUnavailableError):
        await send

    after = await guarded_world.orders.get_order(trader, placed.order.order_id)
    assert after.status is OrderStatus.OPEN
    assert after.request.price == placed.order.request.price
    events = await guarded_world.orders.order_events(trader, placed.order.order_id)
    assert events[-1].name == "OrderAmendmentWithdrawn"
    assert events[-1].data["error_code"] == "SERVICE_UNAVAILABLE"
    inner = guarded[1]
    assert inner.calls["cancel_order"] + inner.calls["modify_order"] == 0
    assert inner.calls["order_history"] == 0  # nothing was sent, so nothing is read back


@pytest.mark.parametrize(
    "refusal",
    [RateLimitError(retry_after=2.0), BrokerUnavailable("circuit open"), AuthenticationError()],
    ids=["rate-limited", "circuit-open", "session-expired"],
)
async def test_a_cancel_refused_unsent_reopens_the_order(
    world: World, refusal: OrderServiceError
) -> None:
    placed = await world.services.orders.place_order(world.trader, make_limit_request(), None)
    await world.services.reconcile.sync_account(ACCOUNT)
    world.broker.fail_next("cancel_order", refusal)

    with pytest.raises(type(refusal)):
        await world.services.amendments.cancel_order(world.trader, placed.order.order_id)

    after = world.store.orders[placed.order.order_id]
    assert after.status is OrderStatus.OPEN
    assert world.broker.calls["order_history"] == 0


async def test_a_cancel_refused_during_a_modify_returns_to_the_modify(world: World) -> None:
    placed = await world.services.orders.place_order(world.trader, make_limit_request(), None)
    await world.services.reconcile.sync_account(ACCOUNT)
    order = world.store.orders[placed.order.order_id]
    order.move(OrderTrigger.REQUEST_MODIFY, world.clock.now())
    order.pending_events.clear()
    world.broker.fail_next("cancel_order", RateLimitError())

    with pytest.raises(RateLimitError):
        await world.services.amendments.cancel_order(world.trader, order.order_id)

    assert world.store.orders[order.order_id].status is OrderStatus.MODIFY_PENDING


@pytest.mark.parametrize(
    ("operation", "call"),
    [
        ("place_order", lambda b, s: b.place_order(s, make_request(), "TAG1")),
        ("modify_order", lambda b, s: b.modify_order(s, Variety.REGULAR, RESTING, CHANGES)),
        ("cancel_order", lambda b, s: b.cancel_order(s, Variety.REGULAR, RESTING)),
        ("order_history", lambda b, s: b.order_history(s, RESTING)),
        ("orders", lambda b, s: b.orders(s)),
        ("margins", lambda b, s: b.margins(s)),
    ],
)
async def test_every_call_that_meets_an_expired_session_marks_the_account(
    clock: FakeClock, operation: str, call: Any
) -> None:
    inner = FakeBroker(clock)
    session = BrokerSession(ACCOUNT, "paper", "token")
    assert await inner.place_order(session, make_limit_request(), "TAG0") == RESTING
    inner.fail_next(operation, AuthenticationError())
    expired: list[AccountId] = []

    async def on_expired(session: BrokerSession) -> None:
        expired.append(session.account_id)

    broker = SessionExpiry(inner, on_expired)
    with pytest.raises(AuthenticationError):
        await call(broker, session)

    assert expired == [ACCOUNT]


async def test_a_refused_request_token_is_no_expired_session(clock: FakeClock) -> None:
    inner = FakeBroker(clock)
    inner.fail_next("create_session", AuthenticationError())
    expired: list[AccountId] = []

    async def on_expired(session: BrokerSession) -> None:
        expired.append(session.account_id)

    with pytest.raises(AuthenticationError):
        await SessionExpiry(inner, on_expired).create_session(ACCOUNT, "k", "s", "used")
    assert expired == []


async def test_a_late_expiry_of_a_replaced_token_keeps_the_new_login(world: World) -> None:
    stale = BrokerSession(ACCOUNT, "paper", world.store.accounts[ACCOUNT].access_token or "")
    await log_in(world.services, world.trader, ACCOUNT, "next-login")
    writer = OrderWriter(lambda: FakeUnitOfWork(world.store), world.clock)

    await writer.expire_session(stale)  # a call sent before the login fails after it

    account = world.store.accounts[ACCOUNT]
    assert (account.session_state, account.access_token) == (
        SessionState.ACTIVE,
        "token-next-login",
    )
    await writer.expire_session(BrokerSession(ACCOUNT, "paper", "token-next-login"))
    assert world.store.accounts[ACCOUNT].session_state is SessionState.LOGIN_REQUIRED


async def test_failing_previews_never_open_the_circuit_for_the_accounts_orders(
    settings: Settings,
    store: FakeStore,
    clock: FakeClock,
    guarded: tuple[GuardedBroker, FakeBroker],
) -> None:
    broker, inner = guarded
    services, trader = await guarded_services(settings, store, clock, broker)
    for _ in range(6):  # more than the breaker's five failures in a row
        inner.fail_next("basket_margins", BrokerUnavailable("the calculator timed out"))
        with pytest.raises(BrokerUnavailable):
            await services.previews.basket_margins(trader, ACCOUNT, [make_limit_request()], True)

    placed = await services.orders.place_order(trader, make_limit_request(), None)

    assert placed.order.status is OrderStatus.PENDING  # sent: the broker has it
    assert inner.calls["place_order"] == 1


async def test_an_open_circuit_refuses_previews_too_without_probing_it(
    settings: Settings,
    store: FakeStore,
    clock: FakeClock,
    guarded: tuple[GuardedBroker, FakeBroker],
) -> None:
    broker, inner = guarded
    services, trader = await guarded_services(settings, store, clock, broker)
    for _ in range(5):  # the account's funds read fails: the broker is unwell
        inner.fail_next("margins", BrokerUnavailable())
        with pytest.raises(BrokerUnavailable):
            await services.accounts.margins(trader, ACCOUNT)

    with pytest.raises(BrokerUnavailable, match="circuit open"):
        await services.previews.order_margins(trader, ACCOUNT, [make_limit_request()])
    assert inner.calls["order_margins"] == 0
