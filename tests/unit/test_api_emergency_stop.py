"""The emergency stop: every working order cancelled at the broker, every scope MANUAL."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from order_service.bootstrap import bootstrap
from order_service.config import Settings
from order_service.domain.account_events import EMERGENCY_STOP_COMPLETED, EMERGENCY_STOP_STARTED
from order_service.domain.control import ControlMode
from order_service.domain.ids import BrokerOrderId, StrategyId
from order_service.domain.status import OrderStatus
from order_service.entrypoints.workers.handoffs import HandoffWorker
from order_service.errors import BrokerOutcomeUnknown, OrderRejected, OwnershipConflict
from order_service.services.emergency_stops import INTERRUPTED_AFTER
from order_service.services.handoffs import FINISHER
from tests.factories import make_limit_request
from tests.unit.answers import LIMIT, body, refused
from tests.unit.conftest import ACCOUNT, OTHER_ACCOUNT, World
from tests.unit.fakes import FakeUnitOfWork
from tests.unit.test_api_control_modes import conflict, script_client, set_account_mode

pytestmark = pytest.mark.asyncio
STOP = f"/api/v1/accounts/{ACCOUNT}/emergency-stop"


def stops() -> float:
    return REGISTRY.get_sample_value("order_service_emergency_stops_total") or 0.0


async def momentum(world: World) -> StrategyId:
    created = await world.services.strategies.create_strategy(world.trader, ACCOUNT, "momentum")
    return created.strategy_id


async def test_a_stop_cancels_every_working_order_and_hands_every_scope_to_people(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    strategy_id = await momentum(world)
    async with await script_client(trader_api, world, strategy_id) as script_api:
        scripted = body(await script_api.post("/api/v1/orders", json=LIMIT), 201)
        manual = body(await trader_api.post("/api/v1/orders", json=LIMIT), 201)
        before = stops()

        stopped = body(await trader_api.post(STOP))
        after = await script_api.post("/api/v1/orders", json=LIMIT)

    outcomes = {o["order_id"]: (o["status"], o["cancelled"]) for o in stopped["orders"]}
    assert outcomes == {
        scripted["order_id"]: ("CANCELLED", True),
        manual["order_id"]: ("CANCELLED", True),
    }
    assert world.broker.calls["cancel_order"] == 2
    assert stopped["control_mode"] == "manual"
    assert world.store.accounts[ACCOUNT].control_mode is ControlMode.MANUAL
    assert world.store.strategies[strategy_id].control_mode is ControlMode.MANUAL
    conflict(after, "manual", "script")  # its algorithm is stopped until handed back
    assert stops() == before + 1


async def test_a_stop_completes_when_a_cancel_fails_and_says_which(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    first = body(await trader_api.post("/api/v1/orders", json=LIMIT), 201)
    second = body(await trader_api.post("/api/v1/orders", json=LIMIT), 201)
    world.broker.fail_next("cancel_order", OrderRejected("Order cannot be cancelled"))

    stopped = body(await trader_api.post(STOP))

    outcomes = {o["order_id"]: (o["cancelled"], o["error_code"]) for o in stopped["orders"]}
    assert outcomes == {
        first["order_id"]: (False, "ORDER_REJECTED"),
        second["order_id"]: (True, None),
    }
    assert world.store.orders[second["order_id"]].status is OrderStatus.CANCELLED
    assert world.store.accounts[ACCOUNT].control_mode is ControlMode.MANUAL


@pytest.mark.parametrize("start", [ControlMode.SCRIPT, ControlMode.TRANSITIONING])
async def test_a_stop_is_allowed_from_any_mode(
    world: World, trader_api: httpx.AsyncClient, start: ControlMode
) -> None:
    set_account_mode(world, start)

    stopped = body(await trader_api.post(STOP))

    assert (stopped["orders"], stopped["control_mode"]) == ([], "manual")
    assert world.store.accounts[ACCOUNT].control_mode is ControlMode.MANUAL


async def test_another_users_account_cannot_be_stopped_nor_seen(
    world: World, trader_api: httpx.AsyncClient, outsider: object
) -> None:
    theirs = await trader_api.post(f"/api/v1/accounts/{OTHER_ACCOUNT}/emergency-stop")
    missing = await trader_api.post("/api/v1/accounts/NOSUCH/emergency-stop")

    assert refused(theirs, 404, "NOT_FOUND")["message"] == refused(missing, 404, "NOT_FOUND")[
        "message"
    ].replace("NOSUCH", OTHER_ACCOUNT)
    assert world.store.accounts[OTHER_ACCOUNT].control_mode is ControlMode.MANUAL


async def test_a_scripts_key_cannot_stop_its_account(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    strategy_id = await momentum(world)
    placed = body(await trader_api.post("/api/v1/orders", json=LIMIT), 201)
    async with await script_client(trader_api, world, strategy_id) as script_api:
        stopped = await script_api.post(STOP)

    refused(stopped, 403, "FORBIDDEN")
    assert world.store.orders[placed["order_id"]].status.is_working
    assert world.broker.calls["cancel_order"] == 0


async def test_a_stop_needs_credentials(anonymous_api: httpx.AsyncClient) -> None:
    refused(await anonymous_api.post(STOP), 401, "UNAUTHENTICATED")


@pytest.fixture
def pauses(world: World, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The stop's pauses between reads of the book, recorded instead of slept."""
    recorded: list[float] = []

    async def pause(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(world.services.emergency_stops, "_pause", pause)
    return recorded


async def test_an_order_whose_answer_was_lost_is_found_in_the_book_and_cancelled(
    world: World, trader_api: httpx.AsyncClient, pauses: list[float]
) -> None:
    world.broker.fail_next("place_order", BrokerOutcomeUnknown(), after_accept=True)
    lost = body(await trader_api.post("/api/v1/orders", json=LIMIT), 202)
    assert lost["status"] == "UNKNOWN"  # live at the broker, and we do not know it yet

    stopped = body(await trader_api.post(STOP))

    outcomes = {o["order_id"]: (o["status"], o["cancelled"]) for o in stopped["orders"]}
    assert outcomes == {lost["order_id"]: ("CANCELLED", True)}
    assert world.broker.calls["cancel_order"] == 1
    assert [r.raw_status for r in world.broker.book.values()] == ["CANCELLED"]
    assert pauses == []  # the first read of the book settled it
    assert stopped["control_mode"] == "manual"


async def test_an_order_still_without_an_outcome_is_reported_and_the_stop_completes(
    world: World, trader_api: httpx.AsyncClient, pauses: list[float]
) -> None:
    world.broker.fail_next("place_order", BrokerOutcomeUnknown())  # never reached the broker
    lost = body(await trader_api.post("/api/v1/orders", json=LIMIT), 202)
    reads = world.services.emergency_stops._confirmation.reads
    read_before = world.broker.calls["orders"]

    stopped = body(await trader_api.post(STOP))

    (outcome,) = stopped["orders"]
    assert (outcome["order_id"], outcome["cancelled"]) == (lost["order_id"], False)
    assert outcome["error_code"] == "BROKER_OUTCOME_UNKNOWN"
    # The book read each round: within its grace, absent is not yet proof of never placed.
    assert world.broker.calls["orders"] - read_before == reads
    assert len(pauses) == reads - 1
    assert world.broker.calls["cancel_order"] == 0
    assert world.store.accounts[ACCOUNT].control_mode is ControlMode.MANUAL


async def test_a_stop_its_process_left_half_done_is_finished_by_the_finisher(
    world: World,
    trader_api: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
) -> None:
    working = body(await trader_api.post("/api/v1/orders", json=LIMIT), 201)
    stops_service = world.services.emergency_stops

    async def dies(*_args: object) -> None:
        raise RuntimeError("the process died")

    with monkeypatch.context() as patched:
        patched.setattr(stops_service, "_finish", dies)
        with pytest.raises(RuntimeError):
            await stops_service.stop(world.trader, ACCOUNT)
    assert world.store.accounts[ACCOUNT].control_mode is ControlMode.TRANSITIONING

    await HandoffWorker(world.services).run_once()  # its process lives: maybe only slow
    assert world.store.accounts[ACCOUNT].control_mode is ControlMode.TRANSITIONING
    restarted = bootstrap(  # the next process, on the same store: the stop's one has ended
        settings, uow_factory=lambda: FakeUnitOfWork(world.store), broker=world.broker,
        clock=world.clock,
    )  # fmt: skip
    await HandoffWorker(restarted).run_once()

    assert world.store.accounts[ACCOUNT].control_mode is ControlMode.MANUAL
    assert world.store.orders[working["order_id"]].status is OrderStatus.CANCELLED
    names = [e.name for e in world.store.account_events if e.name.startswith("EmergencyStop")]
    assert names == [EMERGENCY_STOP_STARTED, EMERGENCY_STOP_COMPLETED]
    (completed,) = [e for e in world.store.account_events if e.name == EMERGENCY_STOP_COMPLETED]
    assert completed.data == {"by": FINISHER.user_id, "orders": 1, "failed": 0}
    assert not await restarted.emergency_stops.finish_interrupted(ACCOUNT)  # finished once


async def test_a_finished_stop_and_a_handoff_under_way_are_left_alone(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    body(await trader_api.post(STOP))
    world.clock.advance(INTERRUPTED_AFTER.total_seconds())
    assert not await world.services.emergency_stops.finish_interrupted(ACCOUNT)

    set_account_mode(world, ControlMode.TRANSITIONING)  # as an account handoff leaves it
    assert not await world.services.emergency_stops.finish_interrupted(ACCOUNT)
    assert world.store.accounts[ACCOUNT].control_mode is ControlMode.TRANSITIONING


async def test_an_order_still_being_placed_is_cancelled_by_the_row_under_its_tag(
    world: World, trader_api: httpx.AsyncClient, pauses: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    send = world.broker.place_order
    answer = asyncio.Event()
    placed_at_broker = asyncio.Event()

    async def slow_answer(*args: Any) -> BrokerOrderId:
        broker_order_id = await send(*args)
        placed_at_broker.set()
        await answer.wait()  # the broker holds it; our placer has not heard back yet
        return broker_order_id

    monkeypatch.setattr(world.broker, "place_order", slow_answer)
    placing = asyncio.create_task(trader_api.post("/api/v1/orders", json=LIMIT))
    await placed_at_broker.wait()

    stopped = body(await trader_api.post(STOP))
    answer.set()
    placed = body(await placing, 201)

    (outcome,) = stopped["orders"]
    assert (outcome["order_id"], outcome["cancelled"]) == (placed["order_id"], True)
    assert [r.raw_status for r in world.broker.book.values()] == ["CANCELLED"]
    assert world.broker.calls["cancel_order"] == 1
    assert pauses == []


async def test_a_placement_past_its_first_mode_check_when_a_stop_begins_is_refused(
    world: World, trader_api: httpx.AsyncClient, pauses: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    resting = body(await trader_api.post("/api/v1/orders", json=LIMIT), 201)
    quotes, cancel = world.broker.quotes, world.broker.cancel_order
    quoting, begun = asyncio.Event(), asyncio.Event()

    async def slow_quotes(*args: Any) -> Any:  # the placement: its mode checked, not yet stored
        quoting.set()
        await begun.wait()
        return await quotes(*args)

    async def cancel_meanwhile(*args: Any) -> None:  # the stop: begun, cancelling
        begun.set()
        with contextlib.suppress(OwnershipConflict):
            await placing  # the placement goes on to store its order now, or never
        await cancel(*args)

    monkeypatch.setattr(world.broker, "quotes", slow_quotes)
    monkeypatch.setattr(world.broker, "cancel_order", cancel_meanwhile)
    placing = asyncio.ensure_future(
        # Another instrument than the resting order's: its quote is not cached yet.
        world.services.orders.place_order(
            world.trader, make_limit_request(tradingsymbol="TCS"), None
        )
    )
    await asyncio.wait_for(quoting.wait(), 5)

    stopped = body(await trader_api.post(STOP))

    with pytest.raises(OwnershipConflict):
        await placing
    assert [o["order_id"] for o in stopped["orders"]] == [resting["order_id"]]
    assert [r.raw_status for r in world.broker.book.values()] == ["CANCELLED"]
    assert world.broker.calls["place_order"] == 1
