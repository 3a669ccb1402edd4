"""``KiteOrderStream`` against the paper broker's ticker: the same reports as its order book."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import pytest
from kiteconnect import KiteConnect

from order_service.adapters.broker.parsing import order_reports
from order_service.adapters.broker.ticker import KiteOrderStream
from order_service.domain.ids import AccountId
from order_service.errors import AuthenticationError
from order_service.services.ports import BrokerSession, OrderUpdate, OrderUpdates

if TYPE_CHECKING:
    from conftest import Paper

pytestmark = pytest.mark.asyncio
WAIT = 10.0


def stream_of(paper: Paper) -> KiteOrderStream:
    return KiteOrderStream(paper.url.replace("http://", "ws://"), open_timeout=WAIT)


def session_of(kite: KiteConnect) -> BrokerSession:
    return BrokerSession(AccountId("PAPER1"), "paper", kite.access_token)


def listening(paper: Paper) -> None:
    """Wait until the paper broker has our connection among its order listeners."""
    deadline = time.monotonic() + WAIT
    while paper.state()["ticker"]["connections"] < 1:
        assert time.monotonic() < deadline, "the ticker connection never registered"
        time.sleep(0.01)


async def next_update(updates: OrderUpdates) -> OrderUpdate:
    return await asyncio.wait_for(anext(updates), WAIT)


async def test_a_fill_arrives_as_the_report_the_order_book_gives(
    paper: Paper, kite: KiteConnect
) -> None:
    async with stream_of(paper).connect(session_of(kite)) as updates:
        await asyncio.to_thread(listening, paper)
        order_id = await asyncio.to_thread(paper.place_market, kite, tag="OSTICKER01")
        update = await next_update(updates)

    (booked,) = order_reports(await asyncio.to_thread(kite.orders))
    assert update.user_id == "PAPER1"
    assert update.report is not None
    assert update.report.broker_order_id == order_id
    assert update.report == booked


async def test_a_cancellation_arrives_too(paper: Paper, kite: KiteConnect) -> None:
    below = paper.on_tick(paper.ltp(kite) * 0.95)
    async with stream_of(paper).connect(session_of(kite)) as updates:
        await asyncio.to_thread(listening, paper)
        order_id = await asyncio.to_thread(paper.place_limit, kite, below)
        await asyncio.to_thread(kite.cancel_order, "regular", order_id)
        update = await next_update(updates)

    assert update.report is not None
    assert (update.report.broker_order_id, update.report.raw_status) == (order_id, "CANCELLED")


async def test_a_token_the_broker_does_not_know_is_refused_as_an_expired_session(
    paper: Paper,
) -> None:
    stale = BrokerSession(AccountId("PAPER1"), "paper", "not-a-token")

    with pytest.raises(AuthenticationError):
        await stream_of(paper).connect(stale).__aenter__()

    assert paper.state()["ticker"]["connections"] == 0
