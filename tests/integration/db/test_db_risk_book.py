"""The book limits over a real database: a placement held to them reads the books inside its
own transaction (on SQLite's one connection too) and is refused once the exposure is over."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio

from order_service.adapters.broker.fake import FakeBroker
from order_service.adapters.db.crypto import SecretCipher
from order_service.adapters.db.engine import create_engine
from order_service.adapters.db.migrate import upgrade_async
from order_service.adapters.db.unit_of_work import sql_uow_factory
from order_service.bootstrap import Services, bootstrap
from order_service.config import Settings
from order_service.domain.account import Role
from order_service.domain.risk import RiskLimits, RiskScope
from order_service.errors import RiskCheckFailed
from tests.factories import ACCOUNT, make_limit_request
from tests.integration.db.conftest import SECRET_KEY
from tests.unit.conftest import add_trader
from tests.unit.fakes import FakeClock

pytestmark = pytest.mark.asyncio


@pytest.fixture
def broker() -> FakeBroker:
    return FakeBroker(FakeClock())


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/book.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest_asyncio.fixture
async def services(
    database_url: str, settings: Settings, broker: FakeBroker
) -> AsyncIterator[Services]:
    url = database_url
    await upgrade_async(url)
    engine = create_engine(url)
    factory = sql_uow_factory(engine, SecretCipher(SECRET_KEY))
    yield bootstrap(settings, uow_factory=factory, broker=broker, clock=FakeClock())
    await factory.close()
    await engine.dispose()


async def test_a_placement_held_to_the_book_limits_is_answered_and_refused_when_over(
    services: Services, broker: FakeBroker
) -> None:
    trader, _ = await add_trader(services, "trader", ACCOUNT)
    admin = await services.users.create_user("admin", frozenset({Role.ADMIN}))
    limits = RiskLimits.create(max_gross_exposure=Decimal(20000), max_daily_loss=Decimal(5000))
    await services.risk_limits.set_limits(admin, RiskScope.ACCOUNT, ACCOUNT, limits)
    order = make_limit_request(quantity=10)  # 10 x 1520.50 = 15,205, resting

    await asyncio.wait_for(services.orders.place_order(trader, order, None), 10)
    with pytest.raises(RiskCheckFailed) as refused:
        await asyncio.wait_for(services.orders.place_order(trader, order, None), 10)

    assert refused.value.details["rule"] == "max_gross_exposure"
    assert refused.value.details["value"] == "30410.00"  # the working 15,205 and this one
    assert broker.calls["place_order"] == 1
