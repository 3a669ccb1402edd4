"""Kite's 06:00 IST token expiry, reached by moving the broker's clock: fail fast, log in again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from order_service.config import load_settings
from order_service.domain.account import IST
from paper_broker.config import PaperBrokerConfig
from paper_broker.server import PaperBrokerServer
from tests.e2e.harness import MARKET, ServiceThread, error_body, login_again


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, ServiceThread]]:
    paper = PaperBrokerServer(PaperBrokerConfig(port=0, rate_limits=False, seed=11))
    paper_url = paper.start()
    var: Path = tmp_path_factory.mktemp("expiry-var")
    settings = load_settings(
        database_url=f"sqlite+aiosqlite:///{var}/expiry.db",
        var_dir=str(var),
        kite_root=paper_url,
        kite_timeout_seconds=2.0,
        log_json=False,
        log_level="ERROR",
    )
    service = ServiceThread(settings).start()
    yield paper_url, service
    service.stop()
    paper.stop()


def test_the_six_am_expiry_needs_a_new_login(stack: tuple[str, ServiceThread]) -> None:
    paper_url, service = stack
    headers = {"Authorization": f"Bearer {service.api_key}"}
    with httpx.Client(base_url=service.url, headers=headers, timeout=15) as api:
        assert api.post("/api/v1/orders", json=MARKET).status_code == 201
        now = httpx.get(f"{paper_url}/_admin/state").json()["data"]["clock"]["now"]
        broker_now = datetime.strptime(now, "%Y-%m-%d %H:%M:%S").replace(tzinfo=IST)
        six_am = (broker_now + timedelta(days=1)).replace(hour=6, minute=0, second=1)
        moved = httpx.post(f"{paper_url}/_admin/clock", json={"set": six_am.isoformat()})
        assert moved.status_code == 200, moved.text

        expired = api.post("/api/v1/orders", json=MARKET)
        error = error_body(expired, 503, "BROKER_SESSION_EXPIRED")
        assert error["details"]["broker_error_type"] == "TokenException"
        assert api.get("/api/v1/accounts/PAPER1").json()["session_state"] == "login_required"
        assert httpx.get(f"{service.url}/ready").json() == {"ready": True}  # no account ids

        login_again(api)
        assert api.post("/api/v1/orders", json=MARKET).status_code == 201
