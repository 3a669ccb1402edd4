"""A placement whose own outcome arrives after a broker report is answered as the order stands."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest

from order_service.adapters.broker.fake import FakeBroker
from order_service.domain.ids import BrokerOrderId
from order_service.domain.order import OrderRequest
from order_service.domain.postback import postback_checksum
from order_service.domain.reports import OrderStatusReport
from order_service.errors import BrokerOutcomeUnknown
from order_service.services.ports import BrokerSession
from order_service.services.postbacks import SignedPostback
from tests.unit.conftest import ACCOUNT, World
from tests.unit.fakes import FakeClock

pytestmark = pytest.mark.asyncio
STAMP = "2026-11-30 10:15:00"
ORDER = {
    "account_id": "PAPER1",
    "exchange": "NSE",
    "tradingsymbol": "INFY",
    "transaction_type": "BUY",
    "quantity": 1,
    "product": "CNC",
    "order_type": "MARKET",
}


class PostbackFirstBroker(FakeBroker):
    """Places the order, then lets the broker's postback land before the reply does."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.before_reply: Callable[[BrokerOrderId, str], Awaitable[None]] | None = None
        self.reply_lost = False

    async def place_order(
        self, session: BrokerSession, request: OrderRequest, tag: str
    ) -> BrokerOrderId:
        broker_order_id = await super().place_order(session, request, tag)
        if self.before_reply is not None:
            await self.before_reply(broker_order_id, tag)
        if self.reply_lost:
            raise BrokerOutcomeUnknown(details={"operation": "place_order", "reason": "timeout"})
        return broker_order_id


@pytest.fixture
def broker(clock: FakeClock) -> PostbackFirstBroker:
    return PostbackFirstBroker(clock)


@pytest.fixture
def client(trader_api: httpx.AsyncClient) -> httpx.AsyncClient:
    return trader_api


def deliver_postback(world: World) -> Callable[[BrokerOrderId, str], Awaitable[None]]:
    async def deliver(broker_order_id: BrokerOrderId, tag: str) -> None:
        checksum = postback_checksum(broker_order_id, STAMP, "paper-secret")
        signed = SignedPostback(ACCOUNT, broker_order_id, STAMP, checksum)
        claim = OrderStatusReport(broker_order_id, "COMPLETE", tag=tag, quantity=1)
        verified = await world.services.postbacks.verify(signed)
        await world.services.postbacks.apply(verified, claim)

    return deliver


@pytest.mark.parametrize("reply_lost", [False, True], ids=["accepted", "reply-lost"])
async def test_a_filled_order_is_201_even_when_its_postback_came_first(
    world: World, broker: PostbackFirstBroker, client: httpx.AsyncClient, reply_lost: bool
) -> None:
    broker.before_reply = deliver_postback(world)
    broker.reply_lost = reply_lost

    reply = await client.post("/api/v1/orders", json=ORDER, headers={"Idempotency-Key": "k-1"})

    assert reply.status_code == 201, reply.text
    order = reply.json()
    assert order["status"] == "COMPLETE"
    assert order["filled_quantity"] == 1
    assert order["broker_order_id"] == "0000000000001"
    repeat = await client.post("/api/v1/orders", json=ORDER, headers={"Idempotency-Key": "k-1"})
    assert (repeat.status_code, repeat.json()["order_id"]) == (200, order["order_id"])
    assert broker.calls["place_order"] == 1
    events = (await client.get(f"/api/v1/orders/{order['order_id']}/events")).json()
    names = [event["name"] for event in events]
    assert names == ["OrderRequested", "OrderSubmitted", "OrderFilled"]
