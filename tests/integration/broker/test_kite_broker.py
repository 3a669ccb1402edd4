"""KiteBroker (the official SDK, unmodified) against the paper broker: calls and the error table."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import pytest_asyncio
from kiteconnect import KiteConnect

from order_service.adapters.broker.kite import KiteBroker
from order_service.domain.ids import BrokerOrderId, new_order_id, tag_for
from order_service.domain.order import OrderChanges, OrderRequest
from order_service.domain.values import OrderType, Variety
from order_service.entrypoints.demo import request_token_from
from order_service.errors import (
    AuthenticationError,
    BrokerAPIError,
    BrokerOutcomeUnknown,
    BrokerUnavailable,
    InsufficientFundsError,
    InvalidSymbolError,
    OrderRejected,
    RateLimitError,
)
from order_service.services.ports import BrokerSession
from paper_broker.config import PaperBrokerConfig
from paper_broker.server import PaperBrokerServer
from tests.factories import ACCOUNT, make_request

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
def paper() -> Iterator[str]:
    server = PaperBrokerServer(PaperBrokerConfig(port=0, rate_limits=False, seed=3))
    yield server.start()
    server.stop()


@pytest.fixture
def admin(paper: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{paper}/_admin") as client:
        client.post("/reset").raise_for_status()
        yield client
        client.delete("/faults")


@pytest_asyncio.fixture
async def kite(paper: str, admin: httpx.Client) -> AsyncIterator[tuple[KiteBroker, BrokerSession]]:
    broker = KiteBroker(paper, f"{paper}/connect/login", timeout=0.5, threads=4)
    token = await request_token_from(broker.login_url("paper", {"state": "s-1"}))
    grant = await broker.create_session(ACCOUNT, "paper", "paper-secret", token)
    assert grant.broker_user_id == "PAPER1"
    assert grant.login_at.tzinfo is not None
    yield broker, BrokerSession(ACCOUNT, "paper", grant.access_token)
    await broker.close()


def _request(**overrides: Any) -> OrderRequest:
    """One share, so the paper broker's margins never refuse it unless a test asks."""
    return make_request(**{"quantity": 1, **overrides})


def _price(admin: httpx.Client, price: str) -> None:
    admin.post("/prices", json={"NSE:INFY": price}).raise_for_status()


def _fault(admin: httpx.Client, route: str, kind: str, **extra: Any) -> None:
    body = {"route": route, "kind": kind, "count": 1, "delay_ms": 1500, **extra}
    admin.post("/faults", json=body).raise_for_status()


async def test_place_then_read_back_by_history_and_book(
    kite: tuple[KiteBroker, BrokerSession],
) -> None:
    broker, session = kite
    tag = tag_for(new_order_id())
    broker_order_id = await broker.place_order(session, _request(), tag)
    history = await broker.order_history(session, broker_order_id)
    assert [r.raw_status for r in history][-1] == "COMPLETE"
    assert history[0].raw_status == "PUT ORDER REQ RECEIVED"
    assert history[-1].average_price is not None
    assert history[-1].filled_quantity == 1
    book = {r.tag: r for r in (await broker.orders(session)).reports}
    assert book[tag].broker_order_id == broker_order_id


async def test_modify_and_cancel_a_resting_limit(
    kite: tuple[KiteBroker, BrokerSession], admin: httpx.Client
) -> None:
    broker, session = kite
    _price(admin, "1500.00")
    request = _request(order_type=OrderType.LIMIT, price=Decimal("1450.00"))
    order_id = await broker.place_order(session, request, tag_for(new_order_id()))
    await broker.modify_order(
        session, Variety.REGULAR, order_id, OrderChanges(price=Decimal("1460.50"))
    )
    assert (await broker.order_history(session, order_id))[-1].price == Decimal("1460.50")
    await broker.cancel_order(session, Variety.REGULAR, order_id)
    assert (await broker.order_history(session, order_id))[-1].raw_status == "CANCELLED"
    with pytest.raises(OrderRejected):
        await broker.cancel_order(session, Variety.REGULAR, order_id)


@pytest.mark.parametrize(
    ("route", "kind", "operation", "expected"),
    [
        ("place_order", "reject", "place", OrderRejected),
        ("place_order", "http_429", "place", RateLimitError),
        ("place_order", "html_429", "place", BrokerOutcomeUnknown),
        ("place_order", "html_502", "place", BrokerOutcomeUnknown),
        ("place_order", "html_504", "place", BrokerOutcomeUnknown),
        ("place_order", "timeout_after_accept", "place", BrokerOutcomeUnknown),
        ("place_order", "error_after_accept", "place", BrokerOutcomeUnknown),
        ("place_order", "reset", "place", BrokerOutcomeUnknown),
        ("place_order", "token_expired", "place", AuthenticationError),
        ("orders", "html_502", "orders", BrokerUnavailable),
        ("orders", "http_429", "orders", RateLimitError),
        ("orders", "timeout_after_accept", "orders", BrokerUnavailable),
        ("orders", "token_expired", "orders", AuthenticationError),
        ("order_history", "reset", "history", BrokerUnavailable),
    ],
)
async def test_each_fault_becomes_its_error(
    kite: tuple[KiteBroker, BrokerSession],
    admin: httpx.Client,
    route: str,
    kind: str,
    operation: str,
    expected: type[BrokerAPIError],
) -> None:
    broker, session = kite
    known = await broker.place_order(session, _request(), tag_for(new_order_id()))
    _fault(admin, route, kind)
    with pytest.raises(expected) as caught:
        await _call(broker, session, operation, known)
    assert caught.value.details["operation"] in {"place_order", "orders", "order_history"}


async def _call(
    broker: KiteBroker, session: BrokerSession, operation: str, known: BrokerOrderId
) -> object:
    if operation == "place":
        return await broker.place_order(session, _request(), tag_for(new_order_id()))
    if operation == "orders":
        return await broker.orders(session)
    return await broker.order_history(session, known)


async def test_refusals_are_typed_with_the_brokers_words(
    kite: tuple[KiteBroker, BrokerSession],
) -> None:
    broker, session = kite
    with pytest.raises(InvalidSymbolError) as symbol:
        await broker.place_order(session, _request(tradingsymbol="NOSUCH"), tag_for(new_order_id()))
    assert symbol.value.details["broker_status"] == 400
    with pytest.raises(InsufficientFundsError) as funds:
        await broker.place_order(session, _request(quantity=10_000), tag_for(new_order_id()))
    assert Decimal(funds.value.details["required"]) > Decimal(funds.value.details["available"])
    assert funds.value.details["broker_error_type"] == "GeneralException"
    with pytest.raises(BrokerAPIError) as unknown:
        await broker.order_history(session, BrokerOrderId("999999999999999"))
    assert unknown.value.details["broker_error_type"] == "InputException"


async def test_the_twenty_sixth_modification_is_refused(
    kite: tuple[KiteBroker, BrokerSession], admin: httpx.Client
) -> None:
    broker, session = kite
    _price(admin, "1500.00")
    request = _request(order_type=OrderType.LIMIT, price=Decimal("1430.00"))
    order_id = await broker.place_order(session, request, tag_for(new_order_id()))
    for step in range(25):
        change = OrderChanges(price=Decimal("1430.00") + Decimal(step + 1) / 20)
        await broker.modify_order(session, Variety.REGULAR, order_id, change)
    with pytest.raises(OrderRejected, match="modifications"):
        await broker.modify_order(session, Variety.REGULAR, order_id, OrderChanges(quantity=2))


async def test_an_unreachable_broker_is_unavailable_not_unknown() -> None:
    broker = KiteBroker("http://127.0.0.1:9", "http://127.0.0.1:9/connect/login", timeout=0.5)
    session = BrokerSession(ACCOUNT, "paper", "token")
    try:
        with pytest.raises(BrokerUnavailable):
            await broker.place_order(session, _request(), tag_for(new_order_id()))
    finally:
        await broker.close()


async def test_the_instruments_list_is_read_with_exact_numbers(
    kite: tuple[KiteBroker, BrokerSession],
) -> None:
    broker, session = kite
    instruments = {i.key: i for i in await broker.instruments(session)}

    infy = instruments[("NSE", "INFY")]
    assert (infy.tick_size, infy.lot_size, infy.instrument_type) == (Decimal("0.05"), 1, "EQ")
    futures = [
        i for i in instruments.values() if i.exchange == "NFO" and i.instrument_type == "FUT"
    ]
    assert futures
    assert all(f.expiry is not None and f.lot_size > 1 for f in futures)
    options = [i for i in instruments.values() if i.instrument_type in {"CE", "PE"}]
    assert all(isinstance(o.strike, Decimal) and o.strike > 0 for o in options)


async def test_an_auction_order_carries_its_auction_number_to_the_broker(
    kite: tuple[KiteBroker, BrokerSession], admin: httpx.Client, paper: str
) -> None:
    broker, session = kite
    _price(admin, "1500.00")
    bid = _request(
        variety=Variety.AUCTION,
        auction_number="22",
        order_type=OrderType.LIMIT,
        price=Decimal("1499.00"),
    )

    broker_order_id = await broker.place_order(session, bid, tag_for(new_order_id()))

    sdk = KiteConnect("paper", access_token=session.access_token, root=paper)
    (row,) = [r for r in sdk.orders() if r["order_id"] == broker_order_id]
    assert (row["variety"], row["auction_number"]) == ("auction", "22")
    assert row["status"] != "REJECTED"
