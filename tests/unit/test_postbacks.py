"""Postbacks are signals: verified, then confirmed from the broker before they move an order."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import httpx
import pytest

from order_service.domain.ids import AccountId, BrokerOrderId
from order_service.domain.order import Order, OrderRequest
from order_service.domain.postback import postback_checksum
from order_service.domain.reports import OrderStatusReport
from order_service.domain.status import OrderStatus
from order_service.errors import AuthenticationRequired
from order_service.services.postbacks import PostbackOutcome, SignedPostback
from tests.factories import make_limit_request, make_request
from tests.unit.conftest import ACCOUNT, World

STAMP = "2026-11-30 10:15:00"
URL = "/api/v1/broker/postback"
pytestmark = pytest.mark.asyncio


def body(order: Order, status: str, **overrides: Any) -> dict[str, Any]:
    assert order.broker_order_id is not None
    fields: dict[str, Any] = {
        "user_id": order.account_id,
        "order_id": order.broker_order_id,
        "order_timestamp": STAMP,
        "status": status,
        "tag": order.tag,
        "quantity": order.request.quantity,
        "filled_quantity": order.request.quantity if status == "COMPLETE" else 0,
        "average_price": "1.00" if status == "COMPLETE" else 0,
        "checksum": postback_checksum(order.broker_order_id, STAMP, "paper-secret"),
    }
    return {**fields, **overrides}


async def synced(world: World, request: OrderRequest, status: OrderStatus) -> Order:
    """Place ``request`` and sync it to ``status``; the broker's call counts start afresh."""
    placed = await world.services.orders.place_order(world.trader, request, None)
    await world.services.reconcile.sync_account(ACCOUNT)
    order = await stored(world, placed.order)
    assert order.status is status
    world.broker.calls.clear()
    return order


async def working(world: World) -> Order:
    return await synced(world, make_limit_request(), OrderStatus.OPEN)


async def filled_at_the_broker(world: World) -> Order:
    """A working order of ours that the broker has since filled (we do not know yet)."""
    order = await working(world)
    assert order.broker_order_id is not None
    world.broker.fill(order.broker_order_id)
    return order


@pytest.fixture
def client(anonymous_api: httpx.AsyncClient) -> httpx.AsyncClient:
    return anonymous_api


async def stored(world: World, order: Order) -> Order:
    return await world.services.orders.get_order(world.trader, order.order_id)


async def test_a_replayed_checksum_cannot_forge_a_fill(
    world: World, client: httpx.AsyncClient
) -> None:
    order = await working(world)
    forged = body(order, "COMPLETE", filled_quantity=10, average_price="0.05")

    reply = await client.post(URL, json=forged)

    assert reply.json() == {"outcome": "duplicate"}  # the broker says it is still OPEN
    after = await stored(world, order)
    assert (after.status, after.filled_quantity) == (OrderStatus.OPEN, 0)
    assert after.average_price == order.average_price
    assert world.broker.calls["order_history"] == 1


@pytest.mark.parametrize(
    "lie",
    [
        {"filled_quantity": 999_999},
        {"average_price": "NaN"},
        {"average_price": "Infinity"},
        {"average_price": "-5"},
        {"quantity": -1},
        {"filled_quantity": "1e999"},
    ],
    ids=["overfilled", "nan", "infinity", "negative-price", "negative-quantity", "huge"],
)
async def test_an_impossible_claim_is_never_applied(
    world: World, client: httpx.AsyncClient, lie: dict[str, Any]
) -> None:
    order = await working(world)

    reply = await client.post(URL, json=body(order, "COMPLETE", **lie))

    assert reply.status_code == 200
    after = await stored(world, order)
    assert (after.status, after.filled_quantity) == (OrderStatus.OPEN, 0)
    assert after.average_price == order.average_price
    auth = {"Authorization": f"Bearer {world.api_key}"}
    read = await client.get(f"/api/v1/orders/{order.order_id}", headers=auth)
    assert read.status_code == 200
    listed = await client.get("/api/v1/orders", headers=auth)
    assert listed.status_code == 200


async def test_a_genuine_fill_is_applied_as_the_broker_reports_it(
    world: World, client: httpx.AsyncClient
) -> None:
    order = await filled_at_the_broker(world)

    reply = await client.post(URL, json=body(order, "COMPLETE", average_price="0.05"))

    assert reply.json() == {"outcome": "applied"}
    after = await stored(world, order)
    assert after.status is OrderStatus.COMPLETE
    assert after.average_price == Decimal("1520.50")  # the broker's price, not the body's


async def test_a_terminal_order_costs_no_broker_call(
    world: World, client: httpx.AsyncClient
) -> None:
    order = await synced(world, make_request(), OrderStatus.COMPLETE)

    reply = await client.post(URL, json=body(order, "CANCELLED"))

    assert reply.json() == {"outcome": "duplicate"}
    assert world.broker.calls["order_history"] == 0


async def test_a_burst_of_postbacks_for_one_order_costs_one_confirmation(
    world: World, client: httpx.AsyncClient
) -> None:
    order = await working(world)
    outcomes = [(await client.post(URL, json=body(order, "COMPLETE"))).json() for _ in range(5)]

    assert outcomes == [{"outcome": "duplicate"}] + [{"outcome": "deferred"}] * 4
    assert world.broker.calls["order_history"] == 1
    world.clock.advance(1.5)
    assert (await client.post(URL, json=body(order, "COMPLETE"))).json() == {"outcome": "duplicate"}
    assert world.broker.calls["order_history"] == 2


async def test_a_report_with_our_broker_id_but_another_tag_is_drift(
    world: World, client: httpx.AsyncClient
) -> None:
    order = await filled_at_the_broker(world)

    reply = await client.post(URL, json=body(order, "COMPLETE", tag="SOMEONEELSE"))

    assert reply.json() == {"outcome": "mismatch"}
    assert (await stored(world, order)).status is OrderStatus.OPEN


async def test_the_broker_view_with_another_tag_is_drift_too(world: World) -> None:
    order = await working(world)
    assert order.broker_order_id is not None
    report = world.broker.book[order.broker_order_id]
    world.broker.book[order.broker_order_id] = _retagged(report, "REUSEDID", "COMPLETE")
    signed = _signed(order)

    claim = replace(report, raw_status="COMPLETE", filled_quantity=report.quantity)

    verified = await world.services.postbacks.verify(signed)
    outcome = await world.services.postbacks.apply(verified, claim)

    assert outcome is PostbackOutcome.MISMATCH
    assert (await stored(world, order)).status is OrderStatus.OPEN


@pytest.mark.parametrize(
    "change",
    [
        {"checksum": "0" * 64},
        {"checksum": "é" * 64},
        {"checksum": 12345},
        {"user_id": "NOSUCH"},
        {"order_timestamp": None},
        {"order_id": ["1"]},
    ],
    ids=["wrong", "non-ascii", "number", "unknown-account", "missing-stamp", "list-id"],
)
async def test_every_refusal_is_the_same_401(
    world: World, client: httpx.AsyncClient, change: dict[str, Any]
) -> None:
    order = await working(world)

    reply = await client.post(URL, json={**body(order, "COMPLETE"), **change})

    assert reply.status_code == 401
    error = reply.json()["error"]
    assert (error["code"], error["message"]) == (
        "UNAUTHENTICATED",
        "the postback could not be verified",
    )
    assert world.broker.calls["order_history"] == 0


@pytest.mark.parametrize("raw", [b"nope", b"[1, 2]", b'{"order_id": "1"}', b""])
async def test_a_body_that_is_not_a_signed_object_is_401(
    client: httpx.AsyncClient, raw: bytes
) -> None:
    reply = await client.post(URL, content=raw, headers={"Content-Type": "application/json"})

    assert reply.status_code == 401


async def test_a_verified_body_with_a_bad_field_is_left_to_the_sync(
    world: World, client: httpx.AsyncClient
) -> None:
    order = await filled_at_the_broker(world)

    reply = await client.post(URL, json=body(order, "COMPLETE", quantity={"not": "a number"}))

    assert reply.json() == {"outcome": "deferred"}
    assert world.broker.calls["order_history"] == 0
    await world.services.reconcile.sync_account(ACCOUNT)
    assert (await stored(world, order)).status is OrderStatus.COMPLETE


@pytest.mark.parametrize(
    "shifted",
    [
        {"order_id": "00000000000012026", "order_timestamp": "-11-30 10:15:00"},
        {"order_id": "1 ", "order_timestamp": STAMP},
        {"order_timestamp": "2026-11-30T10:15:00"},
    ],
    ids=["moved-characters", "padded-id", "iso-stamp"],
)
async def test_a_checksum_verifies_only_kites_shapes_of_its_two_fields(
    world: World, client: httpx.AsyncClient, shifted: dict[str, str]
) -> None:
    order = await working(world)
    fields = {**body(order, "COMPLETE"), **shifted}
    fields["checksum"] = postback_checksum(
        fields["order_id"], fields["order_timestamp"], "paper-secret"
    )

    reply = await client.post(URL, json=fields)

    assert reply.status_code == 401
    assert world.broker.calls["order_history"] == 0


async def test_an_unknown_account_and_a_wrong_checksum_read_alike(world: World) -> None:
    order = await working(world)
    nobody = SignedPostback(AccountId("NOSUCH"), BrokerOrderId("1"), STAMP, "0" * 64)
    wrong = SignedPostback(order.account_id, BrokerOrderId("1"), STAMP, "0" * 64)

    refusals = []
    for signed in (nobody, wrong):
        with pytest.raises(AuthenticationRequired) as raised:
            await world.services.postbacks.verify(signed)
        refusals.append(raised.value.to_dict())

    assert refusals[0] == refusals[1]


async def test_an_order_placed_elsewhere_is_unknown_and_costs_nothing(
    world: World, client: httpx.AsyncClient
) -> None:
    order = await working(world)
    stranger = body(order, "COMPLETE", order_id="999000111", tag=None)
    stranger["checksum"] = postback_checksum("999000111", STAMP, "paper-secret")

    assert (await client.post(URL, json=stranger)).json() == {"outcome": "unknown_order"}
    assert world.broker.calls["order_history"] == 0


def _signed(order: Order) -> SignedPostback:
    assert order.broker_order_id is not None
    checksum = postback_checksum(order.broker_order_id, STAMP, "paper-secret")
    return SignedPostback(ACCOUNT, order.broker_order_id, STAMP, checksum)


def _retagged(report: OrderStatusReport, tag: str, status: str) -> OrderStatusReport:
    return replace(report, tag=tag, raw_status=status, filled_quantity=report.quantity)
