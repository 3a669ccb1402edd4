"""Where an idempotency key is required (production's default), an unkeyed order is refused."""

from __future__ import annotations

import os

import httpx
import pytest

from order_service.config import Mode, Settings, load_settings
from tests.unit.answers import LIMIT, body, refused
from tests.unit.conftest import World

pytestmark = pytest.mark.asyncio
BASKET = {"order": {k: v for k, v in LIMIT.items() if k != "account_id"}, "legs": [
    {"account_id": "PAPER1", "multiplier": 1}
]}  # fmt: skip


@pytest.fixture
def settings(tmp_path: os.PathLike[str]) -> Settings:
    return load_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/test.db",
        var_dir=str(tmp_path),
        jwt_secret="test-jwt-secret-0123456789abcdef0123",
        secret_key="test-secret-key",
        log_json=False,
        require_idempotency_key=True,
    )


async def test_an_unkeyed_order_is_refused_before_anything_is_stored_or_sent(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    error = refused(await trader_api.post("/api/v1/orders", json=LIMIT), 422, "INVALID_INPUT")
    assert error["details"]["field"] == "client_order_id"
    assert error["details"]["header"] == "Idempotency-Key"
    assert "twice" in error["message"]
    assert world.store.orders == {}
    assert world.broker.calls["place_order"] == 0


async def test_a_key_in_the_header_or_the_body_is_enough(trader_api: httpx.AsyncClient) -> None:
    keyed = {"Idempotency-Key": "first"}
    body(await trader_api.post("/api/v1/orders", json=LIMIT, headers=keyed), 201)
    with_body_key = {**LIMIT, "quantity": 11, "client_order_id": "second"}
    body(await trader_api.post("/api/v1/orders", json=with_body_key), 201)


async def test_an_unkeyed_basket_is_refused_and_a_keyed_one_placed(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    error = refused(await trader_api.post("/api/v1/baskets", json=BASKET), 422, "INVALID_INPUT")
    assert error["details"]["field"] == "basket_id"
    assert world.broker.calls["place_order"] == 0
    placed = await trader_api.post(
        "/api/v1/baskets", json=BASKET, headers={"Idempotency-Key": "b1"}
    )
    assert body(placed)["placed"] == 1


async def test_production_requires_a_key_unless_told_not_to_and_demo_does_not() -> None:
    assert Settings.model_construct(mode=Mode.PRODUCTION).idempotency_key_required
    assert not Settings.model_construct(mode=Mode.DEMO).idempotency_key_required
    off = Settings.model_construct(mode=Mode.PRODUCTION, require_idempotency_key=False)
    assert not off.idempotency_key_required


async def test_an_unkeyed_close_of_positions_is_refused_before_anything_is_read(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    close = {"account_id": "PAPER1"}
    error = refused(
        await trader_api.post("/api/v1/positions/close", json=close), 422, "INVALID_INPUT"
    )
    assert error["details"]["header"] == "Idempotency-Key"
    assert world.broker.calls["positions"] == 0
    keyed = {"Idempotency-Key": "close-1"}
    assert (
        body(await trader_api.post("/api/v1/positions/close", json=close, headers=keyed))["closes"]
        == []
    )
