"""A reply that breaks Kite's envelope maps as the table in adapters/broker/errors.py says."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import structlog

from order_service.adapters.broker.kite import KiteBroker
from order_service.domain.ids import AccountId, BrokerOrderId
from order_service.errors import BrokerOutcomeUnknown, BrokerUnavailable, DataFormatError
from order_service.services.ports import BrokerSession
from tests.factories import make_request
from tests.integration.broker.local_kite import LocalKite, Reply

pytestmark = pytest.mark.asyncio
SESSION = BrokerSession(AccountId("PAPER1"), "paper", "token")
ORDER = make_request(account_id=SESSION.account_id, quantity=1)
# (reply, what reading it fails with on a placement and on a history read, the class on a write,
# the class on a read)
MALFORMED = [
    pytest.param(
        Reply(b'{"status":"success","data":{}}'),
        ("KeyError", "not a list"),
        BrokerOutcomeUnknown,
        DataFormatError,
        id="no-order-id",
    ),
    pytest.param(
        Reply(b'{"status":"success"}'),
        ("KeyError",) * 2,
        BrokerOutcomeUnknown,
        DataFormatError,
        id="no-data",
    ),
    pytest.param(
        Reply(b'{"status":"success","data":[]}', content_type=None),
        ("KeyError",) * 2,
        BrokerOutcomeUnknown,
        DataFormatError,
        id="no-content-type",
    ),
    pytest.param(
        Reply(b'["success"]'),
        ("AttributeError",) * 2,
        BrokerOutcomeUnknown,
        DataFormatError,
        id="a-list",
    ),
    pytest.param(
        Reply(b'{"status":"error","error_type":7,"message":"x"}'),
        ("TypeError",) * 2,
        BrokerOutcomeUnknown,
        DataFormatError,
        id="numeric-error-type",
    ),
    pytest.param(
        Reply(b""), ("DataException",) * 2, BrokerOutcomeUnknown, BrokerUnavailable, id="empty-json"
    ),
]


@pytest_asyncio.fixture
async def broker(local_kite: tuple[LocalKite, str]) -> AsyncIterator[KiteBroker]:
    _, url = local_kite
    broker = KiteBroker(url, f"{url}/connect/login", timeout=5, threads=2)
    yield broker
    await broker.close()


@pytest.mark.parametrize(("reply", "reasons", "on_write", "on_read"), MALFORMED)
async def test_a_malformed_reply_maps_as_the_table_says_and_is_no_bug(
    local_kite: tuple[LocalKite, str],
    broker: KiteBroker,
    reply: Reply,
    reasons: tuple[str, str],
    on_write: type[Exception],
    on_read: type[Exception],
) -> None:
    kite, _ = local_kite
    kite.place = kite.history = reply
    with structlog.testing.capture_logs() as logs:
        with pytest.raises(on_write) as write:
            await broker.place_order(SESSION, ORDER, "tag1")
        with pytest.raises(on_read) as read:
            await broker.order_history(SESSION, BrokerOrderId("250302000000001"))
    assert type(write.value) is on_write
    assert type(read.value) is on_read
    assert reasons[0] in _explained(write.value)
    assert reasons[1] in _explained(read.value)
    assert [entry for entry in logs if entry["log_level"] in {"error", "critical"}] == []


def _explained(error: BaseException) -> str:
    details = getattr(error, "details", {})
    return f"{error} {error.__cause__!r} {details!r}"


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(b'{"status":"success","data":{"order_id":"1"}}', id="no-children"),
        pytest.param(b'{"status":"success","data":{"order_id":"1","children":[]}}', id="none"),
        pytest.param(b'{"status":"success","data":{"children":[{"code":400}]}}', id="no-msg"),
    ],
)
async def test_an_autoslice_reply_without_readable_children_leaves_the_outcome_unknown(
    local_kite: tuple[LocalKite, str], broker: KiteBroker, reply: bytes
) -> None:
    kite, _ = local_kite
    kite.place = Reply(reply)
    with structlog.testing.capture_logs() as logs, pytest.raises(BrokerOutcomeUnknown):
        await broker.place_autoslice_order(SESSION, ORDER, "tag1")
    assert [entry for entry in logs if entry["log_level"] in {"error", "critical"}] == []


async def test_an_autoslice_reply_is_read_child_by_child(
    local_kite: tuple[LocalKite, str], broker: KiteBroker
) -> None:
    kite, _ = local_kite
    kite.place = Reply(
        b'{"status":"success","data":{"order_id":"1","children":[{"order_id":"1"},'
        b'{"code":400,"error_type":"MarginException","message":"Insufficient funds."}]}}'
    )
    reports = await broker.place_autoslice_order(SESSION, ORDER, "tag1")
    assert [(r.broker_order_id, r.error_type) for r in reports] == [
        ("1", None),
        (None, "MarginException"),
    ]
