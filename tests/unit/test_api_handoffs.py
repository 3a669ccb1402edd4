"""Handoffs through the API: the scope TRANSITIONING at once, its working orders cancelled at
the broker by the finisher, then handed over, or given back its mode with the reason."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from order_service.domain.account import Principal
from order_service.domain.control import ControlMode, ControlTrigger
from order_service.domain.handoff import Handoff, HandoffId, HandoffStatus
from order_service.domain.ids import BrokerOrderId, OrderId, StrategyId, UserId
from order_service.domain.status import OrderStatus
from order_service.entrypoints.api.app import create_app
from order_service.entrypoints.workers.handoffs import HandoffWorker
from order_service.errors import BrokerUnavailable, OrderRejected
from tests.unit.answers import LIMIT, body, refused
from tests.unit.conftest import ACCOUNT, OTHER_ACCOUNT, World, api_client
from tests.unit.test_api_control_modes import conflict, script_client, set_account_mode

pytestmark = pytest.mark.asyncio
HANDOFFS = "/api/v1/handoffs"
TIMEOUT = 300.0  # the default handoff_timeout_seconds (DESIGN.md section 7: 5 min)


async def momentum(world: World) -> StrategyId:
    created = await world.services.strategies.create_strategy(world.trader, ACCOUNT, "momentum")
    return created.strategy_id


def ask(trigger: str, strategy_id: str | None = None, **more: Any) -> dict[str, Any]:
    asked: dict[str, Any] = {"account_id": ACCOUNT, "trigger": trigger, **more}
    if strategy_id is not None:
        asked["strategy_id"] = strategy_id
    return asked


async def finish(world: World) -> None:
    """One pass of the finisher, as the supervisor runs it."""
    await HandoffWorker(world.services).run_once()


async def shown(api: httpx.AsyncClient, handoff_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = body(await api.get(f"{HANDOFFS}/{handoff_id}"))
    return answer


def events(world: World) -> list[str]:
    return [e.name for e in world.store.account_events if e.data.get("handoff_id")]


def broker_status(world: World, order: dict[str, Any]) -> str | None:
    stored = world.store.orders[OrderId(order["order_id"])]
    assert stored.broker_order_id is not None
    return world.broker.book[stored.broker_order_id].raw_status


async def test_a_strategy_handed_to_people_has_its_orders_cancelled_at_the_broker_first(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    strategy_id = await momentum(world)
    async with await script_client(trader_api, world, strategy_id) as script_api:
        scripted = body(await script_api.post("/api/v1/orders", json=LIMIT), 201)

        accepted = body(await trader_api.post(HANDOFFS, json=ask("to_manual", strategy_id)), 202)
        meanwhile = await script_api.post("/api/v1/orders", json=LIMIT)
        assert world.store.strategies[strategy_id].control_mode is ControlMode.TRANSITIONING
        await finish(world)
        after = await script_api.post("/api/v1/orders", json=LIMIT)

    assert (accepted["status"], accepted["from_mode"], accepted["target_mode"]) == (
        "PENDING", "script", "manual",
    )  # fmt: skip
    conflict(meanwhile, "transitioning", "script")
    done = await shown(trader_api, accepted["handoff_id"])
    assert done["status"] == "COMPLETED"
    assert broker_status(world, scripted) == "CANCELLED"
    assert world.store.orders[OrderId(scripted["order_id"])].status is OrderStatus.CANCELLED
    assert world.store.strategies[strategy_id].control_mode is ControlMode.MANUAL
    conflict(after, "manual", "script")
    assert [s["name"] for s in done["steps"]] == [
        "HandoffRequested", "OrderCancelRequested", "HandoffCompleted",
    ]  # fmt: skip
    assert events(world) == ["HandoffRequested", "OrderCancelRequested", "HandoffCompleted"]


async def test_an_account_handed_to_its_algorithm_cancels_the_manual_orders_at_the_broker(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    manual = body(await trader_api.post("/api/v1/orders", json=LIMIT), 201)

    accepted = body(await trader_api.post(HANDOFFS, json=ask("to_script")), 202)
    placed = await trader_api.post("/api/v1/orders", json=LIMIT)
    await finish(world)

    conflict(placed, "transitioning", "manual")
    assert (await shown(trader_api, accepted["handoff_id"]))["status"] == "COMPLETED"
    assert broker_status(world, manual) == "CANCELLED"
    assert world.store.accounts[ACCOUNT].control_mode is ControlMode.SCRIPT
    assert world.broker.calls["cancel_order"] == 1


async def test_an_account_handed_back_to_people_stops_every_algorithm(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    strategy_id = await momentum(world)
    set_account_mode(world, ControlMode.SCRIPT)

    body(await trader_api.post(HANDOFFS, json=ask("to_manual")), 202)
    await finish(world)

    assert world.store.accounts[ACCOUNT].control_mode is ControlMode.MANUAL
    assert world.store.strategies[strategy_id].control_mode is ControlMode.MANUAL


async def test_a_fill_that_wins_the_race_is_kept_and_the_handoff_completes(
    world: World, trader_api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    manual = body(await trader_api.post("/api/v1/orders", json=LIMIT), 201)

    async def filled_first(
        session: object, variety: object, broker_order_id: BrokerOrderId
    ) -> None:
        world.broker.calls["cancel_order"] += 1
        world.broker.fill(broker_order_id)  # the exchange filled it as the cancel arrived

    monkeypatch.setattr(world.broker, "cancel_order", filled_first)
    accepted = body(await trader_api.post(HANDOFFS, json=ask("to_script")), 202)
    await finish(world)

    done = await shown(trader_api, accepted["handoff_id"])
    assert done["status"] == "COMPLETED"
    cancel = next(s for s in done["steps"] if s["name"] == "OrderCancelRequested")
    assert cancel["data"]["status"] == "COMPLETE"
    assert cancel["data"]["fill_kept"] is True
    assert world.store.orders[OrderId(manual["order_id"])].status is OrderStatus.COMPLETE
    assert world.store.accounts[ACCOUNT].control_mode is ControlMode.SCRIPT


async def test_a_refused_cancel_fails_the_handoff_and_gives_the_scope_its_mode_back(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    manual = body(await trader_api.post("/api/v1/orders", json=LIMIT), 201)
    world.broker.fail_next("cancel_order", OrderRejected("Order cannot be cancelled"))

    accepted = body(await trader_api.post(HANDOFFS, json=ask("to_script")), 202)
    await finish(world)

    done = await shown(trader_api, accepted["handoff_id"])
    assert done["status"] == "FAILED"
    assert manual["order_id"] in done["failure"]
    assert "ORDER_REJECTED" in done["failure"]
    assert broker_status(world, manual) == "OPEN"  # still live: the scope stays its people's
    assert world.store.accounts[ACCOUNT].control_mode is ControlMode.MANUAL
    assert events(world)[-1] == "HandoffFailed"
    body(await trader_api.post("/api/v1/orders", json=LIMIT), 201)  # people trade it again


async def test_an_order_never_confirmed_cancelled_fails_the_handoff_at_its_deadline(
    world: World, trader_api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    manual = body(await trader_api.post("/api/v1/orders", json=LIMIT), 201)

    async def ignored(_s: object, _v: object, _id: BrokerOrderId) -> None:
        world.broker.calls["cancel_order"] += 1  # accepted, never carried out

    monkeypatch.setattr(world.broker, "cancel_order", ignored)
    accepted = body(await trader_api.post(HANDOFFS, json=ask("to_script")), 202)
    await finish(world)
    waiting = await shown(trader_api, accepted["handoff_id"])
    world.clock.advance(TIMEOUT)
    await finish(world)

    assert waiting["status"] == "CANCELLING"
    done = await shown(trader_api, accepted["handoff_id"])
    assert (done["status"], "timed out" in done["failure"]) == ("FAILED", True)
    assert world.broker.calls["cancel_order"] == 1  # sent once, never resent
    assert world.store.orders[OrderId(manual["order_id"])].status.is_working
    assert world.store.accounts[ACCOUNT].control_mode is ControlMode.MANUAL


async def test_a_handoff_left_by_a_dead_process_is_finished_by_the_worker(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    manual = body(await trader_api.post("/api/v1/orders", json=LIMIT), 201)
    accepted = body(await trader_api.post(HANDOFFS, json=ask("to_script")), 202)
    # The process that cancelled the order died before it wrote that step down.
    await world.services.amendments.cancel_order(world.trader, OrderId(manual["order_id"]))

    await finish(world)

    done = await shown(trader_api, accepted["handoff_id"])
    assert done["status"] == "COMPLETED"
    assert world.broker.calls["cancel_order"] == 1
    assert world.store.accounts[ACCOUNT].control_mode is ControlMode.SCRIPT


async def test_a_stored_pending_handoff_and_its_transitioning_scope_are_settled(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    now = world.clock.now()
    left = Handoff(
        HandoffId("01JLEFTBEHIND0000000000000"), ACCOUNT, None,
        trigger=ControlTrigger.TO_SCRIPT,
        from_mode=ControlMode.MANUAL, target_mode=ControlMode.SCRIPT,
        status=HandoffStatus.PENDING, force=False, requested_by=UserId(world.trader.user_id),
        created_at=now, updated_at=now, deadline=now,
    )  # fmt: skip
    world.store.handoffs[left.handoff_id] = left
    set_account_mode(world, ControlMode.TRANSITIONING)

    await finish(world)

    assert world.store.handoffs[left.handoff_id].status is HandoffStatus.COMPLETED
    assert world.store.accounts[ACCOUNT].control_mode is ControlMode.SCRIPT


async def test_a_second_handoff_of_the_scope_is_refused_naming_the_one_in_progress(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    strategy_id = await momentum(world)
    first = body(await trader_api.post(HANDOFFS, json=ask("to_script")), 202)

    again = await trader_api.post(HANDOFFS, json=ask("to_script"))
    overlapping = await trader_api.post(HANDOFFS, json=ask("to_manual", strategy_id))

    for answer in (again, overlapping):
        error = refused(answer, 409, "OWNERSHIP_CONFLICT")
        assert first["handoff_id"] in error["message"]
        assert error["details"]["handoff_id"] == first["handoff_id"]


async def test_a_stale_handoff_is_forced_aside_only_after_its_deadline(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    first = body(await trader_api.post(HANDOFFS, json=ask("to_script")), 202)

    early = await trader_api.post(HANDOFFS, json=ask("to_script", force=True))
    world.clock.advance(TIMEOUT)
    late = await trader_api.post(HANDOFFS, json=ask("to_script", force=True))

    refused(early, 409, "OWNERSHIP_CONFLICT")
    second = body(late, 202)
    settled = await shown(trader_api, first["handoff_id"])
    assert settled["status"] == "FAILED"
    assert "forced aside" in settled["failure"]
    assert second["from_mode"] == "manual"  # the stale one gave the scope its mode back
    await finish(world)
    assert (await shown(trader_api, second["handoff_id"]))["status"] == "COMPLETED"
    assert world.store.accounts[ACCOUNT].control_mode is ControlMode.SCRIPT


async def test_fifty_concurrent_handoffs_of_one_scope_and_overlapping_ones_have_one_winner(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    strategy_id = await momentum(world)
    asks = [ask("to_script") for _ in range(25)] + [
        ask("to_manual", strategy_id) for _ in range(25)
    ]

    answers = await asyncio.gather(*(trader_api.post(HANDOFFS, json=a) for a in asks))

    codes = sorted(a.status_code for a in answers)
    assert codes == [202] + [409] * 49
    for answer in answers:
        if answer.status_code == 409:
            refused(answer, 409, "OWNERSHIP_CONFLICT")
    await finish(world)
    assert events(world).count("HandoffRequested") == 1
    assert events(world).count("HandoffCompleted") == 1
    assert world.store.accounts[ACCOUNT].control_mode is not ControlMode.TRANSITIONING
    assert world.store.strategies[strategy_id].control_mode is not ControlMode.TRANSITIONING


async def test_a_handoff_to_the_mode_a_scope_is_in_is_an_invalid_transition(
    trader_api: httpx.AsyncClient,
) -> None:
    refused(await trader_api.post(HANDOFFS, json=ask("to_manual")), 409, "INVALID_TRANSITION")


@pytest.mark.parametrize(
    "asked",
    [
        {"account_id": ACCOUNT, "trigger": "to_nowhere"},
        {"account_id": ACCOUNT, "trigger": "emergency_stop"},
        {"account_id": ACCOUNT},
        {"account_id": ACCOUNT, "trigger": "to_script", "force": "yes"},
        {"account_id": ACCOUNT, "trigger": "to_script", "extra": 1},
    ],
)
async def test_a_bad_body_is_invalid_input(
    world: World, trader_api: httpx.AsyncClient, asked: dict[str, Any]
) -> None:
    refused(await trader_api.post(HANDOFFS, json=asked), 422, "INVALID_INPUT")
    assert world.store.handoffs == {}


async def test_another_users_account_and_handoff_do_not_exist_for_the_caller(
    world: World, trader_api: httpx.AsyncClient, outsider: Principal
) -> None:
    theirs = {"account_id": OTHER_ACCOUNT, "trigger": "to_script"}
    mine = body(await trader_api.post(HANDOFFS, json=ask("to_script")), 202)
    outsider_api = await world.services.users.create_api_key(outsider.user_id)
    async with api_client(create_app(world.services), outsider_api) as theirs_api:
        peeked = await theirs_api.get(f"{HANDOFFS}/{mine['handoff_id']}")

    refused(peeked, 404, "NOT_FOUND")
    refused(await trader_api.post(HANDOFFS, json=theirs), 404, "NOT_FOUND")
    refused(await trader_api.get(f"{HANDOFFS}/NOSUCH"), 404, "NOT_FOUND")
    assert world.store.accounts[OTHER_ACCOUNT].control_mode is ControlMode.MANUAL
    assert mine["account_id"] == ACCOUNT


async def test_a_strategy_of_another_account_is_invalid_input(
    world: World, trader_api: httpx.AsyncClient, outsider: Any
) -> None:
    created = await world.services.strategies.create_strategy(outsider, OTHER_ACCOUNT, "theirs")

    answer = await trader_api.post(HANDOFFS, json=ask("to_manual", created.strategy_id))

    refused(answer, 422, "INVALID_INPUT")
    assert world.store.strategies[created.strategy_id].control_mode is None
    assert world.store.handoffs == {}


async def test_a_scripts_key_cannot_hand_off_any_scope(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    mine = await momentum(world)
    meanrev = await world.services.strategies.create_strategy(world.trader, ACCOUNT, "meanrev")
    other = meanrev.strategy_id
    async with await script_client(trader_api, world, mine) as script_api:
        for asked in (ask("to_manual", other), ask("to_script"), ask("to_manual", mine)):
            refused(await script_api.post(HANDOFFS, json=asked), 403, "FORBIDDEN")

    assert world.store.handoffs == {}


async def test_handoffs_need_credentials(anonymous_api: httpx.AsyncClient) -> None:
    refused(await anonymous_api.post(HANDOFFS, json=ask("to_script")), 401, "UNAUTHENTICATED")
    refused(await anonymous_api.get(f"{HANDOFFS}/X"), 401, "UNAUTHENTICATED")


async def test_a_cancel_that_cannot_be_sent_for_now_is_sent_again_on_the_next_pass(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    manual = body(await trader_api.post("/api/v1/orders", json=LIMIT), 201)
    world.broker.fail_next("cancel_order", BrokerUnavailable())

    accepted = body(await trader_api.post(HANDOFFS, json=ask("to_script")), 202)
    await finish(world)
    waiting = await shown(trader_api, accepted["handoff_id"])
    await finish(world)

    assert waiting["status"] == "CANCELLING"
    assert (await shown(trader_api, accepted["handoff_id"]))["status"] == "COMPLETED"
    assert broker_status(world, manual) == "CANCELLED"
    assert world.broker.calls["cancel_order"] == 2


async def test_an_emergency_stop_overrides_a_handoff_under_way(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    accepted = body(await trader_api.post(HANDOFFS, json=ask("to_script")), 202)

    body(await trader_api.post(f"/api/v1/accounts/{ACCOUNT}/emergency-stop"))
    await finish(world)

    done = await shown(trader_api, accepted["handoff_id"])
    assert (done["status"], done["failure"]) == ("FAILED", "overridden by an emergency stop")
    assert world.store.accounts[ACCOUNT].control_mode is ControlMode.MANUAL
