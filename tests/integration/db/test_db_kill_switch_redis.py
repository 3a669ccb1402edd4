"""Two processes on one database and one Redis: a halt engaged in one stops the other's orders
at once (the Redis counter moved), without waiting for its view's refresh; with Redis down the
refresh alone still keeps the one-second bound."""

from __future__ import annotations

import pytest

from order_service.adapters.broker.fake import FakeBroker
from order_service.bootstrap import Services, bootstrap
from order_service.config import Settings
from order_service.domain.halt import HaltKind, HaltScope
from order_service.errors import TradingHalted
from order_service.services.kill_switch import REFRESH_SECONDS
from tests.conftest import REDIS_URL
from tests.factories import ACCOUNT, make_limit_request
from tests.integration.db.conftest import UowFactory
from tests.unit.conftest import add_trader
from tests.unit.fakes import FakeClock

pytestmark = pytest.mark.asyncio
SCOPE = HaltScope(HaltKind.ACCOUNT, ACCOUNT)
UNREACHABLE = "redis://127.0.0.1:1/0"  # nothing listens on port 1: refused at once


def process(settings: Settings, uow_factory: UowFactory, clock: FakeClock) -> Services:
    return bootstrap(settings, uow_factory=uow_factory, broker=FakeBroker(clock), clock=clock)


async def test_with_redis_a_halt_reaches_the_other_process_before_its_refresh(
    settings: Settings, uow_factory: UowFactory
) -> None:
    if REDIS_URL is None:
        pytest.skip("ORDER_SERVICE_TEST_REDIS_URL is not set")
    clock = FakeClock()  # stopped: no view gets old, only the Redis counter can tell
    with_redis = settings.model_copy(update={"redis_url": REDIS_URL})
    first, second = process(with_redis, uow_factory, clock), process(with_redis, uow_factory, clock)
    try:
        trader, _ = await add_trader(first, "trader", ACCOUNT)
        await second.orders.place_order(trader, make_limit_request(), None)  # its view is read
        await first.kill_switch.engage(trader, SCOPE)
        with pytest.raises(TradingHalted):
            await second.orders.place_order(trader, make_limit_request(), None)
        await first.kill_switch.release(trader, SCOPE)
        assert (await second.orders.place_order(trader, make_limit_request(), None)).created
    finally:
        await first.close()
        await second.close()


async def test_with_redis_unreachable_the_database_refresh_still_stops_the_other_process(
    settings: Settings, uow_factory: UowFactory
) -> None:
    clock = FakeClock()
    down = settings.model_copy(update={"redis_url": UNREACHABLE})
    first, second = process(down, uow_factory, clock), process(down, uow_factory, clock)
    try:
        trader, _ = await add_trader(first, "trader", ACCOUNT)
        await second.orders.place_order(trader, make_limit_request(), None)
        await first.kill_switch.engage(trader, SCOPE)  # the counter cannot be bumped
        assert (await second.orders.place_order(trader, make_limit_request(), None)).created
        clock.advance(REFRESH_SECONDS)
        with pytest.raises(TradingHalted):
            await second.orders.place_order(trader, make_limit_request(), None)
    finally:
        await first.close()
        await second.close()
