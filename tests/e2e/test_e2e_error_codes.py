"""Every error code of this slice, produced through the API with its status and envelope."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import REGISTRY

from order_service.bootstrap import bootstrap
from order_service.config import Settings
from order_service.domain.account import Role
from order_service.entrypoints.api.app import create_app
from tests.e2e.harness import MARKET, ServiceThread, error_body, inject_fault, login_again, wait_for


async def _new_user(settings: Settings, role: Role) -> str:
    services = bootstrap(settings)
    try:
        user = await services.users.create_user(f"user-{uuid.uuid4().hex[:6]}", frozenset({role}))
        return await services.users.create_api_key(user.user_id)
    finally:
        await services.close()


def _client(service: ServiceThread, key: str) -> httpx.Client:
    return httpx.Client(
        base_url=service.url, headers={"Authorization": f"Bearer {key}"}, timeout=15
    )


def _placements_sent() -> float:
    """Every ``place_order`` call this process has made to the broker, whatever its outcome."""
    return sum(
        sample.value
        for metric in REGISTRY.collect()
        if metric.name == "order_service_broker_requests"
        for sample in metric.samples
        if sample.name.endswith("_total") and sample.labels.get("operation") == "place_order"
    )


class TestInputErrors:
    def test_malformed_json_is_invalid_input(self, api: httpx.Client) -> None:
        response = api.post(
            "/api/v1/orders", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        error_body(response, 422, "INVALID_INPUT")

    def test_wrong_type_names_the_field(self, api: httpx.Client) -> None:
        error = error_body(
            api.post("/api/v1/orders", json={**MARKET, "quantity": "ten"}), 422, "INVALID_INPUT"
        )
        assert error["details"]["field"] == "quantity"

    def test_unknown_field_is_refused(self, api: httpx.Client) -> None:
        error = error_body(
            api.post("/api/v1/orders", json={**MARKET, "qty": 1}), 422, "INVALID_INPUT"
        )
        assert error["details"]["field"] == "qty"

    def test_limit_without_price_is_refused_by_the_domain(self, api: httpx.Client) -> None:
        error = error_body(
            api.post("/api/v1/orders", json={**MARKET, "order_type": "LIMIT"}), 422, "INVALID_INPUT"
        )
        assert error["details"]["field"] == "price"

    def test_oversized_body_is_413(self, api: httpx.Client) -> None:
        response = api.post("/api/v1/orders", json={**MARKET, "tag": "x" * 100_000})
        error = error_body(response, 413, "PAYLOAD_TOO_LARGE")
        assert error["details"]["max_bytes"] == 64 * 1024

    def test_unknown_symbol_is_invalid_symbol_without_a_broker_call(
        self, api: httpx.Client
    ) -> None:
        # The instrument master was read from the paper broker at login.
        sent = _placements_sent()
        error = error_body(
            api.post("/api/v1/orders", json={**MARKET, "tradingsymbol": "NOSUCHCO"}),
            422,
            "INVALID_SYMBOL",
        )
        assert error["details"] == {"exchange": "NSE", "tradingsymbol": "NOSUCHCO"}
        assert _placements_sent() == sent

    def test_off_tick_price_is_refused_before_the_broker_sees_it(self, api: httpx.Client) -> None:
        # The pre-trade tick rule answers first; the broker's own refusal of an off-tick price
        # (ORDER_REJECTED, its InputException) is what the rule saves the caller.
        sent = _placements_sent()
        body = {**MARKET, "order_type": "LIMIT", "price": "1450.03"}
        error = error_body(api.post("/api/v1/orders", json=body), 422, "RISK_REJECTED")
        assert error["details"] == {
            "rule": "tick_size", "limit": "0.05", "value": "1450.03", "field": "price"
        }  # fmt: skip
        assert _placements_sent() == sent


class TestAccessErrors:
    def test_missing_and_bad_credentials_are_401(self, service: ServiceThread) -> None:
        with httpx.Client(base_url=service.url) as anonymous:
            error_body(anonymous.get("/api/v1/orders"), 401, "UNAUTHENTICATED")
            bad = anonymous.get("/api/v1/orders", headers={"Authorization": "Bearer os_nope"})
            error_body(bad, 401, "UNAUTHENTICATED")

    def test_trader_may_not_grant_access(self, api: httpx.Client) -> None:
        response = api.post("/api/v1/accounts/PAPER1/users", json={"user_id": "someone"})
        error_body(response, 403, "FORBIDDEN")

    def test_another_users_order_is_not_found(
        self, api: httpx.Client, service: ServiceThread
    ) -> None:
        order = api.post("/api/v1/orders", json=MARKET).json()
        other_key = asyncio.run(_new_user(service.settings, Role.TRADER))
        with _client(service, other_key) as other:
            error_body(other.get(f"/api/v1/orders/{order['order_id']}"), 404, "NOT_FOUND")
            error_body(other.delete(f"/api/v1/orders/{order['order_id']}"), 404, "NOT_FOUND")
            error_body(other.post("/api/v1/orders", json=MARKET), 404, "NOT_FOUND")
        error_body(api.get("/api/v1/orders/01NOSUCHORDER"), 404, "NOT_FOUND")

    def test_adding_an_existing_account_is_a_conflict(self, api: httpx.Client) -> None:
        body = {"account_id": "PAPER1", "api_key": "paper", "api_secret": "paper-secret"}
        error_body(api.post("/api/v1/accounts", json=body), 409, "CONFLICT")


class TestOrderStateErrors:
    def test_same_key_other_body_is_an_idempotency_conflict(self, api: httpx.Client) -> None:
        key = {"Idempotency-Key": uuid.uuid4().hex}
        first = api.post("/api/v1/orders", json=MARKET, headers=key)
        assert first.status_code == 201
        repeat = api.post("/api/v1/orders", json=MARKET, headers=key)
        assert repeat.status_code == 200
        assert repeat.json()["order_id"] == first.json()["order_id"]
        error = error_body(
            api.post("/api/v1/orders", json={**MARKET, "quantity": 2}, headers=key),
            409,
            "IDEMPOTENCY_CONFLICT",
        )
        assert error["details"]["order_id"] == first.json()["order_id"]

    def test_cancelling_a_complete_order_is_an_invalid_transition(self, api: httpx.Client) -> None:
        order = api.post("/api/v1/orders", json=MARKET).json()
        wait_for(
            lambda: api.get(f"/api/v1/orders/{order['order_id']}").json()["status"] == "COMPLETE"
        )
        error = error_body(
            api.delete(f"/api/v1/orders/{order['order_id']}"), 409, "INVALID_TRANSITION"
        )
        assert error["details"]["state"] == "COMPLETE"


class TestBrokerErrors:
    def test_margin_shortfall_is_insufficient_funds(self, api: httpx.Client) -> None:
        error = error_body(
            api.post("/api/v1/orders", json={**MARKET, "quantity": 100_000}),
            422,
            "INSUFFICIENT_FUNDS",
        )
        assert float(error["details"]["required"]) > float(error["details"]["available"])

    def test_order_exception_is_order_rejected(
        self, api: httpx.Client, admin: httpx.Client
    ) -> None:
        inject_fault(admin, "place_order", "reject", message="Order rejected by the exchange.")
        error = error_body(api.post("/api/v1/orders", json=MARKET), 422, "ORDER_REJECTED")
        assert error["details"]["broker_error_type"] == "OrderException"

    def test_broker_429_is_rate_limited_with_retry_after(
        self, api: httpx.Client, admin: httpx.Client
    ) -> None:
        inject_fault(admin, "place_order", "http_429")
        key = {"Idempotency-Key": uuid.uuid4().hex}
        response = api.post("/api/v1/orders", json=MARKET, headers=key)
        error = error_body(response, 429, "RATE_LIMITED")
        assert error["retryable"] is True
        assert int(response.headers["retry-after"]) >= 1
        retry = api.post("/api/v1/orders", json=MARKET, headers=key)
        assert retry.status_code == 201, retry.text  # nothing was placed: the key is free again

    def test_expired_token_is_session_expired_then_login_restores(
        self, api: httpx.Client, admin: httpx.Client
    ) -> None:
        inject_fault(admin, "place_order", "token_expired")
        error_body(api.post("/api/v1/orders", json=MARKET), 409, "BROKER_SESSION_EXPIRED")
        assert api.get("/api/v1/accounts/PAPER1").json()["session_state"] == "login_required"
        error = error_body(api.post("/api/v1/orders", json=MARKET), 409, "BROKER_SESSION_EXPIRED")
        assert error["details"]["session_state"] == "login_required"
        login_again(api)
        assert api.post("/api/v1/orders", json=MARKET).status_code == 201

    @pytest.mark.parametrize("kind", ["timeout_after_accept", "error_after_accept"])
    def test_ambiguous_placement_is_202_unknown_then_resolved(
        self, api: httpx.Client, admin: httpx.Client, kind: str
    ) -> None:
        inject_fault(admin, "place_order", kind, delay_ms=1500)
        response = api.post("/api/v1/orders", json=MARKET)
        if kind == "timeout_after_accept" and response.status_code == 201:
            # The ticker reported the fill while the request waited out its timeout: the
            # answer is the broker's word, not "unknown".
            assert response.json()["status"] == "COMPLETE", response.text
        else:
            assert response.status_code == 202, response.text
            assert response.json()["status"] == "UNKNOWN"
            assert response.headers["location"].endswith(response.json()["order_id"])
        location = f"/api/v1/orders/{response.json()['order_id']}"
        resolved = wait_for(lambda: api.get(location).json()["status"] == "COMPLETE", timeout=15)
        assert resolved
        order = api.get(location).json()
        assert order["broker_order_id"]
        tags = [
            o
            for o in admin.get("/state").json()["data"]["orders"]
            if o.get("tag") == order["broker_tag"]
        ]
        assert len(tags) == 1

    def test_html_gateway_error_is_unknown_then_failed_when_absent(
        self, api: httpx.Client, admin: httpx.Client
    ) -> None:
        inject_fault(admin, "place_order", "html_502")
        response = api.post("/api/v1/orders", json=MARKET)
        assert response.status_code == 202
        location = response.headers["location"]
        wait_for(lambda: api.get(location).json()["status"] == "FAILED", timeout=15)


class TestInfrastructureErrors:
    def test_unreachable_broker_is_broker_unavailable(self, service: ServiceThread) -> None:
        settings = service.settings.model_copy(update={"kite_root": "http://127.0.0.1:9"})
        response = asyncio.run(_place_via(settings, service.api_key))
        error_body(response, 503, "BROKER_UNAVAILABLE")

    def test_unreachable_database_is_database_unavailable(self, service: ServiceThread) -> None:
        url = "postgresql+asyncpg://postgres@127.0.0.1:9/none"
        settings = service.settings.model_copy(update={"database_url": url})
        response = asyncio.run(_place_via(settings, service.api_key))
        error_body(response, 503, "DATABASE_UNAVAILABLE")


async def _place_via(settings: Settings, key: str) -> httpx.Response:
    """Run a second API (same code, other settings) in process, without its workers."""
    services = bootstrap(settings)
    transport = httpx.ASGITransport(app=create_app(services))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            headers = {"Authorization": f"Bearer {key}"}
            return await client.post("/api/v1/orders", json=MARKET, headers=headers)
    finally:
        await services.close()


@pytest.fixture(autouse=True)
def _no_fault_leaks(admin: httpx.Client) -> Iterator[None]:
    yield
    assert admin.delete("/faults").status_code in (200, 204)
