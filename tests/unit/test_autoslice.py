"""Autoslice: the freeze rule lets an autoslice order through in whole-lot slices, Kite's answer
is read slice by slice, and each slice becomes an order of ours that its broker row reports."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import pytest_asyncio

from order_service.adapters.broker.fake import FakeBroker
from order_service.adapters.broker.slice_parsing import slice_reports
from order_service.bootstrap import bootstrap
from order_service.config import Settings
from order_service.domain.ids import BrokerOrderId, new_order_id
from order_service.domain.instrument import Instrument
from order_service.domain.order import OrderRequest
from order_service.domain.reports import OrderStatusReport, SliceReport
from order_service.domain.risk import OrderTerms, check_freeze_quantity
from order_service.domain.slicing import further_slices
from order_service.domain.status import OrderStatus, OrderTrigger
from order_service.entrypoints.api.app import create_app
from order_service.errors import BrokerOutcomeUnknown, RiskCheckFailed
from order_service.services.order_updates import UpdateOutcome
from order_service.services.ports import BrokerSession, OrderUpdate
from tests.factories import make_order, make_request
from tests.unit.answers import LIMIT, body, refused
from tests.unit.conftest import ACCOUNT, World, add_trader, api_client
from tests.unit.fake_store import FakeStore
from tests.unit.fakes import FakeClock, FakeUnitOfWork

AT = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
FUTURE = Instrument(
    "NFO", "NIFTY26DECFUT", 13238786, "NIFTY", "FUT", "NFO-FUT", Decimal("0.10"), 75,
    expiry=date(2026, 12, 29), freeze_quantity=1800,
)  # fmt: skip
ORDER = {**LIMIT, "exchange": "NFO", "tradingsymbol": "NIFTY26DECFUT", "product": "NRML",
         "quantity": 3675, "price": "26000.00"}  # fmt: skip


def _request(quantity: int, autoslice: bool) -> OrderRequest:
    return make_request(
        exchange="NFO", tradingsymbol="NIFTY26DECFUT", quantity=quantity, autoslice=autoslice
    )


def _refusal(item: Instrument, quantity: int, autoslice: bool) -> RiskCheckFailed:
    with pytest.raises(RiskCheckFailed) as caught:
        check_freeze_quantity(OrderTerms(_request(quantity, autoslice), item, None))
    return caught.value


def test_the_freeze_rule_lets_an_autoslice_order_through_up_to_ten_slices() -> None:
    check_freeze_quantity(OrderTerms(_request(18_000, True), FUTURE, None))
    assert _refusal(FUTURE, 1875, autoslice=False).details["limit"] == 1800
    assert _refusal(FUTURE, 18_075, autoslice=True).details["limit"] == 18_000


def test_the_freeze_rule_refuses_slices_that_would_not_be_whole_lots() -> None:
    odd = replace(FUTURE, freeze_quantity=1801)
    error = _refusal(odd, 1875, autoslice=True)
    assert (error.details["rule"], error.details["limit"]) == ("freeze_quantity", 1801)


def test_slices_are_full_freeze_quantities_then_the_rest() -> None:
    assert FUTURE.slices(3675) == [1800, 1800, 75]
    assert FUTURE.slices(3600) == [1800, 1800]
    assert FUTURE.slices(1800) == [1800]
    assert replace(FUTURE, freeze_quantity=None).slices(3675) == [3675]


def test_kites_answer_is_read_child_by_child_with_its_errors() -> None:
    reply: dict[str, Any] = {
        "order_id": "1",
        "children": [
            {"order_id": "1"},
            {"code": 400, "error_type": "MarginException", "message": "Insufficient funds."},
            {"error": {"error_type": "InputException", "message": "Bad slice."}},
        ],
    }
    assert slice_reports(reply) == [
        SliceReport(BrokerOrderId("1")),
        SliceReport(None, "MarginException", "Insufficient funds."),
        SliceReport(None, "InputException", "Bad slice."),
    ]


@pytest.mark.parametrize("reply", [{"order_id": "1"}, {"children": []}, {"children": "1"}])
def test_an_answer_without_its_children_is_malformed(reply: dict[str, Any]) -> None:
    with pytest.raises((KeyError, ValueError)):
        slice_reports(reply)


def test_a_further_slice_is_reported_by_its_own_row_under_the_tag_we_sent() -> None:
    parent = make_order(exchange="NFO", tradingsymbol="NIFTY26DECFUT", quantity=3675)
    parent.move(OrderTrigger.SUBMIT, AT)
    reports = [SliceReport(BrokerOrderId("1")), SliceReport(BrokerOrderId("2")),
               SliceReport(None, "MarginException", "Insufficient funds.")]  # fmt: skip
    second, third = further_slices(
        parent, [1800, 1800, 75], reports, [new_order_id(), new_order_id()], AT
    )

    assert (second.status, second.broker_order_id, second.request.quantity) == (
        OrderStatus.PENDING,
        "2",
        1800,
    )
    assert second.tag is None
    assert second.request.tag == parent.tag
    assert second.is_reported_by(OrderStatusReport(BrokerOrderId("2"), "OPEN", tag=parent.tag))
    assert not second.is_reported_by(OrderStatusReport(BrokerOrderId("2"), "OPEN", tag="other"))
    assert (second.strategy_id, second.user_id) == (parent.strategy_id, parent.user_id)
    assert third.status is OrderStatus.FAILED
    assert third.request.quantity == 75
    failed = third.pending_events[-1].data
    assert (failed["error_code"], failed["broker_error_type"]) == (
        "ORDER_REJECTED",
        "MarginException",
    )


@pytest_asyncio.fixture
async def api(world: World) -> Any:
    world.broker.instrument_list = [FUTURE]
    assert await world.services.instruments.refresh_if_due() == 1
    async with api_client(create_app(world.services), world.api_key) as client:
        yield client


@pytest.mark.asyncio
async def test_an_autoslice_placement_answers_and_stores_every_slice(
    api: httpx.AsyncClient, world: World
) -> None:
    error = refused(await api.post("/api/v1/orders", json=ORDER), 422, "RISK_REJECTED")
    assert error["details"]["rule"] == "freeze_quantity"
    assert world.broker.calls["place_order"] == 0

    placed = body(await api.post("/api/v1/orders", json={**ORDER, "autoslice": True}), 201)

    assert [s["quantity"] for s in placed["slices"]] == [1800, 1800, 75]
    assert world.broker.calls["place_order"] == 3
    stored = body(await api.get("/api/v1/orders", params={"limit": 10}), 200)["items"]
    assert sorted(o["quantity"] for o in stored) == [75, 1800, 1800]
    assert {o["broker_order_id"] for o in stored} == set(world.broker.book)


@pytest.mark.asyncio
async def test_an_autoslice_order_within_the_freeze_quantity_is_one_plain_order(
    api: httpx.AsyncClient, world: World
) -> None:
    placed = body(
        await api.post("/api/v1/orders", json={**ORDER, "quantity": 1800, "autoslice": True}), 201
    )
    assert placed["slices"] == []
    assert placed["quantity"] == 1800
    assert world.broker.calls["place_order"] == 1


@pytest.mark.asyncio
async def test_a_repeated_key_answers_every_slice_again_and_sends_nothing(
    api: httpx.AsyncClient, world: World
) -> None:
    keyed = {"Idempotency-Key": "slice-me-once"}
    sliced = {**ORDER, "autoslice": True}
    placed = body(await api.post("/api/v1/orders", json=sliced, headers=keyed), 201)

    again = body(await api.post("/api/v1/orders", json=sliced, headers=keyed), 200)

    assert world.broker.calls["place_order"] == 3
    assert [s["order_id"] for s in again["slices"]] == [s["order_id"] for s in placed["slices"]]
    assert [s["quantity"] for s in again["slices"]] == [1800, 1800, 75]
    assert again["order_id"] == placed["order_id"]


@pytest.mark.asyncio
async def test_the_slices_are_stored_with_the_first_slices_answer_once_whatever_races(
    api: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = world.broker.place_autoslice_order

    async def racing(*args: Any) -> list[SliceReport]:
        reports = await answer(*args)
        (sent,) = [o for o in world.store.orders.values() if o.status is OrderStatus.SUBMITTING]
        world.store.orders[sent.order_id] = replace(sent, version=sent.version + 1)  # a writer
        return reports

    monkeypatch.setattr(world.broker, "place_autoslice_order", racing)
    before = world.store.commits

    placed = body(await api.post("/api/v1/orders", json={**ORDER, "autoslice": True}), 201)

    stored = list(world.store.orders.values())
    assert sorted(o.request.quantity for o in stored) == [75, 1800, 1800]
    assert len({o.order_id for o in stored}) == 3
    assert {o.order_id for o in stored} == {s["order_id"] for s in placed["slices"]}
    # Stored NEW, then SUBMITTING, then (after the stale first try) the first slice's answer
    # and the other slices in one commit: never the answer without the slices.
    assert world.store.commits - before == 3


def _answer_lost(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The broker places every slice, and its answer never arrives."""
    place = world.broker.place_autoslice_order

    async def lost(*args: Any) -> list[SliceReport]:
        await place(*args)
        raise BrokerOutcomeUnknown(details={"operation": "place_order", "reason": "ReadTimeout"})

    monkeypatch.setattr(world.broker, "place_autoslice_order", lost)


@pytest.mark.asyncio
async def test_an_autoslice_whose_answer_was_lost_has_every_slice_found_in_the_book(
    api: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _answer_lost(world, monkeypatch)
    placed = body(await api.post("/api/v1/orders", json={**ORDER, "autoslice": True}), 202)
    assert placed["status"] == "UNKNOWN"
    world.clock.advance(world.services.settings.unknown_grace_seconds)

    first = await world.services.reconcile.sync_account(ACCOUNT)
    again = await world.services.reconcile.sync_account(ACCOUNT)

    stored = body(await api.get("/api/v1/orders", params={"limit": 10}), 200)["items"]
    assert sorted(o["quantity"] for o in stored) == [75, 1800, 1800]
    assert {o["broker_order_id"] for o in stored} == set(world.broker.book)
    assert {o["status"] for o in stored} == {"OPEN"}  # each as its row shows it
    parent = body(await api.get(f"/api/v1/orders/{placed['order_id']}"), 200)
    assert (parent["quantity"], parent["broker_order_id"]) == (1800, min(world.broker.book))
    assert (first.slices, first.unknown_tags, first.drift()["slice_found"]) == (2, 0, 2)
    assert (again.slices, again.unknown_tags) == (0, 0)


@pytest.mark.asyncio
async def test_rows_under_our_tag_that_do_not_add_up_to_the_order_are_drift_not_slices(
    api: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _answer_lost(world, monkeypatch)
    placed = body(await api.post("/api/v1/orders", json={**ORDER, "autoslice": True}), 202)
    world.broker.book.pop(max(world.broker.book))  # the 75 never placed: 3600 of 3675
    world.clock.advance(world.services.settings.unknown_grace_seconds)

    result = await world.services.reconcile.sync_account(ACCOUNT)

    assert (result.slices, result.unknown_tags) == (0, 1)
    stored = body(await api.get("/api/v1/orders", params={"limit": 10}), 200)["items"]
    assert [o["order_id"] for o in stored] == [placed["order_id"]]


@pytest.mark.asyncio
async def test_a_sync_while_the_slices_are_being_placed_leaves_them_to_the_placement(
    api: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    place = world.broker.place_autoslice_order
    seen: list[Any] = []

    async def synced_meanwhile(*args: Any) -> list[SliceReport]:
        reports = await place(*args)  # at the broker, not yet answered to us
        seen.append(await world.services.reconcile.sync_account(ACCOUNT))
        return reports

    monkeypatch.setattr(world.broker, "place_autoslice_order", synced_meanwhile)

    placed = body(await api.post("/api/v1/orders", json={**ORDER, "autoslice": True}), 201)
    after = await world.services.reconcile.sync_account(ACCOUNT)

    (during,) = seen
    assert (during.slices, after.slices, after.unknown_tags) == (0, 0, 0)
    assert [s["quantity"] for s in placed["slices"]] == [1800, 1800, 75]
    stored = list(world.store.orders.values())
    assert sorted(o.request.quantity for o in stored) == [75, 1800, 1800]
    assert {o.broker_order_id for o in stored} == set(world.broker.book)


@pytest.mark.asyncio
async def test_an_update_of_a_later_slice_before_the_answer_is_never_taken_for_the_order(
    api: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    place = world.broker.place_autoslice_order
    outcomes: list[UpdateOutcome] = []

    async def streamed_meanwhile(session: BrokerSession, *args: Any) -> list[SliceReport]:
        reports = await place(session, *args)
        last = world.broker.book[max(world.broker.book)]  # the 75: our tag, a slice's quantity
        updates = world.services.order_updates
        outcomes.append(await updates.apply(ACCOUNT, OrderUpdate(last), session))
        return reports

    monkeypatch.setattr(world.broker, "place_autoslice_order", streamed_meanwhile)

    placed = body(await api.post("/api/v1/orders", json={**ORDER, "autoslice": True}), 201)

    assert outcomes == [UpdateOutcome.UNKNOWN_ORDER]  # left for the answer to record
    assert [s["quantity"] for s in placed["slices"]] == [1800, 1800, 75]
    assert [s["broker_order_id"] for s in placed["slices"]] == sorted(world.broker.book)


@pytest.mark.asyncio
async def test_the_duplicate_guard_knows_a_sliced_order_by_what_was_asked(
    settings: Settings, store: FakeStore, clock: FakeClock, broker: FakeBroker
) -> None:
    guarded = settings.model_copy(update={"risk_duplicate_window_seconds": 2.0})
    services = bootstrap(
        guarded, uow_factory=lambda: FakeUnitOfWork(store), broker=broker, clock=clock
    )
    _, key = await add_trader(services, "trader", ACCOUNT)
    broker.instrument_list = [FUTURE]
    await services.instruments.refresh_if_due()
    sliced = {**ORDER, "autoslice": True}
    async with api_client(create_app(services), key) as api:
        body(await api.post("/api/v1/orders", json=sliced), 201)  # stored as its first slice

        again = await api.post("/api/v1/orders", json=sliced)
        one_slice = await api.post("/api/v1/orders", json={**ORDER, "quantity": 1800})

    assert refused(again, 422, "RISK_REJECTED")["details"]["rule"] == "duplicate"
    body(one_slice, 201)  # another order: 1800 was never asked for without a key before


@pytest.mark.asyncio
async def test_a_key_of_a_slices_shape_is_refused_before_anything_is_stored(
    api: httpx.AsyncClient, world: World
) -> None:
    placed = body(await api.post("/api/v1/orders", json={**ORDER, "autoslice": True}), 201)
    taken = f"{placed['order_id']}.1"
    one_lot = {**ORDER, "quantity": 75}

    error = refused(
        await api.post("/api/v1/orders", json=one_lot, headers={"Idempotency-Key": taken}),
        422, "INVALID_INPUT",
    )  # fmt: skip
    ours = await api.post("/api/v1/orders", json=one_lot, headers={"Idempotency-Key": "alert.1"})

    assert error["details"]["field"] == "client_order_id"
    assert body(ours, 201)["client_order_id"] == "alert.1"
    assert len(world.store.orders) == 4  # the three slices and the order keyed alert.1
