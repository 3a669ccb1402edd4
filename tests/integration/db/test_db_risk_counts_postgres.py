"""The count and exposure limits under concurrency on PostgreSQL: placements racing for the
last places (or the last room) under a limit never take more than the limit allows.

The services come from ``bootstrap`` over a migrated PostgreSQL database, with the in-memory
broker; each placement is its own transaction on its own connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import pytest_asyncio

from order_service.adapters.broker.fake import FakeBroker
from order_service.adapters.db.crypto import SecretCipher
from order_service.adapters.db.engine import create_engine
from order_service.adapters.db.migrate import upgrade_async
from order_service.adapters.db.unit_of_work import sql_uow_factory
from order_service.bootstrap import Services, bootstrap
from order_service.config import Settings
from order_service.domain.account import Principal, Role
from order_service.domain.ids import ClientOrderId
from order_service.domain.risk import RiskLimits, RiskScope
from order_service.errors import RiskCheckFailed
from tests.factories import ACCOUNT, LIMIT_PRICE, make_limit_request
from tests.integration.db.conftest import SECRET_KEY
from tests.unit.conftest import add_trader
from tests.unit.fakes import FakeClock

pytestmark = pytest.mark.asyncio
RACERS = 12


@pytest.fixture
def broker() -> FakeBroker:
    return FakeBroker(FakeClock())


@pytest_asyncio.fixture
async def services(
    settings: Settings, postgres_url: str, broker: FakeBroker
) -> AsyncIterator[Services]:
    await upgrade_async(postgres_url)
    engine = create_engine(postgres_url)
    factory = sql_uow_factory(engine, SecretCipher(SECRET_KEY))
    clock = FakeClock()
    yield bootstrap(settings, uow_factory=factory, broker=broker, clock=clock)
    await factory.close()
    await engine.dispose()


async def limited(services: Services, **limits: int) -> Principal:
    trader, _ = await add_trader(services, "trader", ACCOUNT)
    admin = await services.users.create_user("admin", frozenset({Role.ADMIN}))
    await services.risk_limits.set_limits(
        admin, RiskScope.ACCOUNT, ACCOUNT, RiskLimits.create(**limits)
    )
    return trader


async def race(services: Services, trader: Principal) -> tuple[int, list[str]]:
    placements = [
        services.orders.place_order(trader, make_limit_request(quantity=q), None)
        for q in range(1, RACERS + 1)
    ]
    outcomes = await asyncio.gather(*placements, return_exceptions=True)
    refused = [o.rule for o in outcomes if isinstance(o, RiskCheckFailed)]
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    assert all(isinstance(o, RiskCheckFailed) for o in failures), failures
    return len(outcomes) - len(refused), refused


@pytest.mark.parametrize("limit", ["max_open_orders", "max_orders_per_day"])
async def test_racing_placements_never_exceed_a_count_limit(
    services: Services, broker: FakeBroker, limit: str
) -> None:
    trader = await limited(services, **{limit: 3})

    placed, refused = await race(services, trader)

    assert placed == 3
    assert refused == [limit] * (RACERS - 3)
    assert broker.calls["place_order"] == 3


async def test_racing_placements_never_exceed_the_gross_exposure_limit(
    services: Services, broker: FakeBroker
) -> None:
    trader, _ = await add_trader(services, "trader", ACCOUNT)
    admin = await services.users.create_user("admin", frozenset({Role.ADMIN}))
    room_for_three = LIMIT_PRICE * 3 + LIMIT_PRICE / 2
    limits = RiskLimits.create(max_gross_exposure=room_for_three)
    await services.risk_limits.set_limits(admin, RiskScope.ACCOUNT, ACCOUNT, limits)
    placements = [  # each keyed, so the duplicate guard leaves the identical orders alone
        services.orders.place_order(trader, make_limit_request(quantity=1), ClientOrderId(f"k{i}"))
        for i in range(RACERS)
    ]

    outcomes = await asyncio.gather(*placements, return_exceptions=True)

    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert all(isinstance(o, RiskCheckFailed) for o in refused), refused
    assert {o.rule for o in refused if isinstance(o, RiskCheckFailed)} == {"max_gross_exposure"}
    assert len(outcomes) - len(refused) == 3
    assert broker.calls["place_order"] == 3


@asynccontextmanager
async def guarded(
    settings: Settings, url: str, broker: FakeBroker, clock: FakeClock
) -> AsyncIterator[Services]:
    """A process's services over the database, with the duplicate guard on (2 s)."""
    engine = create_engine(url)
    factory = sql_uow_factory(engine, SecretCipher(SECRET_KEY))
    on = settings.model_copy(update={"risk_duplicate_window_seconds": 2.0})
    try:
        yield bootstrap(on, uow_factory=factory, broker=broker, clock=clock)
    finally:
        await factory.close()
        await engine.dispose()


async def test_the_duplicate_guard_holds_across_processes_and_races(
    settings: Settings, postgres_url: str, broker: FakeBroker
) -> None:
    await upgrade_async(postgres_url)
    clock = FakeClock()
    async with (
        guarded(settings, postgres_url, broker, clock) as one,
        guarded(settings, postgres_url, broker, clock) as other,
    ):
        trader, _ = await add_trader(one, "trader", ACCOUNT)
        racing = [
            process.orders.place_order(trader, make_limit_request(), None)
            for process in (one, other) * (RACERS // 2)
        ]
        outcomes = await asyncio.gather(*racing, return_exceptions=True)
        clock.advance(1)
        later = await asyncio.gather(
            other.orders.place_order(trader, make_limit_request(), None), return_exceptions=True
        )

    refused = [o for o in [*outcomes, *later] if isinstance(o, BaseException)]
    assert all(isinstance(o, RiskCheckFailed) and o.rule == "duplicate" for o in refused)
    assert len(refused) == RACERS  # one placed of the race; the later one refused too
    assert broker.calls["place_order"] == 1
