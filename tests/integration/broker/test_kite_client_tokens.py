"""KiteBroker's clients are fixed per account and token: no call goes out with another's token."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from order_service.adapters.broker.kite import KiteBroker
from order_service.domain.ids import AccountId, BrokerOrderId
from order_service.services.ports import BrokerSession
from tests.factories import make_request
from tests.integration.broker.local_kite import LocalKite

pytestmark = pytest.mark.asyncio
ACCOUNT = AccountId("PAPER1")
THREADS = 8
ORDER = make_request(account_id=ACCOUNT, quantity=1)


@pytest_asyncio.fixture
async def broker(local_kite: tuple[LocalKite, str]) -> AsyncIterator[KiteBroker]:
    _, url = local_kite
    broker = KiteBroker(url, f"{url}/connect/login", timeout=5, threads=THREADS)
    yield broker
    await broker.close()


async def _call(broker: KiteBroker, session: BrokerSession, n: int) -> None:
    """A read or a write (alternately) whose wire form names the token its caller passed."""
    intended = f"{session.access_token}x{n}"
    if n % 2:
        await broker.place_order(session, ORDER, intended)
    else:
        await broker.order_history(session, BrokerOrderId(intended))


def _carried(authorization: str) -> str:
    """The access token of ``token api_key:access_token``."""
    return authorization.rpartition(":")[2]


async def test_every_request_carries_the_token_its_caller_passed(
    local_kite: tuple[LocalKite, str], broker: KiteBroker
) -> None:
    kite, _ = local_kite
    sessions = [BrokerSession(ACCOUNT, "paper", token) for token in ("tokenA", "tokenB")]
    await asyncio.gather(*(_call(broker, sessions[n % 4 // 2], n) for n in range(400)))
    assert len(kite.seen) == 400
    wrong = [s for s in kite.seen if _carried(s.authorization) != s.intended.partition("x")[0]]
    assert wrong == []
    assert {s.authorization.partition(":")[0] for s in kite.seen} == {"token paper"}


async def test_a_new_token_reuses_the_accounts_pooled_connections(
    local_kite: tuple[LocalKite, str], broker: KiteBroker
) -> None:
    kite, _ = local_kite
    for token in ("tokenA", "tokenB", "tokenC"):
        session = BrokerSession(ACCOUNT, "paper", token)
        await asyncio.gather(*(_call(broker, session, n) for n in range(60)))
    assert len(kite.seen) == 180
    assert len({s.connection for s in kite.seen}) <= THREADS


async def test_a_new_api_key_for_the_account_is_used_at_once(
    local_kite: tuple[LocalKite, str], broker: KiteBroker
) -> None:
    kite, _ = local_kite
    await _call(broker, BrokerSession(ACCOUNT, "old-key", "tokenA"), 0)
    await _call(broker, BrokerSession(ACCOUNT, "new-key", "tokenA"), 1)
    assert [s.authorization for s in kite.seen] == ["token old-key:tokenA", "token new-key:tokenA"]
