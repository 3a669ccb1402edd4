"""One malformed row of a book is left out, counted and logged; the rest of the book comes back."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import structlog
from prometheus_client import REGISTRY

from order_service.adapters.broker.kite import KiteBroker
from order_service.domain.ids import AccountId, BrokerOrderId
from order_service.errors import DataFormatError
from order_service.services.ports import BrokerSession
from tests.integration.broker.local_kite import LocalKite, Reply

pytestmark = pytest.mark.asyncio
SESSION = BrokerSession(AccountId("PAPER1"), "paper", "token")
BAD_ID = "250302000000002"
BAD_TAG = "OSbadrow0001"
SECRET_SYMBOL = "ZZSECRETSYM"  # on the bad row only: the log must not carry the row itself


def order_row(order_id: str, tag: str, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "order_id": order_id,
        "status": "OPEN",
        "tag": tag,
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "transaction_type": "BUY",
        "quantity": 10,
        "filled_quantity": 0,
        "price": 1520.5,
        "order_timestamp": "2025-03-02 09:15:00",
    }
    return {**row, **overrides}


def trade_row(trade_id: str, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "trade_id": trade_id,
        "order_id": "250302000000001",
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "product": "CNC",
        "average_price": 1520.5,
        "quantity": 1,
        "transaction_type": "BUY",
        "fill_timestamp": "2025-03-02 09:15:01",
    }
    return {**row, **overrides}


def reply(rows: list[dict[str, Any]]) -> Reply:
    return Reply(json.dumps({"status": "success", "data": rows}).encode())


def unreadable(operation: str) -> float:
    labels = {"operation": operation}
    return REGISTRY.get_sample_value("order_service_broker_rows_unreadable_total", labels) or 0.0


def warnings(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [entry for entry in logs if entry["event"] == "broker rows unreadable"]


@pytest_asyncio.fixture
async def broker(local_kite: tuple[LocalKite, str]) -> AsyncIterator[KiteBroker]:
    _, url = local_kite
    broker = KiteBroker(url, f"{url}/connect/login", timeout=5, threads=2)
    yield broker
    await broker.close()


@pytest.mark.parametrize(
    "bad",
    [
        {"price": "abc"},
        {"average_price": "NaN"},
        {"quantity": -1},
        {"status": None},
        {"filled_quantity": 11},
    ],
    ids=str,
)
async def test_a_bad_order_row_is_left_out_named_counted_and_logged_once(
    local_kite: tuple[LocalKite, str], broker: KiteBroker, bad: dict[str, Any]
) -> None:
    kite, _ = local_kite
    bad_row = order_row(BAD_ID, BAD_TAG, tradingsymbol=SECRET_SYMBOL, **bad)
    rows = [order_row("250302000000001", "OSgood0001"), bad_row, order_row("3", "OSgood0003")]
    kite.history = reply(rows)
    before = unreadable("orders")

    with structlog.testing.capture_logs() as logs:
        book = await broker.orders(SESSION)

    assert [r.tag for r in book.reports] == ["OSgood0001", "OSgood0003"]
    assert book.unreadable == {BAD_ID, BAD_TAG}
    assert book.may_hold(None, BAD_TAG)
    assert not book.may_hold(None, "OSgood0001")
    assert unreadable("orders") == before + 1
    (entry,) = warnings(logs)
    assert entry["operation"] == "orders"
    assert entry["count"] == 1
    (named,) = entry["rows"]
    assert (named["order_id"], named["tag"]) == (BAD_ID, BAD_TAG)
    assert named["reason"]
    assert SECRET_SYMBOL not in repr(entry)


async def test_a_row_that_names_nothing_makes_the_book_hold_any_order(
    local_kite: tuple[LocalKite, str], broker: KiteBroker
) -> None:
    kite, _ = local_kite
    kite.history = reply([order_row("1", "OSgood0001"), {"order_id": None, "status": 7}])

    book = await broker.orders(SESSION)

    assert [r.tag for r in book.reports] == ["OSgood0001"]
    assert book.unnamed == 1
    assert book.may_hold(BrokerOrderId("99"), "OSother0001")


async def test_a_bad_trade_row_is_left_out_and_counted(
    local_kite: tuple[LocalKite, str], broker: KiteBroker
) -> None:
    kite, _ = local_kite
    rows = [trade_row("T1"), trade_row("T2", quantity=-1), trade_row("T3", average_price="x")]
    kite.history = reply([*rows, trade_row("T4")])
    before = unreadable("trades")

    with structlog.testing.capture_logs() as logs:
        fills = await broker.trades(SESSION)

    assert [f.trade_id for f in fills] == ["T1", "T4"]
    assert unreadable("trades") == before + 2
    (entry,) = warnings(logs)
    assert [row["trade_id"] for row in entry["rows"]] == ["T2", "T3"]


async def test_one_orders_history_with_a_bad_entry_is_refused_whole_and_counted(
    local_kite: tuple[LocalKite, str], broker: KiteBroker
) -> None:
    kite, _ = local_kite
    kite.history = reply([order_row(BAD_ID, BAD_TAG), order_row(BAD_ID, BAD_TAG, price="NaN")])
    before = unreadable("order_history")

    with pytest.raises(DataFormatError) as refused:
        await broker.order_history(SESSION, BrokerOrderId(BAD_ID))

    assert refused.value.details["order_id"] == BAD_ID
    assert unreadable("order_history") == before + 1
