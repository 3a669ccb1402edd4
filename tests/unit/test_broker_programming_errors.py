"""A bug at the SDK boundary is logged as a bug, never passed off as a malformed broker reply."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio
import structlog
from kiteconnect import KiteConnect

from order_service.adapters.broker.kite import KiteBroker
from order_service.domain.ids import AccountId, BrokerOrderId
from order_service.domain.order import OrderChanges
from order_service.domain.values import Variety
from order_service.errors import BrokerOutcomeUnknown
from order_service.services.ports import BrokerSession
from tests.factories import make_request

pytestmark = pytest.mark.asyncio
SESSION = BrokerSession(AccountId("PAPER1"), "paper", "token")
ORDER = make_request(account_id=SESSION.account_id, quantity=1)
# Nothing listens here, and nothing is ever sent: each call fails before its request is made.
NOWHERE = "http://127.0.0.1:9"


class RenamedKeywords(KiteConnect):  # type: ignore[misc]
    """The SDK as after a release that renamed the keywords we pass: each call is a TypeError."""

    def place_order(self, **params: Any) -> Any:
        return super().place_order(symbol=params.pop("tradingsymbol"), **params)

    def modify_order(self, variety: str, order_id: str, **params: Any) -> Any:
        return super().modify_order(variety, order_id=order_id, new_price="1", **params)

    def cancel_order(self, variety: str, order_id: str) -> Any:
        return super().cancel_order(variety, order=order_id)

    def order_history(self, order_id: str) -> Any:
        return super().order_history(order=order_id)


@pytest_asyncio.fixture
async def broker() -> AsyncIterator[KiteBroker]:
    broker = KiteBroker(
        NOWHERE, f"{NOWHERE}/connect/login", timeout=0.5, threads=2, sdk=RenamedKeywords
    )
    yield broker
    await broker.close()


Write = Callable[[KiteBroker], Awaitable[object]]
ORDER_ID = BrokerOrderId("250302000000001")
WRITES = [
    pytest.param(lambda b: b.place_order(SESSION, ORDER, "tag1"), "place_order", id="place"),
    pytest.param(
        lambda b: b.modify_order(SESSION, Variety.REGULAR, ORDER_ID, OrderChanges(quantity=2)),
        "modify_order",
        id="modify",
    ),
    pytest.param(
        lambda b: b.cancel_order(SESSION, Variety.REGULAR, ORDER_ID), "cancel_order", id="cancel"
    ),
]


@pytest.mark.parametrize(("write", "operation"), WRITES)
async def test_a_bug_calling_the_sdk_for_a_write_is_logged_and_the_outcome_stays_unknown(
    broker: KiteBroker, write: Write, operation: str
) -> None:
    with structlog.testing.capture_logs() as logs, pytest.raises(BrokerOutcomeUnknown) as caught:
        await write(broker)
    bug = caught.value.__cause__
    assert isinstance(bug, TypeError)
    errors = [entry for entry in logs if entry["log_level"] == "error"]
    assert len(errors) == 1
    assert errors[0]["operation"] == operation
    assert errors[0]["exc_info"] is bug
    rendered = structlog.processors.format_exc_info(None, "error", dict(errors[0]))
    assert "Traceback (most recent call last)" in rendered["exception"]
    assert "TypeError" in rendered["exception"]
    assert caught.value.details["operation"] == operation


async def test_a_bug_calling_the_sdk_for_a_read_is_raised_as_itself(broker: KiteBroker) -> None:
    with pytest.raises(TypeError, match="order"):
        await broker.order_history(SESSION, ORDER_ID)
