"""Two processes on one database: a halt engaged in one stops the other's orders within 1 s."""

from __future__ import annotations

import pytest

from order_service.adapters.broker.fake import FakeBroker
from order_service.bootstrap import Services, bootstrap
from order_service.config import Settings
from order_service.domain.halt import HaltKind, HaltScope
from order_service.errors import TradingHalted
from order_service.services.kill_switch import REFRESH_SECONDS
from tests.factories import ACCOUNT, make_limit_request
from tests.integration.db.conftest import UowFactory
from tests.unit.conftest import add_trader
from tests.unit.fakes import FakeClock

pytestmark = pytest.mark.asyncio


def process(settings: Settings, uow_factory: UowFactory, clock: FakeClock) -> Services:
    return bootstrap(settings, uow_factory=uow_factory, broker=FakeBroker(clock), clock=clock)


async def test_a_halt_engaged_in_one_process_stops_the_other_within_a_second(
    settings: Settings, uow_factory: UowFactory
) -> None:
    clock = FakeClock()
    first, second = process(settings, uow_factory, clock), process(settings, uow_factory, clock)
    trader, _ = await add_trader(first, "trader", ACCOUNT)
    await second.orders.place_order(trader, make_limit_request(), None)  # its view is read
    await first.kill_switch.engage(trader, HaltScope(HaltKind.ACCOUNT, ACCOUNT))
    with pytest.raises(TradingHalted):
        await first.orders.place_order(trader, make_limit_request(), None)
    clock.advance(REFRESH_SECONDS)
    assert REFRESH_SECONDS < 1
    with pytest.raises(TradingHalted):
        await second.orders.place_order(trader, make_limit_request(), None)
    await first.kill_switch.release(trader, HaltScope(HaltKind.ACCOUNT, ACCOUNT))
    clock.advance(REFRESH_SECONDS)
    placed = await second.orders.place_order(trader, make_limit_request(), None)
    assert placed.created
