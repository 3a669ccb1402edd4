"""Broker adapter fixtures: a local Kite stand-in that records every request it is sent, and
the paper broker with a logged-in ``KiteBroker`` session on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio

from order_service.adapters.broker.kite import KiteBroker
from order_service.entrypoints.demo import request_token_from
from order_service.services.ports import BrokerSession
from paper_broker.config import PaperBrokerConfig
from paper_broker.server import PaperBrokerServer
from tests.factories import ACCOUNT
from tests.integration.broker.local_kite import LocalKite
from tests.moments import PAPER_CLOCK_START


@pytest.fixture
def local_kite() -> Iterator[tuple[LocalKite, str]]:
    kite = LocalKite()
    url = kite.start()
    yield kite, url
    kite.stop()


@pytest.fixture(scope="module")
def paper() -> Iterator[str]:
    """A paper broker of the module's own, its clock pinned."""
    config = PaperBrokerConfig(port=0, rate_limits=False, seed=3, clock_start=PAPER_CLOCK_START)
    server = PaperBrokerServer(config)
    yield server.start()
    server.stop()


@pytest_asyncio.fixture
async def kite(paper: str) -> AsyncIterator[tuple[KiteBroker, BrokerSession]]:
    """The real adapter, logged in as ``ACCOUNT``, on a paper broker reset for the test."""
    async with httpx.AsyncClient(base_url=f"{paper}/_admin") as admin:
        (await admin.post("/reset")).raise_for_status()
    broker = KiteBroker(paper, f"{paper}/connect/login", timeout=2.0, threads=2)
    token = await request_token_from(broker.login_url("paper", {"state": "s-1"}))
    grant = await broker.create_session(ACCOUNT, "paper", "paper-secret", token)
    yield broker, BrokerSession(ACCOUNT, "paper", grant.access_token)
    await broker.close()
