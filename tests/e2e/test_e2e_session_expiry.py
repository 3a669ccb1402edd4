"""Kite's 06:00 IST token expiry, reached by moving the broker's clock: fail fast, log in again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest

from order_service.domain.account import IST
from tests.e2e.harness import MARKET, ServiceThread, e2e_stack, error_body, login_again, wait_for


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, ServiceThread]]:
    # Settings' own sync and grace timings, as this test has always run with.
    var = tmp_path_factory.mktemp("expiry-var")
    with e2e_stack(var, paper_seed=11, kite_timeout_seconds=2.0) as running:
        yield running


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
        error = error_body(expired, 409, "BROKER_SESSION_EXPIRED")
        assert error["details"]["broker_error_type"] == "TokenException"
        assert api.get("/api/v1/accounts/PAPER1").json()["session_state"] == "login_required"
        assert httpx.get(f"{service.url}/ready").json() == {"ready": True}  # no account ids

        login_again(api)
        # The new session places orders again. Its first one may be answered 202 (outcome
        # unknown) if the broker call was cut short on a loaded machine: then it must settle.
        placed = api.post("/api/v1/orders", json=MARKET)
        assert placed.status_code in (201, 202), placed.text
        url = f"/api/v1/orders/{placed.json()['order_id']}"
        assert wait_for(lambda: api.get(url).json()["status"] == "COMPLETE", timeout=30)
