"""The instrument master: read from the broker once a day, stored, followed, and checked on
every placement before anything is stored or sent."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest
import structlog
from prometheus_client import REGISTRY

from order_service.adapters.freeze_file import load_freeze_limits
from order_service.domain.ids import BrokerOrderId
from order_service.domain.instrument import Instrument
from order_service.domain.reports import FillReport, TradeId
from order_service.domain.values import TransactionType
from order_service.entrypoints.workers.instruments import InstrumentWorker
from order_service.entrypoints.workers.trade_sync import TradeSyncWorker
from order_service.errors import DataFormatError
from order_service.services.instruments import FOLLOW_SECONDS, InstrumentService
from tests.factories import ACCOUNT, make_limit_request
from tests.unit.conftest import World, log_in
from tests.unit.fakes import FakeUnitOfWork

pytestmark = pytest.mark.asyncio

INFY = Instrument("NSE", "INFY", 408065, "INFOSYS", "EQ", "NSE", Decimal("0.05"), 1)
NIFTY_FUT = Instrument(
    "NFO", "NIFTY26DECFUT", 13238786, "NIFTY", "FUT", "NFO-FUT", Decimal("0.10"), 75,
    expiry=date(2026, 12, 29),
)  # fmt: skip


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def service(world: World, ticks: Ticks | None = None) -> InstrumentService:
    return InstrumentService(
        lambda: FakeUnitOfWork(world.store),
        world.broker,
        world.clock,
        load_freeze_limits(),
        ticks or Ticks(),
    )


async def loaded(world: World) -> None:
    world.broker.instrument_list = [INFY, NIFTY_FUT]
    assert await world.services.instruments.refresh_if_due() == 2


async def test_the_broker_list_is_stored_with_the_shipped_freeze_limits(world: World) -> None:
    await loaded(world)

    master = world.services.instruments.master
    future = master.require("NFO", "NIFTY26DECFUT")
    assert (future.lot_size, future.tick_size, future.freeze_quantity) == (
        75,
        Decimal("0.10"),
        1800,
    )
    assert master.require("NSE", "INFY").freeze_quantity is None  # no limit for a stock
    stored = await FakeUnitOfWork(world.store).instruments.load()
    assert stored is not None
    assert sorted(i.key for i in stored) == [("NFO", "NIFTY26DECFUT"), ("NSE", "INFY")]
    assert stored.loaded_at == world.clock.now()


async def test_an_order_the_master_does_not_hold_is_refused_before_anything_is_sent(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    await loaded(world)
    sent, stored = world.broker.calls["place_order"], len(world.store.orders)
    body = {
        "account_id": "PAPER1", "exchange": "NSE", "tradingsymbol": "NOSUCHCO",
        "transaction_type": "BUY", "quantity": 1, "product": "CNC", "order_type": "MARKET",
    }  # fmt: skip

    answer = await trader_api.post("/api/v1/orders", json=body)

    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "INVALID_SYMBOL"
    assert error["details"] == {"exchange": "NSE", "tradingsymbol": "NOSUCHCO"}
    assert (world.broker.calls["place_order"], len(world.store.orders)) == (sent, stored)
    known = await trader_api.post("/api/v1/orders", json={**body, "tradingsymbol": "INFY"})
    assert known.status_code == 201, known.text


async def test_before_any_master_was_loaded_the_broker_decides(world: World) -> None:
    assert not world.services.instruments.master.is_loaded
    placed = await world.services.orders.place_order(world.trader, make_limit_request(), None)
    assert placed.order.broker_order_id is not None


async def test_a_master_is_due_again_at_the_next_mornings_refresh_time(world: World) -> None:
    await loaded(world)  # 09:30 IST on the fake clock's day
    world.broker.instrument_list = [INFY]
    instruments = world.services.instruments

    world.clock.advance(timedelta(hours=23).total_seconds())  # 08:30 IST the next day
    assert not instruments.is_due()
    assert await instruments.refresh_if_due() is None
    world.clock.advance(timedelta(minutes=15).total_seconds())  # 08:45 IST
    assert instruments.is_due()
    assert await instruments.refresh_if_due() is None  # yesterday's session ended at 06:00

    await log_in(world.services, world.trader, ACCOUNT)  # the day's login reads the list

    assert not instruments.is_due()
    assert instruments.master.get("NFO", "NIFTY26DECFUT") is None
    assert instruments.master.require("NSE", "INFY") == INFY


async def test_an_empty_list_keeps_the_master_in_force(world: World) -> None:
    await loaded(world)
    world.clock.advance(timedelta(days=1).total_seconds())
    world.broker.instrument_list = []
    await log_in(world.services, world.trader, ACCOUNT)  # reads the list: empty, logged

    with pytest.raises(DataFormatError):
        await world.services.instruments.refresh_if_due()
    await InstrumentWorker(world.services).run_once()  # the worker logs it: no crash

    assert len(world.services.instruments.master) == 2
    assert world.services.instruments.is_due()  # asked again by the next pass


async def test_a_list_under_half_the_master_in_force_is_taken_for_a_broken_reply(
    world: World,
) -> None:
    world.broker.instrument_list = [
        INFY,
        NIFTY_FUT,
        *(replace(INFY, tradingsymbol=f"S{n}") for n in range(4)),
    ]
    assert await world.services.instruments.refresh_if_due() == 6
    world.clock.advance(timedelta(days=1).total_seconds())
    world.broker.instrument_list = [INFY, NIFTY_FUT]
    await log_in(world.services, world.trader, ACCOUNT)  # its read is refused: the master stays

    with pytest.raises(DataFormatError, match="under half"):
        await world.services.instruments.refresh_if_due()
    assert len(world.services.instruments.master) == 6


async def test_every_process_follows_a_newer_stored_master_within_a_minute(world: World) -> None:
    ticks = Ticks()
    follower = service(world, ticks)
    await follower.follow()
    assert not follower.master.is_loaded

    await loaded(world)  # another process stores a master
    ticks.now = FOLLOW_SECONDS - 1
    await follower.follow()
    assert not follower.master.is_loaded  # asked less than a minute ago
    ticks.now = FOLLOW_SECONDS
    await follower.follow()
    assert len(follower.master) == 2


async def test_without_a_live_session_nothing_is_read(world: World) -> None:
    world.broker.instrument_list = [INFY]
    world.clock.advance(timedelta(days=1).total_seconds())  # the session expired at 06:00
    reads = world.broker.calls["instruments"]

    assert await world.services.instruments.refresh_if_due() is None
    assert world.broker.calls["instruments"] == reads


def trade(
    broker_order_id: BrokerOrderId, trade_id: str, symbol: str, quantity: int, price: str
) -> FillReport:
    exchange = "NFO" if symbol.startswith("NIFTY") else "NSE"
    return FillReport(
        TradeId(trade_id), broker_order_id, exchange, symbol, "NRML", TransactionType.BUY,
        quantity, Decimal(price),
    )  # fmt: skip


def refused() -> float:
    labels = {"kind": "fill_refused"}
    return REGISTRY.get_sample_value("order_service_reconciliation_drift_total", labels) or 0.0


async def test_a_fill_the_master_says_cannot_be_never_enters_the_ledger(world: World) -> None:
    await loaded(world)
    order = (
        await world.services.orders.place_order(world.trader, make_limit_request(), None)
    ).order
    assert order.broker_order_id is not None
    ours = order.broker_order_id
    world.broker.trade_book += [
        trade(ours, "T-OFF-TICK", "INFY", 10, "100.03"),
        trade(ours, "T-UNKNOWN", "TCS", 10, "100.00"),
        trade(ours, "T-PART-LOT", "NIFTY26DECFUT", 10, "26150.10"),
        trade(ours, "T-GOOD", "INFY", 10, "100.05"),
    ]
    before = refused()

    with structlog.testing.capture_logs() as logs:
        await TradeSyncWorker(world.services).run_once()
        await TradeSyncWorker(world.services).run_once()  # the same refusals, counted once

    assert [f.trade_id for f in world.store.fills] == ["T-GOOD"]
    assert refused() == before + 3
    reasons = {e["trade_id"]: e["reason"] for e in logs if e["event"].startswith("fill refused")}
    assert set(reasons) == {"T-OFF-TICK", "T-UNKNOWN", "T-PART-LOT"}
    assert "tick" in reasons["T-OFF-TICK"]
    assert "instrument master" in reasons["T-UNKNOWN"]
    assert "lots of 75" in reasons["T-PART-LOT"]
